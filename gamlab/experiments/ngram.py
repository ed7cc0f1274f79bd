"""Count-table baselines: the best a model that sees only the last n-1 tokens can do, by counting.

An n-gram model predicts token t from its context h, the n-1 tokens before it, by the counts
seen in training. The default smoothing is interpolated Kneser-Ney with the modified
discounts of Chen & Goodman ("An empirical study of smoothing techniques for language
modeling", 1998, eq. 17 and 26); over a vocabulary of V tokens, for c = count(h, y) > 0:

    p(y | h) = (c - D(c)) / count(h) + gamma(h) * p_lower(y | h')       h' = h less its farthest token
    gamma(h) = (D1 * N1(h) + D2 * N2(h) + D3 * N3+(h)) / count(h)      N_r(h): tokens seen r times after h

and gamma(h) * p_lower(y | h') when c = 0; a context never seen hands all its mass to h'.
The lower orders count *continuations* (in how many different contexts h'y followed one more
token) instead of occurrences, the empty context interpolates with the uniform 1/V, and each
order's discounts D1, D2, D3 come from its counts of counts n_r: Y = n1 / (n1 + 2 n2),
D_r = r - (r + 1) Y n_{r+1} / n_r. So each distribution sums to 1 over the vocabulary, an
unseen token keeps some probability, and a longer context no longer loses to a shorter one
because its counts are sparse (add-alpha smoothing did: on real text its 7- and 8-gram came
out worse than its 6-gram). Add-alpha, the textbook form exercise 5.3 builds, stays
available with `alpha=`:

    p(y | h) = (count(h, y) + alpha) / (count(h) + alpha * V)

A GAM stack's output at t depends on the last R = L * (k - 1) + 1 tokens only (its memory
bank mixes nothing between tokens), so it predicts token t+1 from a context of R tokens: the
n-gram with n = R + 1 (`order_for_reach`) is the count table of exactly what it can see, an
estimate of the best predictor of that window (a yardstick, not a bound: another smoothing,
or more text, would give another number), and a few longer contexts show what a wider
window is worth.

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


def _discounts(counts: np.ndarray) -> np.ndarray:
    """Modified Kneser-Ney discounts [0, D1, D2, D3+] from counts of counts (Chen & Goodman eq. 26).

    counts: the (continuation) counts of one order's n-grams. Where the estimate is undefined
    or leaves [0 < D_r < r] (tiny or synthetic texts), D_r falls back to the classic 0.75.
    """
    n = np.bincount(counts[counts > 0].clip(max=5), minlength=6).astype(np.float64)
    d = np.array([0.0, 0.75, 0.75, 0.75])
    if n[1] > 0 and n[2] > 0:
        y = n[1] / (n[1] + 2 * n[2])
        for r in (1, 2, 3):
            if n[r] > 0:
                est = r - (r + 1) * y * n[r + 1] / n[r]
                d[r] = est if 0 < est < r else d[r]
    return d


class _Table:
    """One order's counts, ready to interpolate: what a context of length j says about its next token.

    joint_counts (J,): count of each (context, token) key in the level's sorted `joint` keys
    (occurrences at the top order, continuations below; 0 marks a key that never continued);
    per context (K,): total, and the mass its discounts set aside, sum_r D_r * N_r(h).
    """

    def __init__(self, joint: np.ndarray, joint_counts: np.ndarray, n_ctx: int, V: int):
        self.joint, self.V = joint, V
        self.counts = np.append(joint_counts, 0)  # a trailing 0: key index -1 (never seen) reads 0
        self.d = _discounts(joint_counts)
        ctx = joint // V
        # a trailing 0 each, as for counts: context id -1 reads total 0
        self.total = np.append(np.bincount(ctx, weights=joint_counts, minlength=n_ctx), 0.0)
        self.set_aside = np.append(np.bincount(ctx, weights=self.d[joint_counts.clip(max=3)], minlength=n_ctx), 0.0)

    def interpolate(self, c: np.ndarray, y: np.ndarray, lower: np.ndarray | float) -> np.ndarray:
        """p(y | context c) for positions (P,): c the context ids (-1: never seen), y the tokens,
        lower the next-shorter context's p(y | h') (P,). Returns (P,) probabilities."""
        total, count = self.total[c], self.count(c, y)
        kept = (count - self.d[count.clip(max=3)]).clip(min=0)
        safe = np.where(total > 0, total, 1.0)
        return np.where(total > 0, (kept + self.set_aside[c] * lower) / safe, lower)

    def count(self, c: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The count of (context c, token y) at P positions (0 where never seen). Returns (P,)."""
        return self.counts[_lookup(self.joint, np.where(c >= 0, c * self.V + y, -1))]


class NGram:
    """Counts of every context of n-1 tokens (and of all shorter contexts) in a training stream.

    NGram(n, vocab_size).fit(train_ids) then .loss(val_ids) for this order, .losses(val_ids) for
    every order 1..n from the same counts, or .next_token_probs(context) for one distribution.
    alpha=None (the default) smooths by interpolated Kneser-Ney (module docstring); a positive
    alpha smooths add-alpha instead. Ids are 1-D (N,) integer tensors; the stream is read as
    one text (contexts run across document boundaries, as the models' training blocks do).
    Raises GamlabError for n < 1, alpha <= 0, ids that are not a 1-D integer stream or lie
    outside [0, vocab_size), and .loss before .fit.
    """

    def __init__(self, n: int, vocab_size: int, alpha: float | None = None):
        if not isinstance(n, int) or n < 1:
            raise GamlabError(f"n-gram order n must be a positive integer (n - 1 tokens of context), got {n!r}.")
        if alpha is not None and not alpha > 0:
            raise GamlabError(f"alpha must be positive (smoothing keeps unseen tokens possible), got {alpha!r}; "
                              "or leave it out for Kneser-Ney smoothing.")
        self.n, self.vocab_size = n, vocab_size
        self.alpha = None if alpha is None else float(alpha)
        self.levels: list[np.ndarray] | None = None

    def fit(self, train_ids: torch.Tensor) -> NGram:
        """Count contexts of 0..n-1 tokens and their next tokens in train_ids (N,). Returns self."""
        ids, V = _ids(train_ids, self.vocab_size, "train_ids"), self.vocab_size
        N = ids.size
        ctx = np.zeros(N, dtype=np.int64)  # id of the empty context at every position
        # levels[j]: sorted keys (id of the j-1 nearest tokens) * V + token j back, i.e. the contexts
        # of length j seen in training; a context's id at level j is its rank in levels[j].
        self.levels = [np.zeros(1, dtype=np.int64)]
        joints, joint_counts = [], []
        for j in range(self.n):
            # contexts of length j (positions t >= j) followed by their token: count them
            joint, counts = np.unique(ctx[j:] * V + ids[j:], return_counts=True)
            joints.append(joint)
            joint_counts.append(counts)
            if j + 1 < self.n:  # extend each context by the token one further back
                keys, ctx_next = np.unique(ctx[j + 1:] * V + ids[:max(N - j - 1, 0)], return_inverse=True)
                self.levels.append(keys)
                ctx = np.full(N, -1, dtype=np.int64)
                ctx[j + 1:] = ctx_next.reshape(-1)
        # raw[j]: occurrence counts (the top order of an order-(j+1) model);
        # cont[j]: continuation counts, in how many distinct contexts one token longer (h, y) was seen.
        self.raw = [_Table(joints[j], joint_counts[j], self.levels[j].size, V) for j in range(self.n)]
        self.cont = []
        for j in range(self.n - 1):
            longer = joints[j + 1]  # keys (id of a context of length j+1) * V + y
            shorter_ctx = self.levels[j + 1][longer // V] // V  # that context less its farthest token
            n_cont = np.bincount(_lookup(joints[j], shorter_ctx * V + longer % V), minlength=joints[j].size)
            self.cont.append(_Table(joints[j], n_cont, self.levels[j].size, V))
        return self

    def _probs(self, ctxs: list[np.ndarray], y: np.ndarray, order: int) -> np.ndarray:
        """p(y | context) of the order-`order` model at P positions: ctxs[j] (P,) the ids of each
        position's context of length j (-1: never seen), j < order; y (P,) the tokens."""
        if self.alpha is not None:
            table, c = self.raw[order - 1], ctxs[order - 1]
            return (table.count(c, y) + self.alpha) / (table.total[c] + self.alpha * self.vocab_size)
        p = np.full(y.shape, 1.0 / self.vocab_size)
        for j in range(order - 1):  # continuation counts below the top order, shortest context first
            p = self.cont[j].interpolate(ctxs[j], y, p)
        return self.raw[order - 1].interpolate(ctxs[order - 1], y, p)

    def _contexts(self, ids: np.ndarray) -> list[np.ndarray]:
        """Training-context ids of every position of a stream (M,): [level j: (M,) ids, -1 where the
        context of length j was never seen in training or runs past the stream's start]."""
        M, V = ids.size, self.vocab_size
        ctx = np.zeros(M, dtype=np.int64)
        out = [ctx]
        for j in range(1, self.n):
            keys = np.full(M, -1, dtype=np.int64)  # positions t < j have no context of length j
            prev = ctx[j:]  # the nearest j-1 tokens of positions t >= j, then the token j back
            keys[j:] = np.where(prev >= 0, prev * V + ids[:max(M - j, 0)], -1)
            ctx = _lookup(self.levels[j], keys)
            out.append(ctx)
        return out

    def _check_fitted(self) -> None:
        if self.levels is None:
            raise GamlabError("this NGram has no counts yet; call .fit(train_ids) first.")

    def losses(self, val_ids: torch.Tensor) -> dict[int, float]:
        """Cross-entropy (nats/token) on val_ids (M,) of every order 1..n: {order: loss}.

        Order m scores the positions t >= m-1 (those with m-1 tokens of context before them).
        """
        self._check_fitted()
        ids = _ids(val_ids, self.vocab_size, "val_ids")
        if ids.size < self.n:
            raise GamlabError(f"val_ids has {ids.size} tokens, too few to score an order-{self.n} model; "
                              f"pass at least {self.n} tokens.")
        ctxs = self._contexts(ids)
        out = {}
        for m in range(1, self.n + 1):
            p = self._probs([c[m - 1:] for c in ctxs[:m]], ids[m - 1:], m)
            out[m] = float(-np.log(p).mean())
        return out

    def loss(self, val_ids: torch.Tensor) -> float:
        """Cross-entropy (nats/token) of this order-n model on val_ids (M,), positions t >= n-1."""
        return self.losses(val_ids)[self.n]

    def next_token_probs(self, context: torch.Tensor) -> torch.Tensor:
        """p(y | context) for every token y: a (V,) float64 tensor that sums to 1.

        context: a 1-D stream of at least n-1 token ids; its last n-1 are the context.
        """
        self._check_fitted()
        ids = _ids(context, self.vocab_size, "context")
        if ids.size < self.n - 1:
            raise GamlabError(f"context has {ids.size} tokens; an order-{self.n} model reads the last "
                              f"{self.n - 1}, pass at least that many.")
        V = self.vocab_size
        ctxs = [np.full(V, c[-1]) for c in self._contexts(np.append(ids[ids.size - self.n + 1:], 0))]
        return torch.from_numpy(self._probs(ctxs, np.arange(V), self.n))


def ngram_loss(train_ids: torch.Tensor, val_ids: torch.Tensor, n: int, vocab_size: int,
               alpha: float | None = None) -> float:
    """Validation cross-entropy (nats/token) of an n-gram counted on train_ids.

    train_ids (N,), val_ids (M,): 1-D integer token streams. Kneser-Ney smoothed, or add-alpha
    with a positive alpha (n = 1 with alpha = 1 is gamlab.training.data.unigram_loss). Errors
    as NGram's.
    """
    return NGram(n, vocab_size, alpha).fit(train_ids).loss(val_ids)


def ngram_losses(train_ids: torch.Tensor, val_ids: torch.Tensor, vocab_size: int, max_n: int = 8,
                 alpha: float | None = None) -> dict[int, float]:
    """{n: validation cross-entropy} for n = 1..max_n, all from one pass of counting
    (Kneser-Ney smoothed, or add-alpha with a positive alpha)."""
    return NGram(max_n, vocab_size, alpha).fit(train_ids).losses(val_ids)
