"""The exercise machinery: one source gives a student and an instructor notebook, checks never
raise in a student notebook, and every lesson 00-07 has checked exercises. (Each lesson's
checks are tested both ways in tests/test_exercises_lessonNN.py; nbval runs both notebooks.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from test_notebooks_meta import _builder  # the notebook builder, loaded from tools/notebooks.py

from gamlab import exercises
from gamlab.errors import GamlabError

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "tools" / "lessons").glob("0[0-7]_*.py"))


def test_stubs_replace_solutions_and_instructor_checks_are_strict():
    b = _builder()
    code = ('def f(x):\n    """doc"""\n    # BEGIN SOLUTION\n    y = x + 1\n    return y\n    # END SOLUTION\n\n'
            'answer = 17  # SOLUTION\nexercises.check("1.1", answer)')
    assert b.student(code) == ('def f(x):\n    """doc"""\n    ...  # your code here\n\n'
                               'answer = ...  # your answer\nexercises.check("1.1", answer)')
    assert b.instructor(code) == ('def f(x):\n    """doc"""\n    y = x + 1\n    return y\n\n'
                                  'answer = 17\nexercises.check("1.1", answer, strict=True)')
    with pytest.raises(ValueError, match="without its END SOLUTION"):
        b.student("# BEGIN SOLUTION\nx = 1")


@pytest.mark.parametrize("source", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_lesson_has_checked_exercises_and_no_solution_reaches_students(source):
    number = int(source.stem[:2])
    text = source.read_text(encoding="utf-8")
    keys = re.findall(r'^\s*exercises\.check\("(\d+\.\d+)"', text, re.M)  # the check lines that end cells
    assert len(keys) >= 2 and all(k.startswith(f"{number}.") for k in keys), (source.stem, keys)
    for key in keys:
        exercises.get(key)  # registered
    b = _builder()
    student = "\n".join(c.source for c in b.build(source, "student").cells if c.cell_type == "code")
    instructor = "\n".join(c.source for c in b.build(source, "instructor").cells if c.cell_type == "code")
    assert "SOLUTION" not in student and "SOLUTION" not in instructor
    assert "strict=True" not in student and instructor.count("strict=True") == len(keys)


def test_unanswered_wrong_and_raising_answers_never_raise_unless_strict():
    fb = exercises.check("1.1", ...)
    assert fb.status == "unanswered" and not fb and "exercises.hint('1.1')" in str(fb)
    assert exercises.check("1.2", lambda x, w, b: None).status == "unanswered"

    def broken(x, w, b):
        raise RuntimeError("shapes do not match")
    fb = exercises.check("1.2", broken)
    assert fb.status == "wrong" and "RuntimeError: shapes do not match" in str(fb)
    with pytest.raises(AssertionError, match="Exercise 1.1"):
        exercises.check("1.1", ..., strict=True)
    assert "<div" in exercises.check("1.1", 17)._repr_html_() and exercises.check("1.1", 17)


def test_hints_come_one_at_a_time_and_unknown_keys_are_one_sentence():
    first, second = exercises.hint("1.2"), exercises.hint("1.2")
    assert first.startswith("Hint 1 of") and second.startswith("Hint 2 of") and repr(first) == str(first)
    with pytest.raises(GamlabError, match="there is no exercise '9.9'; exercises are"):
        exercises.check("9.9", 1)


def test_lesson_01_checks_explain_what_is_wrong():
    import torch.nn.functional as F

    assert "each layer adds k-1 = 4 new tokens" in str(exercises.check("1.1", 20))
    assert "whole number" in str(exercises.check("1.1", "17"))

    def peeks(x, w, b):  # reads t .. t+k-1: the future
        T, k = x.size(1), w.size(1)
        return torch.stack([b + sum(w[:, j] * x[:, min(T - 1, t + j)] for j in range(k)) for t in range(T)], 1)

    def loop(x, w, b):
        T, k = x.size(1), w.size(1)
        return torch.stack([b + sum(w[:, j] * x[:, t - k + 1 + j] for j in range(k) if t - k + 1 + j >= 0)
                            for t in range(T)], 1)

    def flipped(x, w, b):  # the right inputs, the taps reversed
        return loop(x, w.flip(1), b)

    assert "output 0 sees input 2 (the future)" in str(exercises.check("1.2", peeks))
    assert "the right inputs, the wrong numbers" in str(exercises.check("1.2", flipped))
    assert exercises.check("1.2", loop, strict=True)

    def dilated(x, w, b, dilation):
        T, k = x.size(1), w.size(1)
        return b + sum(w[:, j] * F.pad(x, (0, 0, (k - 1 - j) * dilation, 0))[:, :T] for j in range(k))

    assert exercises.check("1.3", dilated, strict=True)
    assert "with dilation 2, your convolution's output 1 sees input 0" in str(
        exercises.check("1.3", lambda x, w, b, dilation: dilated(x, w, b, 1)))


@pytest.mark.parametrize("key", sorted(exercises.all_keys()))
def test_every_exercise_gives_at_least_two_hints_one_at_a_time(key):
    ex = exercises.get(key)
    ex.shown_hints = 0
    assert len(ex.hints) >= 2
    first, second = exercises.hint(key), exercises.hint(key)
    assert first.startswith(f"Hint 1 of {len(ex.hints)} for exercise {key}:")
    assert second.startswith(f"Hint 2 of {len(ex.hints)} for exercise {key}:")
    ex.shown_hints = 0


def test_answer_readers_take_what_is_a_number_and_say_what_to_give_otherwise():
    import numpy as np

    from gamlab.exercises import Wrong, as_whole, one_number, whole_number

    assert [as_whole(x) for x in (3, np.int64(3), torch.tensor(3), torch.tensor([3]))] == [3, 3, 3, 3]
    not_whole = (True, 3.0, "3", torch.tensor(3.0), torch.tensor([1, 2]), torch.tensor(True), None)
    assert [as_whole(x) for x in not_whole] == [None] * len(not_whole)
    assert as_whole(12.0, floats=True) == 12 and as_whole(torch.tensor(12.0), floats=True) == 12
    assert as_whole(12.5, floats=True) is None and as_whole(True, floats=True) is None
    assert whole_number(np.int64(7), "give a count") == 7
    with pytest.raises(Wrong, match=r"^give a count, not 7\.5\.$"):
        whole_number(7.5, "give a count")
    assert one_number(torch.tensor(0.5), "give a fraction") == 0.5
    with pytest.raises(Wrong, match=r"^give a fraction, not 'half'\.$"):
        one_number("half", "give a fraction")


def test_a_check_that_raises_wrong_is_wrong_with_that_sentence():
    import numpy as np

    fb = exercises.check("1.1", "17")
    assert fb.status == "wrong" and fb.message == "give a whole number of tokens, not '17'."
    with pytest.raises(AssertionError, match="give a whole number of tokens"):
        exercises.check("1.1", 17.0, strict=True)
    assert exercises.check("1.1", np.int64(17))  # a numpy integer is a whole number too
