"""Every exercise x the precision of a right answer: float32 and float64 answers (and function
answers that compute in float32) pass; an integer answer that is right as a number passes or
hears about the answer itself, never about the check's own comparison; "your answer raised"
only when the student's code raised.

The function answers are the instructor solutions themselves, taken from the lessons' sources
(tools/lessons/*.py, their solution regions); the value answers are the lessons' numbers.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 - the solutions use F as the lessons do
from test_exercises_lesson02 import SOLUTIONS as SOLUTIONS_2
from test_notebooks_meta import _builder

from gamlab import exercises

ROOT = Path(__file__).resolve().parents[2]


def _function_solutions() -> dict:
    """{key: the instructor's function} for every check that takes a function, from the lesson sources."""
    builder, found = _builder(), {}
    for source in sorted((ROOT / "tools" / "lessons").glob("0[0-7]_*.py")):
        for cell in builder.build(source, "instructor").cells:
            if cell.cell_type != "code":
                continue
            m = re.search(r'^exercises\.check\("(\d\.\d)", ([A-Za-z_]\w*)(?:, strict=True)?\)', cell.source, re.M)
            if m and re.search(rf"^def {m.group(2)}\(", cell.source, re.M):
                namespace = {"torch": torch, "F": F, "math": math, "np": np}
                exec(cell.source[:m.start()], namespace)  # the def (and helpers), not the check
                found[m.group(1)] = namespace[m.group(2)]
    return found


FUNCTIONS = _function_solutions()
# The value answers, as the lessons compute them (2.3 needs the lesson's own q and M).
VALUES = {"0.2": 258, "1.1": 17, "2.1": (1, 7), "2.3": SOLUTIONS_2["2.3"], "3.1": 0.5 * 2 + 6 / (1 + math.exp(-10)),
          "3.3": 8320, "4.1": 1024, "5.1": 14, "6.1": 8, "7.1": 1 / 31}
WHOLE = {"0.2", "1.1", "2.1", "3.3", "4.1", "5.1", "6.1"}  # questions that ask for a count or a position


def test_the_sweep_covers_every_exercise_that_takes_a_number_or_a_function():
    assert set(FUNCTIONS) == {"0.1", "1.2", "1.3", "2.2", "3.2", "4.2", "4.3", "5.2", "5.3", "6.2", "7.2", "7.3"}
    assert set(FUNCTIONS) | set(VALUES) | {"6.3"} == set(exercises.all_keys())  # 6.3 takes an explorer
    for key, answer in {**FUNCTIONS, **VALUES}.items():
        assert exercises.check(key, answer, strict=True)


def _as(x, dtype):
    """x in `dtype`: a tensor, or each tensor of a tuple; numbers become tensors."""
    if isinstance(x, tuple):
        return tuple(_as(v, dtype) for v in x)
    if isinstance(x, torch.Tensor):
        return x.to(dtype)
    return torch.tensor(x, dtype=dtype)


def _output_as(fn, dtype):
    """fn, its result converted to `dtype` (a tensor stays a tensor; a number becomes a 0-d tensor)."""
    def answer(*args, **kwargs):
        return _as(fn(*args, **kwargs), dtype)
    return answer


def _inputs_as(fn, dtype):
    """fn computing in `dtype`: its floating tensor arguments converted first."""
    def answer(*args, **kwargs):
        args = [a.to(dtype) if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args]
        return fn(*args, **kwargs)
    return answer


def _about_the_answer(fb) -> bool:
    """A wrong verdict that speaks of the answer, not of the check failing on it."""
    return (fb.status == "wrong" and not fb.message.startswith(("this check could not", "your answer raised"))
            and "did not match" not in fb.message)


@pytest.mark.parametrize("key", sorted(FUNCTIONS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_right_function_in_either_precision_passes(key, dtype):
    fn = FUNCTIONS[key]
    assert exercises.check(key, _output_as(fn, dtype)), exercises.check(key, _output_as(fn, dtype))
    fb = exercises.check(key, _inputs_as(fn, dtype))  # computed in that precision throughout
    assert fb or (fb.message.startswith("your answer raised") and dtype == torch.float32), fb
    if not fb:  # the solution itself cannot take float32 inputs (a float64 module given to it): its own error
        assert key == "4.3", fb


@pytest.mark.parametrize("key", ["4.2", "5.2", "5.3"])  # functions that return one number
def test_a_right_function_returning_a_number_in_any_form_passes(key):
    fn = FUNCTIONS[key]
    for form in (float, np.float32, np.float64, lambda x: torch.as_tensor(x).float()):
        assert exercises.check(key, lambda *a, form=form: form(fn(*a))), (key, form)
    fb = exercises.check(key, lambda *a: int(fn(*a)))
    assert fb or _about_the_answer(fb), fb


@pytest.mark.parametrize("key", sorted(VALUES))
def test_a_right_value_in_any_precision_passes_or_hears_about_the_answer(key):
    value = VALUES[key]
    forms = {"float32": _as(value, torch.float32), "float64": _as(value, torch.float64)}
    if not isinstance(value, tuple):
        forms["numpy float32"] = np.float32(value)
    if key in WHOLE:  # right as a number: Python ints (the lesson's form) and an integer tensor
        forms["int64 tensor"] = _as(value, torch.int64)
    if key == "2.3":  # (tau, q, M): tau a whole number where it is one
        forms["int tau"] = (int(value[0]) if float(value[0]).is_integer() else float(value[0]), *value[1:])
    for name, answer in forms.items():
        fb = exercises.check(key, answer)
        if key in WHOLE:  # a count given as a float may be refused, but for what it is
            assert fb or _about_the_answer(fb), (key, name, fb)
        else:
            assert fb, (key, name, fb)


def test_the_issue_example_a_float32_gate_passes():
    def gated_update(h, W, b, local, global_):
        g_l, g_g = (h @ W.T + b).chunk(2, dim=-1)
        return (torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_).float()
    assert exercises.check("3.2", gated_update, strict=True)


def test_only_the_students_own_error_is_called_theirs():
    def raises(*args):
        raise KeyError("mine")
    assert exercises.check("7.3", raises).message == "your answer raised KeyError: 'mine'"
    fb = exercises.check("7.3", lambda q, k: "not a tensor")
    assert fb.status == "wrong" and "your answer raised" not in fb.message, fb
    fb = exercises.check("1.2", lambda x, w, b: torch.zeros(1, 12, 3, dtype=torch.int64))
    assert _about_the_answer(fb) and "int64" in fb.message, fb
