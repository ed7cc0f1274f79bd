"""Count-table baselines: the best a model that sees only the last n-1 tokens can do, by counting.

An n-gram model predicts token t from its context, the n-1 tokens before it, by the counts
seen in training (add-alpha smoothed over a vocabulary of V tokens):

    p(y | ctx) = (count(ctx, y) + alpha) / (count(ctx) + alpha * V)

A GAM stack's output at t depends on the last R = L * (k - 1) + 1 tokens only (its memory
bank mixes nothing between tokens), so it predicts token t+1 from a context of R tokens: the
n-gram with n = R + 1 (`order_for_reach`) is the count table of exactly what it can see, and
a few longer contexts show what a wider window would buy.

Contexts are numbered exactly (no hashing collisions), one token at a time: the id of a
context of length j is the rank of (id of its last j-1 tokens, the token before them) among
those seen in training, so each extra token of context costs one sort of N int64 keys
(about a second for N = 1M tokens and n = 8).

For the results table of notebooks/05_showdown.ipynb, beside its unigram row.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import GamlabError

__all__ = ["NGram", "ngram_loss", "ngram_losses", "order_for_reach"]


def order_for_reach(reach: int) -> int:
    """The n-gram order that sees what a model of reach R sees: a context of R tokens, n = R + 1."""
    return reach + 1


def _ids(ids: torch.Tensor | np.ndarray, vocab_size: int, what: str) -> np.ndarray:
    """A 1-D integer tensor (or array) of token ids -> int64 numpy array, checked against V."""
    a = ids.detach().cpu().numpy() if isinstance(ids, torch.Tensor) else np.asarray(ids)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        raise GamlabError(f"{what} must be a 1-D tensor of integer token ids, got shape {tuple(a.shape)} "
                          f"and dtype {a.dtype}; flatten the token stream first.")
    if a.size and (a.min() < 0 or a.max() >= vocab_size):
        bad = int(a.min()) if a.min() < 0 else int(a.max())
        raise GamlabError(f"{what} holds token id {bad}, outside the vocabulary [0, {vocab_size}); "
                          "pass the vocab_size of the tokenizer that encoded it.")
    return a.astype(np.int64)


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Index of each key in sorted_keys, -1 where it is absent (negative keys are always absent)."""
    if sorted_keys.size == 0:
        return np.full(keys.shape, -1, dtype=np.int64)
    pos = np.searchsorted(sorted_keys, keys).clip(max=sorted_keys.size - 1)
    return np.where((sorted_keys[pos] == keys) & (keys >= 0), pos, -1)


class NGram:
    """Counts of every context of n-1 tokens (and of all shorter contexts) in a training stream.

    NGram(n, vocab_size, alpha).fit(train_ids) then .loss(val_ids) for this order, or
    .losses(val_ids) for every order 1..n from the same counts. Ids are 1-D (N,) integer
    tensors; the stream is read as one text (contexts run across document boundaries, as the
    models' training blocks do). Raises GamlabError for n < 1, alpha <= 0, ids that are not a
    1-D integer stream or lie outside [0, vocab_size), and .loss before .fit.
    """

    def __init__(self, n: int, vocab_size: int, alpha: float = 0.01):
        if not isinstance(n, int) or n < 1:
            raise GamlabError(f"n-gram order n must be a positive integer (n - 1 tokens of context), got {n!r}.")
        if not alpha > 0:
            raise GamlabError(f"alpha must be positive (smoothing keeps unseen tokens possible), got {alpha!r}.")
        self.n, self.vocab_size, self.alpha = n, vocab_size, float(alpha)
        self.levels: list[np.ndarray] | None = None

    def fit(self, train_ids: torch.Tensor) -> NGram:
        """Count contexts of 0..n-1 tokens and their next tokens in train_ids (N,). Returns self."""
        ids, V = _ids(train_ids, self.vocab_size, "train_ids"), self.vocab_size
        N = ids.size
        ctx = np.zeros(N, dtype=np.int64)  # id of the empty context at every position
        # levels[j]: sorted keys (id of the j-1 nearest tokens) * V + token j back, i.e. the contexts
        # of length j seen in training; a context's id at level j is its rank in levels[j].
        self.levels = [np.zeros(1, dtype=np.int64)]
        self.joint, self.joint_counts, self.ctx_counts = [], [], []
        for j in range(self.n):
            # contexts of length j (positions t >= j) followed by their token: count both
            c, y = ctx[j:], ids[j:]
            joint, counts = np.unique(c * V + y, return_counts=True)
            self.joint.append(joint)
            self.joint_counts.append(counts)
            self.ctx_counts.append(np.bincount(c, minlength=self.levels[j].size))
            if j + 1 < self.n:  # extend each context by the token one further back
                keys, ctx_next = np.unique(ctx[j + 1:] * V + ids[:N - j - 1], return_inverse=True)
                self.levels.append(keys)
                ctx = np.full(N, -1, dtype=np.int64)
                ctx[j + 1:] = ctx_next.reshape(-1)
        return self

    def losses(self, val_ids: torch.Tensor) -> dict[int, float]:
        """Cross-entropy (nats/token) on val_ids (M,) of every order 1..n: {order: loss}.

        Order m scores the positions t >= m-1 (those with m-1 tokens of context before them).
        """
        if self.levels is None:
            raise GamlabError("this NGram has no counts yet; call .fit(train_ids) first.")
        ids, V = _ids(val_ids, self.vocab_size, "val_ids"), self.vocab_size
        M = ids.size
        out: dict[int, float] = {}
        ctx = np.zeros(M, dtype=np.int64)  # val contexts as training-context ids, -1 when never seen
        for j in range(self.n):
            if M <= j:
                raise GamlabError(f"val_ids has {M} tokens, too few to score an order-{j + 1} model; "
                                  f"pass at least {j + 1} tokens.")
            c, y = ctx[j:], ids[j:]
            seen = c >= 0
            n_ctx = np.where(seen, self.ctx_counts[j][c.clip(min=0)], 0)
            hit = _lookup(self.joint[j], np.where(seen, c * V + y, -1))
            n_joint = np.where(hit >= 0, self.joint_counts[j][hit.clip(min=0)], 0)
            logp = np.log(n_joint + self.alpha) - np.log(n_ctx + self.alpha * V)
            out[j + 1] = float(-logp.mean())
            if j + 1 < self.n:
                prev = ctx[j + 1:]
                keys = np.where(prev >= 0, prev * V + ids[:M - j - 1], -1)
                ctx = np.full(M, -1, dtype=np.int64)
                ctx[j + 1:] = _lookup(self.levels[j + 1], keys)
        return out

    def loss(self, val_ids: torch.Tensor) -> float:
        """Cross-entropy (nats/token) of this order-n model on val_ids (M,), positions t >= n-1."""
        return self.losses(val_ids)[self.n]


def ngram_loss(train_ids: torch.Tensor, val_ids: torch.Tensor, n: int, vocab_size: int,
               alpha: float = 0.01) -> float:
    """Validation cross-entropy (nats/token) of an add-alpha n-gram counted on train_ids.

    train_ids (N,), val_ids (M,): 1-D integer token streams. n = 1 with alpha = 1 is
    gamlab.training.data.unigram_loss. Errors as NGram's.
    """
    return NGram(n, vocab_size, alpha).fit(train_ids).loss(val_ids)


def ngram_losses(train_ids: torch.Tensor, val_ids: torch.Tensor, vocab_size: int, max_n: int = 8,
                 alpha: float = 0.01) -> dict[int, float]:
    """{n: validation cross-entropy} for n = 1..max_n, all from one pass of counting."""
    return NGram(max_n, vocab_size, alpha).fit(train_ids).losses(val_ids)
