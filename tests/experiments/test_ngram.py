"""Count-table baselines: exact counts, add-alpha smoothing, the unigram as n = 1, clear errors."""

import math
import time
from collections import Counter

import pytest
import torch

from gamlab import GamlabError
from gamlab.experiments.ngram import NGram, ngram_loss, ngram_losses, order_for_reach
from gamlab.training.data import unigram_loss


def counted(train, val, n, V, alpha):
    """The definition, with Python tuples as contexts: mean -log p over val positions t >= n-1."""
    tr, va, k = train.tolist(), val.tolist(), n - 1
    joint = Counter(tuple(tr[t - k:t + 1]) for t in range(k, len(tr)))
    ctx = Counter(tuple(tr[t - k:t]) for t in range(k, len(tr)))
    logp = [math.log((joint[tuple(va[t - k:t + 1])] + alpha) / (ctx[tuple(va[t - k:t])] + alpha * V))
            for t in range(k, len(va))]
    return -sum(logp) / len(logp)


def streams(V=5, n_train=3000, n_val=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, V, (n_train,), generator=g), torch.randint(0, V, (n_val,), generator=g)


@pytest.mark.parametrize("alpha", [0.01, 1.0])
def test_every_order_equals_counting_by_hand(alpha):
    V = 5
    train, val = streams(V)
    got = ngram_losses(train, val, V, max_n=7, alpha=alpha)
    assert list(got) == list(range(1, 8))
    for n, loss in got.items():
        assert loss == pytest.approx(counted(train, val, n, V, alpha), rel=1e-12)
        assert ngram_loss(train, val, n, V, alpha) == pytest.approx(loss, rel=1e-12)


def test_unigram_is_the_first_order_with_add_one():
    train, val = streams(V=11, seed=1)
    assert ngram_loss(train, val, 1, 11, alpha=1.0) == pytest.approx(unigram_loss(train, val, 11), rel=1e-12)


def test_unseen_context_predicts_uniformly_and_seen_ones_by_counts():
    V, alpha = 4, 0.5
    train = torch.tensor([0, 1, 0, 1, 0, 1, 0, 2])  # after 0: 1 three times, 2 once; nothing follows 2
    model = NGram(2, V, alpha).fit(train)
    assert model.loss(torch.tensor([2, 3])) == pytest.approx(math.log(V))  # context "2" never counted
    assert model.loss(torch.tensor([0, 1])) == pytest.approx(-math.log((3 + alpha) / (4 + alpha * V)))
    assert model.loss(torch.tensor([3, 3, 3])) == pytest.approx(math.log(V))  # token 3 never seen at all


def test_longer_context_fits_a_deterministic_text_exactly():
    text = torch.tensor([0, 1, 2, 3, 4] * 200)  # each token fixes the next one
    losses = ngram_losses(text, text[:50], 5, max_n=3, alpha=1e-9)
    assert losses[1] == pytest.approx(math.log(5), abs=1e-6)
    assert losses[2] < 1e-6 and losses[3] < 1e-6


def test_order_for_reach_is_the_context_a_reach_R_model_sees():
    assert order_for_reach(5) == 6 and order_for_reach(13) == 14


def test_a_million_tokens_count_in_seconds():
    train, val = streams(V=50, n_train=1_000_000, n_val=50_000, seed=2)
    start = time.perf_counter()
    ngram_losses(train, val, 50, max_n=8)
    assert time.perf_counter() - start < 30  # about 3 s on a laptop core


@pytest.mark.parametrize("call, words", [
    (lambda: NGram(0, 5), "n-gram order n must be a positive integer"),
    (lambda: NGram(2, 5, alpha=0.0), "alpha must be positive"),
    (lambda: NGram(2, 5).fit(torch.zeros(2, 3, dtype=torch.long)), "1-D tensor of integer token ids"),
    (lambda: NGram(2, 5).fit(torch.rand(10)), "1-D tensor of integer token ids"),
    (lambda: NGram(2, 5).fit(torch.tensor([0, 5])), "token id 5, outside the vocabulary \\[0, 5\\)"),
    (lambda: NGram(2, 5).fit(torch.tensor([0, 1])).loss(torch.tensor([-1, 1])), "val_ids holds token id -1"),
    (lambda: NGram(2, 5).loss(torch.tensor([0, 1])), "call .fit\\(train_ids\\) first"),
    (lambda: NGram(3, 5).fit(torch.tensor([0, 1, 2])).loss(torch.tensor([0, 1])), "too few to score an order-3"),
])
def test_mistakes_are_one_clear_sentence(call, words):
    with pytest.raises(GamlabError, match=words):
        call()
