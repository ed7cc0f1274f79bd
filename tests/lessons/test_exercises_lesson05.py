"""Lesson 5's exercises: each solution passes, each typical wrong answer gets its message, stubs never raise."""

import math

import pytest
import torch

from gamlab import exercises

# ---------------------------------------------------------------- the solutions (as in the lesson)


def perplexity(losses):
    return losses.mean().exp()


def bigram_loss(train_ids, val_ids, vocab_size, alpha=0.01):
    counts = torch.zeros(vocab_size, vocab_size, dtype=torch.float64)  # counts[previous, next]
    counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1, dtype=torch.float64),
                      accumulate=True)
    p = (counts + alpha) / (counts + alpha).sum(1, keepdim=True)  # each row sums to 1
    return float(-p[val_ids[:-1], val_ids[1:]].log().mean())


def bigram_bincount(train_ids, val_ids, vocab_size, alpha=0.01):  # another right way, in float32
    V = vocab_size
    counts = torch.bincount(train_ids[:-1] * V + train_ids[1:], minlength=V * V).view(V, V).float() + alpha
    return -(counts / counts.sum(1, keepdim=True))[val_ids[:-1], val_ids[1:]].log().mean()


SOLUTIONS = {"5.1": 14, "5.2": perplexity, "5.3": bigram_loss}


def test_solution_passes(key, solution):  # one case per entry of SOLUTIONS (conftest.py)
    fb = exercises.check(key, solution, strict=True)
    assert fb.status == "right" and fb.message == "right."


def test_other_right_answers_pass():
    import numpy as np

    assert exercises.check("5.1", np.int64(14))
    assert exercises.check("5.2", lambda losses: float(torch.exp(losses.mean())))
    assert exercises.check("5.2", lambda losses: math.exp(losses.sum().item() / losses.numel()))
    assert exercises.check("5.3", bigram_bincount)


# ---------------------------------------------------------------- typical wrong answers, and what they hear

WRONG_51 = [
    (13, "13 is the reach R"),
    (18, "L·k = 18 counts the current token once per layer"),
    (19, "L·k + 1 = 19"),
    (12, "L·(k−1) = 12 counts only the tokens before t"),
    (256, "does not see its whole block of 256 tokens"),
    (3, "that is one block's window"),
    (50, "50 is not it; find the reach R with L = 6, k = 3"),
    (14.0, "give a whole number n"),
    ("14", "give a whole number n"),
    (True, "give a whole number n"),
]



WRONG_52 = [
    (lambda l: l.exp().mean(), "you averaged exp(loss) over tokens"),
    (lambda l: l.mean(1).exp().mean(), "you averaged the sequences' perplexities"),
    (lambda l: l.mean(1).exp(), "one perplexity per sequence (a tensor of shape (4,))"),
    (lambda l: 2 ** l.mean(), "2 ** loss treats the loss as bits"),
    (lambda l: l.sum().exp(), "exp of the summed loss"),
    (lambda l: (-l.mean()).exp(), "1 / perplexity"),
    (lambda l: l.mean(), "that is the mean loss itself"),
    (lambda l: l.mean() + 1, "your perplexity is"),
    (lambda l: "4.2", "return one number, not '4.2'"),
]



def _table(train_ids, V, alpha):
    counts = torch.zeros(V, V, dtype=torch.float64)
    counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1, dtype=torch.float64),
                      accumulate=True)
    return counts + alpha


def no_smoothing(train_ids, val_ids, V, alpha=0.01):
    return bigram_loss(train_ids, val_ids, V, alpha=0.0)


def unigram(train_ids, val_ids, V, alpha=0.01):
    counts = torch.bincount(train_ids, minlength=V).double() + alpha
    return float(-(counts / counts.sum())[val_ids[1:]].log().mean())


def columns(train_ids, val_ids, V, alpha=0.01):
    c = _table(train_ids, V, alpha)
    return float(-(c / c.sum(0, keepdim=True))[val_ids[:-1], val_ids[1:]].log().mean())


def backwards(train_ids, val_ids, V, alpha=0.01):
    c = _table(train_ids, V, alpha)
    return float(-(c / c.sum(1, keepdim=True))[val_ids[1:], val_ids[:-1]].log().mean())


def alpha_one(train_ids, val_ids, V, alpha=0.01):
    return bigram_loss(train_ids, val_ids, V, alpha=1.0)


def counted_val(train_ids, val_ids, V, alpha=0.01):
    return bigram_loss(val_ids, val_ids, V, alpha)


WRONG_53 = [
    (no_smoothing, "your loss is not finite: a pair never seen in training"),
    (lambda *a: math.exp(bigram_loss(*a)), "that is the perplexity exp(loss)"),
    (lambda *a: bigram_loss(*a) / math.log(2), "in bits"),
    (unigram, "ignores the previous token (a unigram)"),
    (columns, "normalised over the previous token"),
    (backwards, "p[next, previous], the table read backwards"),
    (alpha_one, "you smoothed with alpha = 1; use the alpha passed in (this call had alpha = 0.01)"),
    (counted_val, "you counted the validation text"),
    (lambda *a: bigram_loss(*a) + 0.1, "with alpha = 0.01 your loss is"),
    (lambda t, v, V, alpha: torch.zeros(V, V),
     "return one number (the mean loss in nats per token), not a tensor of shape (6, 6)"),
]
WRONG = {"5.1": WRONG_51, "5.2": WRONG_52, "5.3": WRONG_53}


def test_wrong_answers_are_explained(key, answer, says, wrong):  # one case per row of WRONG (conftest.py)
    assert says in wrong(key, answer)



def test_53_checks_the_alpha_it_passes():
    # right at alpha = 0.01 only (alpha hard-coded): the second call, alpha = 0.5, tells
    fb = exercises.check("5.3", lambda t, v, V, alpha: bigram_loss(t, v, V, 0.01))
    assert fb.status == "wrong"
    assert "with alpha = 0.5 your loss is" in fb.message


def test_strict_raises_with_the_feedback():
    with pytest.raises(AssertionError, match="13 is the reach R"):
        exercises.check("5.1", 13, strict=True)


# ---------------------------------------------------------------- stubs and crashes


def _stub(*args, **kwargs):
    ...


def _not_implemented(*args, **kwargs):
    raise NotImplementedError


@pytest.mark.parametrize("key", sorted(SOLUTIONS))
@pytest.mark.parametrize("stub", [..., None, _stub, _not_implemented],
                         ids=["ellipsis", "none", "returns-none", "not-implemented"])
def test_stubs_are_unanswered_and_never_raise(key, stub):
    if key == "5.1" and callable(stub):
        return  # 5.1's answer is a number; its stubs are ... and None
    fb = exercises.check(key, stub)
    assert fb.status == "unanswered"
    assert fb.message == f"not answered yet; exercises.hint({key!r}) gives a hint."
    assert not fb


@pytest.mark.parametrize("key", ["5.2", "5.3"])
def test_a_function_that_raises_is_wrong_and_named(key):
    def broken(*args):
        return args[0].nonexistent()

    fb = exercises.check(key, broken)
    assert fb.status == "wrong"
    assert fb.message.startswith("your answer raised AttributeError:")
    assert "nonexistent" in fb.message
