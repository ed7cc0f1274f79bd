"""Lesson 0's exercises: each solution passes, each typical wrong answer gets its message, stubs never raise."""

import numpy as np
import pytest
import torch

from gamlab import exercises
from gamlab.exercises.lesson00 import crossover, gam_count


def gam_flops_per_token(C, S, k):
    return 20 * C * C + 4 * S * C + 2 * k * C


SOLUTIONS = {"0.1": gam_flops_per_token, "0.2": 258}


def test_solution_passes(key, solution):  # one case per entry of SOLUTIONS (conftest.py)
    fb = exercises.check(key, solution, strict=True)
    assert fb.status == "right" and fb.message == "right."


def test_the_answers_are_the_blocks_own_counts():
    assert gam_count(128, 512) == 20 * 128**2 + 4 * 512 * 128 + 6 * 128
    assert crossover() == 258  # the counts are equal at T = S - C + k/2 = 257.5


def test_other_right_answers_pass():
    assert exercises.check("0.1", lambda C, S, k: float(gam_flops_per_token(C, S, k)))
    assert exercises.check("0.1", lambda C, S, k: torch.tensor(gam_flops_per_token(C, S, k)))
    assert exercises.check("0.2", np.int64(258))


WRONG = {
    "0.1": [
        (lambda C, S, k: gam_flops_per_token(C, S, k) / 2, "you counted multiply-adds"),
        (lambda C, S, k: 3 * gam_flops_per_token(C, S, k), "that is forward + backward"),
        (lambda C, S, k: 4 * C * C + 4 * S * C + 2 * k * C, "the feed-forward network is missing"),
        (lambda C, S, k: 8 * C * C + 4 * S * C + 2 * k * C, "your feed-forward network costs 4C²"),
        (lambda C, S, k: 18 * C * C + 4 * S * C + 2 * k * C, "your gates cost 2C²"),
        (lambda C, S, k: 16 * C * C + 4 * S * C + 2 * k * C, "the gate projection C -> 2C (4C²) is missing"),
        (lambda C, S, k: 20 * C * C + 2 * S * C + 2 * k * C, "you counted the slots once"),
        (lambda C, S, k: 20 * C * C + 2 * k * C, "the memory's work is missing"),
        (lambda C, S, k: 20 * C * C + 4 * S * C, "the convolution is missing"),
        (lambda C, S, k: 20 * C * C + 4 * S * C + 2 * k * C * C, "GAM's is depthwise"),
        (lambda C, S, k: 24 * C * C + 4 * S * C, "at C = 96, S = 500, k = 3 your count is"),
        (lambda C, S, k: "many", "return one number (FLOPs per token)"),
    ],
    "0.2": [
        (256, "S − C = 256 is the rough crossover"),
        (257, "at T = 257 naive attention still does less work per token"),
        (512, "that is where the fused kernel passes GAM"),
        (515, "that is where the fused kernel passes GAM"),
        (1000, "1000 is not it; set 24C² + 4TC equal to 20C² + 4SC + 2kC"),
        (257.5, "give a whole number of tokens T"),
    ],
}


def test_wrong_answers_are_explained(key, answer, says, wrong):  # one case per row of WRONG (conftest.py)
    assert says in wrong(key, answer)


@pytest.mark.parametrize("key, stub", [("0.1", ...), ("0.1", lambda C, S, k: None), ("0.2", ...), ("0.2", None)])
def test_stubs_are_unanswered_and_never_raise(key, stub):
    fb = exercises.check(key, stub)
    assert fb.status == "unanswered" and not fb
