"""Exercises with feedback: every lesson ends with a few, and this package checks the answers.

    from gamlab import exercises
    exercises.check("1.2", causal_mask)      # what is right, or what is wrong and where
    exercises.hint("1.2")                    # one more hint each time it is called

A check never raises in a student notebook: an unanswered exercise (`...`, `None`, a function
that returns nothing or raises NotImplementedError) says "not answered yet", and a wrong answer
says what is wrong in it ("your mask lets position 3 see position 4"). The instructor notebook,
built from the same lesson source with the solutions in, calls `check(..., strict=True)`, which
raises on anything but a right answer, so running it proves every exercise solvable.

Each lesson's checks live in their own module (`lesson01.py`, ...); a check is a function
answer -> None (right) or a sentence saying what is wrong (a `Right` sentence: right, and why
it counts where that needs saying), registered with `@exercise`. The
answer-reading helpers at the end (`whole_number`, `one_number`) raise `Wrong` with that
sentence, so that a check reads its answer in one line; `close` compares a tensor answer with
the reference in float64, at the tolerance of the answer's precision. Only an exception out of
the student's own code (`call`) is reported as "your answer raised ...".

Used in every lesson's "Exercises" section (notebooks/01_local_path.ipynb onwards).
"""

from __future__ import annotations

import html
import importlib
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..errors import GamlabError

LESSONS = ("lesson00", "lesson01", "lesson02", "lesson03", "lesson04", "lesson05", "lesson06", "lesson07")


class NotAnswered(Exception):
    """Raised inside a check when the answer is still the notebook's stub."""


class Right(str):
    """Returned by a check for a right answer that needs a sentence more than "right." (shown instead)."""


class Wrong(Exception):
    """Raised inside a check with what is wrong in the answer: the same as returning that sentence."""


@dataclass
class Exercise:
    key: str  # "1.2": lesson 1, exercise 2
    title: str
    check: Callable[[object], str | None]  # answer -> None when right, else what is wrong
    hints: tuple[str, ...] = ()
    shown_hints: int = field(default=0, compare=False)


REGISTRY: dict[str, Exercise] = {}


def exercise(key: str, title: str, hints: tuple[str, ...] = ()):
    """Register a check: @exercise("1.2", "A causal mask", hints=(...)) above def check(answer)."""
    def register(fn: Callable[[object], str | None]) -> Callable[[object], str | None]:
        REGISTRY[key] = Exercise(key, title, fn, tuple(hints))
        return fn
    return register


def _load_all() -> None:
    for name in LESSONS:  # importing a lesson's module registers its checks
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise


def all_keys() -> list[str]:
    """Every exercise's key, all lessons' checks loaded."""
    _load_all()
    return sorted(REGISTRY)


def get(key: str) -> Exercise:
    """The exercise named `key` ("1.2"); GamlabError listing the keys if there is none."""
    if key not in REGISTRY:
        _load_all()
    if key not in REGISTRY:
        raise GamlabError(f"there is no exercise {key!r}; exercises are {', '.join(sorted(REGISTRY))}.")
    return REGISTRY[key]


@dataclass
class Feedback:
    """What a check found: shown in a notebook as one coloured line; true when the answer is right."""

    key: str
    title: str
    status: str  # "right", "wrong" or "unanswered"
    message: str

    def __bool__(self) -> bool:
        return self.status == "right"

    def __str__(self) -> str:
        mark = {"right": "✓", "wrong": "✗", "unanswered": "…"}[self.status]
        return f"{mark} Exercise {self.key} ({self.title}): {self.message}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = {"right": "#009E73", "wrong": "#D55E00", "unanswered": "#555555"}[self.status]
        return f'<div style="color:{colour};font-weight:bold">{html.escape(str(self))}</div>'


def unanswered(answer) -> bool:
    """True for the stubs a student notebook starts with: ..., None."""
    return answer is None or answer is Ellipsis


def check(key: str, answer, *, strict: bool = False) -> Feedback:
    """Check `answer` to exercise `key`; returns Feedback (true when right), never raises unless strict.

    strict=True (the instructor notebooks, the tests) raises AssertionError with the feedback
    when the answer is not right.
    """
    ex = get(key)
    try:
        if unanswered(answer):
            raise NotAnswered
        problem = ex.check(answer)
    except (NotAnswered, NotImplementedError):
        fb = Feedback(key, ex.title, "unanswered", f"not answered yet; exercises.hint({key!r}) gives a hint.")
    except Wrong as exc:
        fb = Feedback(key, ex.title, "wrong", str(exc))
    except Exception as exc:
        if not raised_by_answer(exc):  # the check itself failed on this answer: not the student's error
            if strict:
                raise
            fb = Feedback(key, ex.title, "wrong", f"this check could not use your answer ({type(exc).__name__}: "
                          f"{exc}); compare what you give with the exercise's description (exercises.hint({key!r})).")
        else:  # the student's code raised: say what, where it matters
            fb = Feedback(key, ex.title, "wrong", f"your answer raised {type(exc).__name__}: {exc}")
    else:
        fb = (Feedback(key, ex.title, "right", problem or "right.") if problem is None or isinstance(problem, Right)
              else Feedback(key, ex.title, "wrong", problem))
    if strict and not fb:
        raise AssertionError(str(fb))
    return fb


class Hint(str):
    """A hint: printed when it is given, so that it shows wherever the call stands in a cell."""

    def __repr__(self) -> str:
        return str(self)

    def _ipython_display_(self) -> None:  # already printed: a notebook shows it once, not twice
        pass


def hint(key: str) -> Hint:
    """Print (and return) the next hint for exercise `key`; the last one again once all were shown."""
    ex = get(key)
    if not ex.hints:
        text = Hint(f"Exercise {key} has no hints; reread the section above it.")
    else:
        i = min(ex.shown_hints, len(ex.hints) - 1)
        ex.shown_hints += 1
        text = Hint(f"Hint {i + 1} of {len(ex.hints)} for exercise {key}: {ex.hints[i]}")
    print(text)
    return text


ANSWER_RAISED = "_gamlab_raised_by_answer"  # set on an exception that came out of a student's code


def raised_by_answer(exc: BaseException) -> bool:
    """True when `exc` came out of the student's code (call), not out of the check's own comparison."""
    return getattr(exc, ANSWER_RAISED, False)


def call(fn, *args, **kwargs):
    """Call a student's function; NotAnswered when it is still the stub (returns None or ...).

    An exception out of the function is marked as the student's (raised_by_answer), so that
    check() says "your answer raised ..." only for those; a check may still catch it to explain.
    """
    if not callable(fn):
        raise Wrong(f"give a function (def ... return ...), not a {type(fn).__name__}.")
    try:
        out = fn(*args, **kwargs)
    except Exception as exc:
        try:
            setattr(exc, ANSWER_RAISED, True)
        except AttributeError:  # an exception type without attributes: wrap it
            raise RuntimeError(f"{type(exc).__name__}: {exc}") from exc
        raise
    if out is None or out is Ellipsis:
        raise NotAnswered
    return out


# Tolerances an answer's precision allows (torch.testing.assert_close's defaults): (rtol, atol).
PRECISION = {torch.float16: (1e-3, 1e-5), torch.bfloat16: (1.6e-2, 1e-5), torch.float32: (1.3e-6, 1e-5)}


def close(answer, reference, *, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    """torch.allclose(answer, reference) in float64, with at least the tolerance the lower of the two
    precisions allows: a right answer computed in float32 (or given as integers) is right.

    Both are read as tensors (numbers, numpy arrays too); shapes that do not broadcast are not close.
    """
    a, b = torch.as_tensor(answer), torch.as_tensor(reference)
    for t in (a, b):
        if t.dtype in PRECISION:
            rtol, atol = max(rtol, PRECISION[t.dtype][0]), max(atol, PRECISION[t.dtype][1])
    try:
        torch.broadcast_shapes(a.shape, b.shape)
    except RuntimeError:
        return False
    a, b = a.detach().to(torch.float64), b.detach().to(torch.float64)
    return bool(torch.allclose(a, b, rtol=rtol, atol=atol))


def as_whole(x, *, floats: bool = False) -> int | None:
    """x as an int when it is a whole number (a Python or numpy integer, a one-element integer tensor;
    with floats=True also a float with nothing after the point, 12.0), else None (bools, strings, 12.5)."""
    if isinstance(x, bool) or (isinstance(x, torch.Tensor) and x.dtype == torch.bool):
        return None
    if isinstance(x, torch.Tensor) and x.numel() == 1:
        x = x.item()
    if isinstance(x, numbers.Integral):
        return int(x)
    if floats and isinstance(x, numbers.Real) and float(x).is_integer():
        return int(x)
    return None


def as_number(x) -> float | None:
    """x as a float when it is one number (a Python or numpy number, a one-element tensor), else None."""
    if isinstance(x, bool):
        return None
    if isinstance(x, numbers.Real):
        return float(x)
    if isinstance(x, torch.Tensor) and x.numel() == 1:
        return float(x)
    if hasattr(x, "item") and getattr(x, "size", 0) == 1:  # numpy scalars and 1-element arrays
        return float(x.item())
    return None


def whole_number(answer, ask: str, *, floats: bool = False) -> int:
    """answer as an int (see as_whole); else Wrong(f"{ask}, not {answer!r}."), ask saying what to give."""
    value = as_whole(answer, floats=floats)
    if value is None:
        raise Wrong(f"{ask}, not {answer!r}.")
    return value


def one_number(answer, ask: str) -> float:
    """answer as a float (see as_number); else Wrong(f"{ask}, not {answer!r}."), ask saying what to give."""
    value = as_number(answer)
    if value is None:
        raise Wrong(f"{ask}, not {answer!r}.")
    return value
