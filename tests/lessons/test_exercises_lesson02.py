"""Lesson 2's exercises: each solution passes, each typical wrong answer gets its message, stubs never raise."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gamlab import exercises
from gamlab.exercises.lesson02 import TEMPERATURES, changed_positions

# ---------------------------------------------------------------- the lesson's data and the solutions


def lesson_q_and_M():
    """Section 1's patterns M (P, C) and noisy query q (C,) of pattern 2, drawn as the lesson draws them."""
    g = torch.Generator().manual_seed(0)  # the stream seed_everything(0) starts, without touching global state
    M = F.normalize(torch.randn(6, 32, generator=g), dim=-1)
    return M[2] + 0.12 * torch.randn(32, generator=g), M


def bank_for_temperature(M, tau):
    return M / tau


def warmest(q, M):  # what the figure shows, computed as the lesson's retrieve does
    return max(t for t in TEMPERATURES if torch.softmax(M @ q / t, -1)[2] > 0.5)


Q, M = lesson_q_and_M()
SOLUTIONS = {"2.1": (1, 7), "2.2": bank_for_temperature, "2.3": (warmest(Q, M), Q, M)}


def test_solution_passes(key, solution):  # one case per entry of SOLUTIONS (conftest.py)
    fb = exercises.check(key, solution, strict=True)
    assert fb.status == "right" and fb.message == "right."


def test_the_prediction_is_what_gamlab_measures():
    assert changed_positions() == (1, 7)  # the memory: token 3 alone; attention: tokens 3..9


def test_other_right_answers_pass():
    assert exercises.check("2.1", [1, 7])
    assert exercises.check("2.1", (np.int64(1), torch.tensor(7)))
    assert exercises.check("2.2", lambda M, tau: M * (1 / tau))
    assert exercises.check("2.2", lambda M, tau: (M / tau).float())  # float32 is close enough
    assert exercises.check("2.2", lambda M, tau: M / tau + 0.3)  # one vector added to every slot: same weights
    assert warmest(Q, M) == 0.3  # the lesson's figure: 0.914 at τ = 0.3, 0.408 at τ = 1
    assert exercises.check("2.3", (np.float64(0.3), Q, M))
    assert exercises.check("2.3", (torch.tensor(0.3), Q.double(), M.double()))


# ---------------------------------------------------------------- typical wrong answers, and what they hear

WRONG_21 = [
    ((7, 1), "you swapped them: the pair is (memory, attention)"),
    ((7, 7), "the memory is not attention: token t's weights are softmax(h_t Mᵀ)"),
    ((6, 7), "the memory is not attention"),
    ((0, 7), "token 3's own retrieval does change: its query h_3 is different"),
    ((10, 7), "the memory does not read the other tokens at all"),
    ((3, 7), "3 is not the memory's count"),
    ((1, 6), "tokens 4..9 read token 3, and so does token 3 itself"),
    ((1, 10), "causal attention: tokens 0..2 come before token 3 and cannot read it"),
    ((1, 3), "you counted the positions up to token 3; causal attention reads backwards"),
    ((1, 4), "you counted the positions up to token 3"),
    ((1, 1), "attention's output at t reads every token s <= t, not only its own"),
    ((1, 5), "5 is not attention's count"),
    ((1.0, 7), "give two whole numbers (memory, attention)"),
    (17, "give two whole numbers (memory, attention), for example (2, 5), not 17."),
    ((1, 7, 9), "give two whole numbers"),
    ((True, 7), "give two whole numbers"),
]



def in_place(M, tau):
    M /= tau
    return M


WRONG_22 = [
    (lambda M, tau: M * tau, "you multiplied the slots by τ: with τ = 0.1 that divides the temperature instead"),
    (lambda M, tau: M / math.sqrt(tau), "you divided the slots by √τ, half of the temperature's effect"),
    (lambda M, tau: M.clone(), "your bank is M unchanged: its retrieval is at temperature 1, not τ = 0.1"),
    (lambda M, tau: F.normalize(M, dim=-1) / tau, "your slots all have the same length: you normalised them"),
    (in_place, "you changed M in place"),
    (lambda M, tau: (M / tau).T, "return a bank of shape (S, C) = (6, 32) like M, not (32, 6)"),
    (lambda M, tau: (M / tau).tolist(), "return the new bank, a tensor of shape (S, C) = (6, 32), not list"),
    (lambda M, tau: M / (tau + 0.05), "with τ = 0.1 your bank's retrieval is softer than temperature 0.1"),
    (lambda M, tau: M / (tau * 0.8), "with τ = 0.1 your bank's retrieval is sharper than temperature 0.1"),
    (lambda M, tau: M / 0.1, "with τ = 0.5 your bank's retrieval is sharper than temperature 0.5"),  # τ hard-coded
    (lambda M, tau: M / tau + 1e-3 * torch.ones_like(M).cumsum(0), "with τ = 0.1 your bank's weights are off by up to"),
]



WRONG_23 = [
    (1.0, "at τ = 1 pattern 2 gets w = 0.408, less than half (its bar is still the tallest"),
    (10.0, "at τ = 10 pattern 2 gets w = 0.185, less than half"),
    (0.1, "at τ = 0.1 pattern 2 does get more than half (w = 1.000), but so it does at warmer"),
    (0.01, "move the slider further right"),
    (0.5, "pick one of the slider's temperatures, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, not 0.5."),
    ("0.3", "pick one of the slider's temperatures"),
]
WRONG = {"2.1": WRONG_21, "2.2": WRONG_22, "2.3": [((tau, Q, M), says) for tau, says in WRONG_23]}


def test_wrong_answers_are_explained(key, answer, says, wrong):  # one case per row of WRONG (conftest.py)
    assert says in wrong(key, answer)



def test_23_needs_the_lessons_q_and_M():
    assert "pass your τ along with the lesson's query and patterns: (tau, q, M)." in exercises.check("2.3", 0.3).message
    assert "the lesson's query q (C,) and patterns M (P, C)" in exercises.check("2.3", (0.3, None, None)).message
    other = M[0] + 0.12 * torch.randn(32, generator=torch.Generator().manual_seed(1))  # a query of pattern 0
    fb = exercises.check("2.3", (0.3, other, M))
    assert fb.status == "wrong" and "pattern 2 never gets more than half of the weight" in fb.message


def test_strict_raises_with_the_feedback():
    with pytest.raises(AssertionError, match="you swapped them"):
        exercises.check("2.1", (7, 1), strict=True)


# ---------------------------------------------------------------- stubs and crashes


def _stub(*args, **kwargs):
    ...


def _not_implemented(*args, **kwargs):
    raise NotImplementedError


STUBS = {
    "2.1": [..., None, (..., ...), (1, ...)],
    "2.2": [..., None, _stub, _not_implemented],
    "2.3": [..., None, (..., Q, M), (None, Q, M)],
}


@pytest.mark.parametrize("key, stub", [(k, s) for k, stubs in STUBS.items() for s in stubs])
def test_stubs_are_unanswered_and_never_raise(key, stub):
    fb = exercises.check(key, stub)
    assert fb.status == "unanswered"
    assert fb.message == f"not answered yet; exercises.hint({key!r}) gives a hint."
    assert not fb


def test_a_function_that_raises_is_wrong_and_named():
    def broken(M, tau):
        return M.nonexistent() / tau

    fb = exercises.check("2.2", broken)
    assert fb.status == "wrong"
    assert fb.message.startswith("your answer raised AttributeError:")
    assert "nonexistent" in fb.message
