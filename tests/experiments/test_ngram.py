"""Count-table baselines: exact counts, Kneser-Ney and add-alpha smoothing against their
definitions, distributions that sum to 1, a wider window never worse on real prose, clear errors."""

import math
import time
from collections import Counter, defaultdict

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

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


def kneser_ney_by_hand(train, V, n):
    """Interpolated Kneser-Ney with modified discounts, written from Chen & Goodman with tuples
    as n-grams: returns p(y, context) of the order-n model (context: the n-1 tokens before y)."""
    occurrences = [Counter(tuple(train[t - j:t + 1]) for t in range(j, len(train))) for j in range(n)]
    continuations = []
    for j in range(n - 1):  # in how many distinct contexts one token longer each n-gram was seen
        continuations.append(Counter(gram[1:] for gram in occurrences[j + 1]))

    def table(counts):
        of_counts = Counter(min(c, 5) for c in counts.values())
        d = [0.0, 0.75, 0.75, 0.75]
        if of_counts[1] and of_counts[2]:
            y = of_counts[1] / (of_counts[1] + 2 * of_counts[2])
            for r in (1, 2, 3):
                est = r - (r + 1) * y * of_counts[r + 1] / of_counts[r] if of_counts[r] else 0
                d[r] = est if 0 < est < r else d[r]
        total, aside = defaultdict(float), defaultdict(float)
        for gram, c in counts.items():
            total[gram[:-1]] += c
            aside[gram[:-1]] += d[min(c, 3)]
        return counts, d, total, aside

    def interpolate(tab, h, y, lower):
        counts, d, total, aside = tab
        if not total.get(h):
            return lower
        c = counts.get(h + (y,), 0)
        return (max(c - d[min(c, 3)], 0) + aside[h] * lower) / total[h]

    top, below = table(occurrences[n - 1]), [table(c) for c in continuations]

    def p(y, context):
        q = 1.0 / V
        for j in range(n - 1):
            q = interpolate(below[j], tuple(context[len(context) - j:]) if j else (), y, q)
        return interpolate(top, tuple(context[len(context) - n + 1:]) if n > 1 else (), y, q)
    return p


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


def test_kneser_ney_equals_its_definition_at_every_order():
    V = 4
    train, val = streams(V, n_train=600, n_val=120, seed=3)
    got = ngram_losses(train, val, V, max_n=5)
    v = val.tolist()
    for n, loss in got.items():
        p = kneser_ney_by_hand(train.tolist(), V, n)
        by_hand = -sum(math.log(p(v[t], v[t - n + 1:t])) for t in range(n - 1, len(v))) / (len(v) - n + 1)
        assert loss == pytest.approx(by_hand, rel=1e-12)
        assert ngram_loss(train, val, n, V) == pytest.approx(loss, rel=1e-12)
        model = NGram(n, V).fit(train)
        want = [p(y, v[:20][len(v[:20]) - n + 1:] if n > 1 else []) for y in range(V)]
        assert model.next_token_probs(val[:20]).tolist() == pytest.approx(want, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(V=st.integers(1, 7), n=st.integers(1, 6), seed=st.integers(0, 10_000),
       n_train=st.integers(1, 300), data=st.data())
def test_kneser_ney_sums_to_one_over_the_vocabulary(V, n, seed, n_train, data):
    g = torch.Generator().manual_seed(seed)
    train = torch.randint(0, V, (n_train,), generator=g)
    # contexts seen in training and contexts never seen, of tokens seen and never seen
    context = torch.tensor(data.draw(st.lists(st.integers(0, V - 1), min_size=n - 1, max_size=n + 3)),
                           dtype=torch.long)
    if data.draw(st.booleans()) and n_train >= n:
        start = data.draw(st.integers(0, n_train - n + 1))
        context = train[start:start + n - 1]
    probs = NGram(n, V).fit(train).next_token_probs(context)
    assert probs.shape == (V,)
    assert bool((probs > 0).all())  # every token keeps some probability
    assert float(probs.sum()) == pytest.approx(1.0, abs=1e-12)


def prose() -> str:
    """About 460,000 characters of real English: the Python language reference that ships with
    the interpreter (pydoc's topics), so the test needs no network."""
    from pydoc_data.topics import topics
    return "\n".join(topics[k] for k in sorted(topics))


def test_a_wider_window_is_never_worse_on_real_prose(tmp_path):
    path = tmp_path / "reference.txt"
    path.write_text(prose(), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert len(text) > 300_000
    index = {c: i for i, c in enumerate(sorted(set(text)))}
    ids = torch.tensor([index[c] for c in text])
    cut = int(0.9 * ids.numel())
    kn = ngram_losses(ids[:cut], ids[cut:], len(index), max_n=8)
    assert kn[6] <= kn[5] + 1e-3 and kn[7] <= kn[6] + 1e-3 and kn[8] <= kn[7] + 1e-3
    added = ngram_losses(ids[:cut], ids[cut:], len(index), max_n=8, alpha=0.01)
    assert added[8] > added[6] + 0.1  # what Kneser-Ney fixes: add-alpha gets worse as the window grows
    assert kn[8] < added[8]


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
    (lambda: NGram(3, 5).fit(torch.tensor([0, 1])).next_token_probs(torch.tensor([1])), "reads the last 2, pass at least"),
    (lambda: NGram(2, 5).loss(torch.tensor([0, 1])), "call .fit\\(train_ids\\) first"),
    (lambda: NGram(3, 5).fit(torch.tensor([0, 1, 2])).loss(torch.tensor([0, 1])), "too few to score an order-3"),
])
def test_mistakes_are_one_clear_sentence(call, words):
    with pytest.raises(GamlabError, match=words):
        call()
