"""Lesson 3's exercises: each solution passes, each typical wrong answer gets its message, stubs never raise."""

import numpy as np
import pytest
import torch

from gamlab import exercises

# ---------------------------------------------------------------- the solutions (as in the lesson)


def gated_update(h, W, b, local, global_):
    g_l, g_g = (h @ W.T + b).chunk(2, dim=-1)  # (B, T, C) each
    return torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_


def gated_update_by_fuse(h, W, b, local, global_):  # another right way: the library's fusion
    from gamlab.blocks.gating import fuse

    return fuse("gated", torch.nn.functional.linear(h, W, b), local, global_)[0]


SOLUTIONS = {"3.1": 0.5 * 2 + torch.sigmoid(torch.tensor(10.0)).item() * 6, "3.2": gated_update, "3.3": 8320}


def test_solution_passes(key, solution):  # one case per entry of SOLUTIONS (conftest.py)
    fb = exercises.check(key, solution, strict=True)
    assert fb.status == "right" and fb.message == "right."


def test_other_right_answers_pass():
    assert exercises.check("3.1", 7)
    assert exercises.check("3.1", 7.0)
    assert exercises.check("3.1", torch.tensor(6.9997))
    assert exercises.check("3.2", gated_update_by_fuse)
    assert exercises.check("3.3", np.int64(8320))
    assert exercises.check("3.3", 2 * 64 * 64 + 2 * 64)


# ---------------------------------------------------------------- typical wrong answers, and what they hear

WRONG_31 = [
    (6, "a softmax over the two paths would give"),
    (6.0, "σ(g_l) = σ(0) = 1/2"),
    (5, "you gated local with σ(g_g) and global with σ(g_l)"),
    (8, "is the 'sum' ablation, with no gates"),
    (60, "you used the logits as the weights"),
    (4, "gives both paths the weight 1/2"),
    (1, "is only the local path"),
    (5.9997, "the global path alone"),  # σ(10)·6 reads like global alone, too
    (3.5, "3.5 is not it"),
    ("7", "give one number"),
    (True, "give one number"),
    (torch.ones(2), "give one number"),
]



def _gates(h, W, b):
    return (h @ W.T + b).chunk(2, dim=-1)


def swapped(h, W, b, local, global_):
    g_l, g_g = _gates(h, W, b)
    return torch.sigmoid(g_g) * local + torch.sigmoid(g_l) * global_


def no_bias(h, W, b, local, global_):
    g_l, g_g = (h @ W.T).chunk(2, dim=-1)
    return torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_


def raw_logits(h, W, b, local, global_):
    g_l, g_g = _gates(h, W, b)
    return g_l * local + g_g * global_


def softmax_pair(h, W, b, local, global_):
    g_l, g_g = _gates(h, W, b)
    w = torch.softmax(torch.stack([g_l, g_g]), dim=0)
    return w[0] * local + w[1] * global_


def softmax_2c(h, W, b, local, global_):
    a_l, a_g = torch.softmax(h @ W.T + b, dim=-1).chunk(2, dim=-1)
    return a_l * local + a_g * global_


def one_gate(h, W, b, local, global_):  # a highway-style trade between the paths
    g_l, _ = _gates(h, W, b)
    return torch.sigmoid(g_l) * local + (1 - torch.sigmoid(g_l)) * global_


def interleaved(h, W, b, local, global_):
    logits = h @ W.T + b
    return torch.sigmoid(logits[..., 0::2]) * local + torch.sigmoid(logits[..., 1::2]) * global_


def local_ungated(h, W, b, local, global_):
    _, g_g = _gates(h, W, b)
    return local + torch.sigmoid(g_g) * global_


def global_missing(h, W, b, local, global_):
    g_l, _ = _gates(h, W, b)
    return torch.sigmoid(g_l) * local


def multiplied(h, W, b, local, global_):
    g_l, g_g = _gates(h, W, b)
    return (torch.sigmoid(g_l) * local) * (torch.sigmoid(g_g) * global_)


def scaled_sum(h, W, b, local, global_):  # right on each path alone, wrong together
    g_l, g_g = _gates(h, W, b)
    both = (local != 0).any() and (global_ != 0).any()
    return (torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_) * (0.5 if both else 1.0)


def local_zeroed_when_alone(h, W, b, local, global_):  # zero without global, yet local counts with it
    g_l, g_g = _gates(h, W, b)
    return torch.sigmoid(g_g) * global_ * (1 + local)


def two_c_channels(h, W, b, local, global_):
    return torch.sigmoid(h @ W.T + b) * torch.cat([local, global_], dim=-1)


def untransposed(h, W, b, local, global_):
    g_l, g_g = (h @ W + b).chunk(2, dim=-1)
    return torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_


def squashed_local(h, W, b, local, global_):  # not linear in local: only the generic message fits
    g_l, g_g = _gates(h, W, b)
    return torch.sigmoid(g_l * local) + torch.sigmoid(g_g) * global_


WRONG_32 = [
    (swapped, "your gates are swapped: g_l, the first C logits, gates local"),
    (no_bias, "your gate leaves out the bias b"),
    (raw_logits, "you multiplied local by the logit g_l itself"),
    (softmax_pair, "your two weights add up to 1, a softmax over the two paths"),
    (softmax_2c, "you took a softmax over the 2C logits"),
    (one_gate, "you gate global with 1 − σ(g_l)"),
    (interleaved, "you took every other logit for g_l"),
    (local_ungated, "your local path passes ungated (weight 1), as in the 'sum' ablation"),
    (global_missing, "your update ignores the global path"),
    (multiplied, "you multiplied the two gated paths; the update adds them"),
    (scaled_sum, "each path alone is right, but together they are not: at token"),
    (two_c_channels, "your update has 2C = 8 channels"),
    (lambda h, W, b, local, global_: local[..., :2], "your update has shape (2, 5, 2)"),
    (untransposed, "W is (2C, C) like nn.Linear's weight, so the logits are h @ W.T + b"),
    (local_zeroed_when_alone, "with global_ = 0 your update should be σ(g_l) · local"),
    (squashed_local, "with global_ = 0 your update should be σ(g_l) · local; at token"),
    (lambda h, W, b, local, global_: float(local.sum()),
     "your function should return a tensor (B, T, C), not a float."),
]



WRONG_33 = [
    (8192, "counts the weight W (2C × C) but not the bias"),
    (4160, "is a one-path gate, Linear(C, C)"),
    (4096, "= C·C is half of the gate's weight"),
    (46016, "is the whole gam block"),
    (37696, "is the gam-sum block"),
    (12416, "gam minus gam-local-nogate also drops the memory bank"),
    (8576, "gam minus gam-global-nogate also drops the convolution"),
    (8256, "gam minus gam-local also drops the memory bank"),
    (1000, "1,000 is not it; subtract gam-sum's row"),
    (8320.0, "give a whole number of parameters"),
    ("8320", "give a whole number of parameters"),
]
WRONG = {"3.1": WRONG_31, "3.2": WRONG_32, "3.3": WRONG_33}


def test_wrong_answers_are_explained(key, answer, says, wrong):  # one case per row of WRONG (conftest.py)
    assert says in wrong(key, answer)



# ---------------------------------------------------------------- stubs and broken answers never raise


@pytest.mark.parametrize("key, stub", [
    ("3.1", ...), ("3.1", None), ("3.2", ...), ("3.2", None), ("3.3", ...), ("3.3", None),
    ("3.2", lambda h, W, b, local, global_: None),
    ("3.2", lambda h, W, b, local, global_: ...),
])
def test_stubs_are_unanswered_and_never_raise(key, stub):
    fb = exercises.check(key, stub)
    assert fb.status == "unanswered" and "not answered yet" in fb.message


def test_a_function_that_raises_is_wrong_with_the_error_named():
    def broken(h, W, b, local, global_):
        raise KeyError("g_l")

    fb = exercises.check("3.2", broken)
    assert fb.status == "wrong" and "your answer raised KeyError: 'g_l'" in fb.message
    with pytest.raises(AssertionError, match="Exercise 3.2"):
        exercises.check("3.2", broken, strict=True)


def test_the_student_function_gets_copies():
    def in_place(h, W, b, local, global_):
        out = gated_update(h, W, b, local, global_)
        local.zero_()  # would break the check's own arithmetic if it were not a copy
        global_.zero_()
        return out

    assert exercises.check("3.2", in_place)
