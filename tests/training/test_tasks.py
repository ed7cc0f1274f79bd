"""Synthetic recall tasks: every answer is in the sequence, seeds reproduce, knobs hold."""

import itertools

import pytest
import torch

from gamlab import GamlabError
from gamlab.training.tasks import BLANK, IGNORE, MARK, MQAR, InductionHead, SelectiveCopy, batches, make_task


@pytest.mark.parametrize("T,n,V,gap", [(64, 8, 64, 1), (128, 16, 40, 20), (32, 1, 4, 5), (256, 4, 64, 100)])
def test_mqar_answer_follows_its_key(T, n, V, gap):
    task = MQAR(seq_len=T, n_pairs=n, vocab_size=V, min_gap=gap)
    x, y = task.sample(16, generator=3)
    assert x.shape == y.shape == (16, T) and x.dtype == y.dtype == torch.long
    assert int(x.max()) < V and int(x.min()) >= 0
    for b in range(16):
        queries = (y[b] != IGNORE).nonzero().flatten().tolist()
        assert len(queries) == n  # one query per pair
        keys = x[b, 0:2 * n:2].tolist()
        assert len(set(keys)) == n and sorted(x[b, queries].tolist()) == sorted(keys)  # each key asked once
        for p in queries:
            j = keys.index(int(x[b, p])) * 2  # where the key was given
            assert x[b, j + 1] == y[b, p]  # the answer is the token right after the key
            assert p - j >= gap  # min_gap respected
        rest = torch.ones(T, dtype=torch.bool)
        rest[: 2 * n] = False
        rest[queries] = False
        assert (x[b, rest] == BLANK).all()


def test_seeds_reproduce_and_differ():
    for task in (MQAR(), SelectiveCopy(), InductionHead()):
        a, b, c = task.sample(4, 7), task.sample(4, 7), task.sample(4, 8)
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
        assert not torch.equal(a[0], c[0])
    s1 = [x for x, _ in itertools.islice(batches(MQAR(), 2, seed=1), 3)]
    s2 = [x for x, _ in itertools.islice(batches(MQAR(), 2, seed=1), 3)]
    assert all(torch.equal(p, q) for p, q in zip(s1, s2)) and not torch.equal(s1[0], s1[1])


def test_selective_copy_answers_are_the_tokens_in_order():
    task = SelectiveCopy(seq_len=48, n_tokens=6, vocab_size=20)
    x, y = task.sample(8, 0)
    assert x.shape == (8, 48)
    for b in range(8):
        data = x[b, :42]
        tokens = data[data != BLANK]
        assert len(tokens) == 6 and (x[b, 42:] == MARK).all()
        assert torch.equal(y[b, 42:], tokens) and (y[b, :42] == IGNORE).all()


def test_induction_answer_follows_the_first_mark():
    task = InductionHead(seq_len=40, vocab_size=16, min_gap=30)
    x, y = task.sample(32, 1)
    for b in range(32):
        marks = (x[b] == MARK).nonzero().flatten().tolist()
        assert len(marks) == 2 and marks[1] == 39 and 39 - marks[0] >= 30
        assert y[b, 39] == x[b, marks[0] + 1] and (y[b, :39] == IGNORE).all()


@pytest.mark.parametrize("make,words", [
    (lambda: MQAR(seq_len=16, n_pairs=8), "seq_len"),
    (lambda: MQAR(n_pairs=40, vocab_size=64), "vocab_size"),
    (lambda: MQAR(seq_len=64, n_pairs=8, min_gap=60), "min_gap"),
    (lambda: MQAR(n_pairs=0), "positive"),
    (lambda: SelectiveCopy(seq_len=10, n_tokens=6), "seq_len"),
    (lambda: InductionHead(seq_len=10, min_gap=12), "min_gap"),
    (lambda: InductionHead(vocab_size=2), r"vocab_size must be at least 3 \(BLANK, MARK and one content token\)"),
    (lambda: SelectiveCopy(vocab_size=2), r"SelectiveCopy: vocab_size must be at least 3"),
    (lambda: make_task("nope"), "Unknown task"),
    (lambda: make_task("mqar", pairs=3), "knobs"),
])
def test_bad_knobs_are_one_clear_error(make, words):
    with pytest.raises(GamlabError, match=words) as info:
        make()
    assert "\n" not in str(info.value)
