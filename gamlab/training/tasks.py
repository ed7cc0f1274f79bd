"""Synthetic recall tasks: made on the fly, deterministic by seed, scored only where it matters.

Each task draws a batch (idx, targets) of token ids, both (B, T), named as the model's forward
names them (docs/naming.md). `idx` is what the model reads; `targets` holds the answer the model
must give at each position, or IGNORE (-100, the value that `F.cross_entropy` skips) where
nothing is asked. Positions with an answer are the *queries*.

Vocabulary layout shared by the tasks (V = vocab_size):
    0          BLANK    filler between the interesting tokens
    1          MARK     "answer now" (copying) / the trigger (induction)
    2 .. V-1   content  MQAR splits it in two: keys first, values second

Tasks and their knobs:
    MQAR             multi-query associative recall: n_pairs key-value pairs at the start
                     (k1 v1 k2 v2 ...), then each key again somewhere later as a query whose
                     answer is its value. min_gap: the least distance from a pair's key to its
                     query. Only a model that carries *which value followed which key* from the
                     start of the sequence to the query can answer.
    SelectiveCopy    n_tokens content tokens scattered among blanks, then MARK tokens: at the
                     j-th MARK the answer is the j-th content token, in order.
    InductionHead    random content tokens; MARK then a token a early on, MARK again at the end:
                     the answer there is a. min_gap: the least distance between the two MARKs.

MQAR is taught in notebooks/07_beyond_the_paper.ipynb (which checks every answer by hand);
SelectiveCopy and InductionHead are in no lesson: `gamlab recall` and the tests use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..errors import GamlabError

IGNORE = -100  # targets == IGNORE: no answer asked at this position (cross_entropy's ignore_index)
BLANK, MARK, FIRST_CONTENT = 0, 1, 2


def _check_knobs(task: str, **knobs: int) -> None:
    """Every knob a positive integer, and a vocab_size (where given) with room for a content token."""
    for name, value in knobs.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise GamlabError(f"{task}: {name} must be a positive integer, got {value!r}.")
    if "vocab_size" in knobs and knobs["vocab_size"] <= FIRST_CONTENT:
        raise GamlabError(f"{task}: vocab_size must be at least {FIRST_CONTENT + 1} "
                          f"(BLANK, MARK and one content token), got {knobs['vocab_size']}.")


def _generator(seed_or_generator: int | torch.Generator | None) -> torch.Generator:
    if isinstance(seed_or_generator, torch.Generator):
        return seed_or_generator
    return torch.Generator().manual_seed(0 if seed_or_generator is None else int(seed_or_generator))


def _rand_rows(B: int, n: int, count: int, gen: torch.Generator) -> torch.Tensor:
    """(B, count): for each row, count distinct integers from range(n), in random order."""
    return torch.rand(B, n, generator=gen).argsort(dim=1)[:, :count]


@dataclass(frozen=True)
class MQAR:
    """Multi-query associative recall. Layout of one sequence (T = seq_len, n = n_pairs):

        positions 0 .. 2n-1     k1 v1 k2 v2 ... kn vn     (distinct keys, values may repeat)
        positions 2n .. T-1     BLANK, except n query positions, each holding one key once;
                                the target there is that key's value

    All queries sit at or after position 2(n-1) + min_gap, so every query is at least min_gap
    tokens after its key (set min_gap beyond a convolution's reach to rule out local tricks).
    """

    seq_len: int = 64
    n_pairs: int = 8
    vocab_size: int = 64
    min_gap: int = 1

    def __post_init__(self) -> None:
        _check_knobs("MQAR", seq_len=self.seq_len, n_pairs=self.n_pairs,
                        vocab_size=self.vocab_size, min_gap=self.min_gap)
        if self.n_keys < self.n_pairs:
            raise GamlabError(f"MQAR: {self.n_pairs} pairs need {self.n_pairs} distinct keys but vocab_size "
                              f"{self.vocab_size} gives only {self.n_keys}; use vocab_size >= {2 * self.n_pairs + 2}.")
        if self.seq_len - self.query_start < self.n_pairs:
            raise GamlabError(f"MQAR: {self.n_pairs} pairs and {self.n_pairs} queries with min_gap {self.min_gap} "
                              f"need seq_len >= {self.query_start + self.n_pairs}, got {self.seq_len}; "
                              "use fewer pairs, a smaller min_gap or a longer sequence.")

    @property
    def n_keys(self) -> int:
        return (self.vocab_size - FIRST_CONTENT) // 2  # keys 2 .. 2+n_keys-1, values after them

    @property
    def query_start(self) -> int:
        """First position a query may take: after the pairs, and min_gap after the last key."""
        return max(2 * self.n_pairs, 2 * (self.n_pairs - 1) + self.min_gap)

    def sample(self, batch_size: int, generator: int | torch.Generator | None = None):
        """-> (idx, targets), both (B, T) int64; targets == IGNORE but at the n_pairs query positions."""
        _check_knobs("MQAR", batch_size=batch_size)
        gen, B, T, n = _generator(generator), batch_size, self.seq_len, self.n_pairs
        n_values = self.vocab_size - FIRST_CONTENT - self.n_keys
        keys = FIRST_CONTENT + _rand_rows(B, self.n_keys, n, gen)  # (B, n) distinct per row
        values = FIRST_CONTENT + self.n_keys + torch.randint(0, n_values, (B, n), generator=gen)
        idx = torch.full((B, T), BLANK, dtype=torch.long)
        targets = torch.full((B, T), IGNORE, dtype=torch.long)
        idx[:, 0:2 * n:2], idx[:, 1:2 * n:2] = keys, values
        # n distinct query positions in [query_start, T), and a random order of the keys
        qpos = self.query_start + _rand_rows(B, T - self.query_start, n, gen)  # (B, n)
        order = _rand_rows(B, n, n, gen)  # (B, n): which pair each query asks for
        idx.scatter_(1, qpos, keys.gather(1, order))
        targets.scatter_(1, qpos, values.gather(1, order))
        return idx, targets

    def positions(self, idx: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """Where the parts of one sequence sit; idx, targets: (T,), one row of `sample`.

        Returns {"queries": (n,) positions asking for an answer, "keys": (n,) where each query's
        key was given, "values": (n,) where its value was (right after the key)}, in query order:
        what gamlab.inspection.plots.recall_predictions marks, `recall_predictions(..., **task.positions(idx, targets))`.
        Raises GamlabError for a query whose token is none of the first n_pairs keys.
        """
        if idx.dim() != 1 or idx.shape != targets.shape:
            raise GamlabError(f"MQAR.positions takes one sequence, idx and targets of shape (T,); "
                              f"got {tuple(idx.shape)} and {tuple(targets.shape)}.")
        queries = torch.nonzero(targets != IGNORE).flatten()  # (n,)
        match = idx[queries][:, None] == idx[0:2 * self.n_pairs:2][None]  # (n, n_pairs): which key it repeats
        if not bool(match.any(1).all()):
            raise GamlabError(f"a query's token is none of the {self.n_pairs} keys at the start; pass a sequence "
                              "that this task's `sample` made (same n_pairs).")
        keys = 2 * match.int().argmax(1)  # keys sit at even positions 0, 2, ..., 2(n_pairs - 1)
        return {"queries": queries, "keys": keys, "values": keys + 1}


@dataclass(frozen=True)
class SelectiveCopy:
    """Selective copying. Positions 0 .. T-n-1 hold n_tokens content tokens at random places
    (order kept) among BLANKs; the last n_tokens positions hold MARK, and the answer at the
    j-th of them is the j-th content token."""

    seq_len: int = 64
    n_tokens: int = 8
    vocab_size: int = 64

    def __post_init__(self) -> None:
        _check_knobs("SelectiveCopy", seq_len=self.seq_len, n_tokens=self.n_tokens, vocab_size=self.vocab_size)
        if self.seq_len < 2 * self.n_tokens:
            raise GamlabError(f"SelectiveCopy: {self.n_tokens} tokens and their {self.n_tokens} answers need "
                              f"seq_len >= {2 * self.n_tokens}, got {self.seq_len}; use fewer tokens or a longer sequence.")

    def sample(self, batch_size: int, generator: int | torch.Generator | None = None):
        """-> (idx, targets), both (B, T) int64; targets == IGNORE but at the last n_tokens positions."""
        _check_knobs("SelectiveCopy", batch_size=batch_size)
        gen, B, T, n = _generator(generator), batch_size, self.seq_len, self.n_tokens
        tokens = torch.randint(FIRST_CONTENT, self.vocab_size, (B, n), generator=gen)
        pos = _rand_rows(B, T - n, n, gen).sort(dim=1).values  # (B, n) increasing: order is kept
        idx = torch.full((B, T), BLANK, dtype=torch.long)
        targets = torch.full((B, T), IGNORE, dtype=torch.long)
        idx.scatter_(1, pos, tokens)
        idx[:, T - n:] = MARK
        targets[:, T - n:] = tokens
        return idx, targets


@dataclass(frozen=True)
class InductionHead:
    """Induction head. Random content tokens; MARK at position p followed by the answer a;
    MARK again at the last position, where the answer is a. p is drawn so that the two
    MARKs are at least min_gap apart."""

    seq_len: int = 64
    vocab_size: int = 64
    min_gap: int = 2

    def __post_init__(self) -> None:
        _check_knobs("InductionHead", seq_len=self.seq_len, vocab_size=self.vocab_size, min_gap=self.min_gap)
        if self.min_gap < 2 or self.seq_len - 1 - self.min_gap < 0:
            raise GamlabError(f"InductionHead: min_gap must be in [2, seq_len - 1] (the answer sits between the "
                              f"two MARKs), got min_gap {self.min_gap} with seq_len {self.seq_len}.")

    def sample(self, batch_size: int, generator: int | torch.Generator | None = None):
        """-> (idx, targets), both (B, T) int64; targets == IGNORE except at the last position."""
        _check_knobs("InductionHead", batch_size=batch_size)
        gen, B, T = _generator(generator), batch_size, self.seq_len
        idx = torch.randint(FIRST_CONTENT, self.vocab_size, (B, T), generator=gen)
        p = torch.randint(0, T - self.min_gap, (B,), generator=gen)  # first MARK, <= T-1-min_gap
        rows = torch.arange(B)
        idx[rows, p] = MARK
        idx[:, -1] = MARK
        targets = torch.full((B, T), IGNORE, dtype=torch.long)
        targets[:, -1] = idx[rows, p + 1]
        return idx, targets


TASKS = {"mqar": MQAR, "copy": SelectiveCopy, "induction": InductionHead}


def make_task(name: str, **knobs):
    """A task by name ("mqar", "copy", "induction") with its knobs, e.g. make_task("mqar", n_pairs=4)."""
    if name not in TASKS:
        raise GamlabError(f"Unknown task {name!r}; choose one of {', '.join(TASKS)}.")
    try:
        return TASKS[name](**knobs)
    except TypeError:
        fields = ", ".join(TASKS[name].__dataclass_fields__)
        raise GamlabError(f"Task {name!r} takes the knobs {fields}; got {', '.join(knobs)}.") from None


def batches(tasks, batch_size: int, seed: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless (idx, targets) batches for a trainer, from one task or a list of tasks with the same
    seq_len (a list mixes them: each batch comes from one, in turn). Same seed, same stream."""
    tasks = list(tasks) if isinstance(tasks, (list, tuple)) else [tasks]
    if len({t.seq_len for t in tasks}) != 1:
        raise GamlabError("batches: mixed tasks must share one seq_len so that batches stack; group them by length.")
    gen = _generator(seed)
    i = 0
    while True:
        yield tasks[i % len(tasks)].sample(batch_size, gen)
        i += 1


def answers_correct(logits: torch.Tensor, y: torch.Tensor) -> tuple[int, int]:
    """logits (B, T, V), y: the targets (B, T) -> (correct answers, answers asked); argmax at query positions."""
    asked = y != IGNORE
    return int((logits.argmax(-1)[asked] == y[asked]).sum()), int(asked.sum())
