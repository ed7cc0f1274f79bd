"""Lesson 07's exercises, checked both ways: the solution passes, a typical wrong answer gets its message."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import torch

from gamlab import exercises

KEYS = ("7.1", "7.2", "7.3")
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "{}" / "07_beyond_the_paper.ipynb"
ANSWERS = {"7.1": "gam_accuracy", "7.2": "fast_weight_loop", "7.3": "causal_read_weights"}


# ---- solutions (the same as tools/lessons/07_beyond_the_paper.py's) -------------------------

def fast_weight_loop(q, k, v):
    B, nh, T, hs = q.shape
    state, z, out = q.new_zeros(B, nh, hs, hs), q.new_zeros(B, nh, hs), []
    for t in range(T):
        state = state + k[:, :, t, :, None] * v[:, :, t, None, :]  # write phi(k_t) v_t^T
        z = z + k[:, :, t]
        num = (q[:, :, t, None, :] @ state).squeeze(-2)  # (B, nh, hs)
        out.append(num / (q[:, :, t] * z).sum(-1, keepdim=True))
    return torch.stack(out, dim=2)


def causal_read_weights(q, k):
    a = (q @ k.transpose(-2, -1)).tril()  # (B, nh, T, T): s <= t only
    return a / a.sum(-1, keepdim=True)


# ---- both ways --------------------------------------------------------------------------------

@pytest.mark.parametrize("key, answer", [("7.1", 1 / 31), ("7.1", 0.03), ("7.2", fast_weight_loop),
                                         ("7.3", causal_read_weights)])
def test_solution_passes(key, answer):
    assert exercises.check(key, answer, strict=True)


STUBS = [("7.1", ...), ("7.1", None)] + [(key, stub) for key in ("7.2", "7.3")
                                          for stub in (..., None, lambda *args: None, lambda *args: ...)]


@pytest.mark.parametrize("key, stub", STUBS)
def test_stub_is_unanswered_and_never_raises(key, stub):
    fb = exercises.check(key, stub)
    assert fb.status == "unanswered" and "not answered yet" in fb.message and f'hint({key!r})' in fb.message


@pytest.mark.parametrize("key", ["7.2", "7.3"])
def test_a_function_that_raises_is_wrong_with_the_error_named(key):
    def broken(*args):
        raise RuntimeError("shapes do not match")

    fb = exercises.check(key, broken)
    assert fb.status == "wrong" and "RuntimeError: shapes do not match" in fb.message
    with pytest.raises(AssertionError, match="RuntimeError"):
        exercises.check(key, broken, strict=True)


# ---- 7.1 -------------------------------------------------------------------------------------

WRONG_71 = [
    (1.0, "more training cannot help"),
    (0.95, "exactly zero (section 2)"),
    (0.25, "1 / pairs is the plateau"),
    (0.0, "a blind guess is right once in 31"),
    (1 / 64, "there are 31 of them"),
    (3.2, "not a percentage: 3.2% is 0.032"),
    (0.5, "its last 5 tokens"),
    (-1, "between 0 and 1"),
    ("0.03", "give a fraction of the queries"),
    (True, "give a fraction of the queries"),
]


def test_7_1_answer_is_what_a_trained_gam_gets():
    """The prediction holds: the tiny GAM beyond its reach is at chance, which the check's answer is."""
    from gamlab.exercises.lesson07 import N_VALUES_71, REACH_71, TASK_71

    assert N_VALUES_71 == 31 and REACH_71 == 5
    x, y = TASK_71.sample(64, generator=0)
    q = (y != -100).nonzero()
    value_pos = [(x[b, : 2 * TASK_71.n_pairs:2] == x[b, t]).nonzero().item() * 2 + 1 for b, t in q.tolist()]
    gaps = q[:, 1] - torch.tensor(value_pos)
    assert int(gaps.min()) >= REACH_71  # every value lies beyond the convolution stack's reach


# ---- 7.2 -------------------------------------------------------------------------------------

def _loop(read_future=False, skip_self=False, normalise=True, transposed=False, phi_again=False):
    from gamlab.blocks.fastweight import feature_map

    def fn(q, k, v):
        B, nh, T, hs = q.shape
        if phi_again:
            q, k = feature_map(q), feature_map(k)
        out = []
        for t in range(T):
            s = slice(0, T) if read_future else slice(0, t) if skip_self else slice(0, t + 1)
            ks, vs = k[:, :, s], v[:, :, s]  # (B, nh, n, hs)
            state = (vs.transpose(-2, -1) @ ks) if transposed else (ks.transpose(-2, -1) @ vs)
            num = (q[:, :, t, None, :] @ state).squeeze(-2)
            den = (q[:, :, t] * ks.sum(2)).sum(-1, keepdim=True) + 1e-9
            out.append(num / den if normalise else num)
        return torch.stack(out, dim=2)
    return fn


WRONG_72 = [  # (what _loop gets wrong, what the feedback says)
    ({"read_future": True}, "in your memory, query 0 reads token 1 (the future)"),
    ({"skip_self": True}, "in your memory, query 0 does not read token 0 itself"),
    ({"normalise": False}, "you did not divide by phi(q_t) . z_t"),
    ({"transposed": True}, "your state is transposed"),
    ({"phi_again": True}, "do not apply phi again"),
]


def test_7_2_the_variants_builder_is_right_when_nothing_is_wrong():
    assert exercises.check("7.2", _loop(), strict=True)


def test_7_2_wrong_shape_and_type(wrong):
    assert "returned shape (1, 2, 4, 10)" in wrong("7.2", lambda q, k, v: fast_weight_loop(q, k, v).transpose(2, 3))
    assert "returned a list" in wrong("7.2", lambda q, k, v: [1, 2])


# ---- 7.3 -------------------------------------------------------------------------------------

def _weights(mask="tril", normalise=True, softmax=False, phi_again=False):
    from gamlab.blocks.fastweight import feature_map

    def fn(q, k):
        if phi_again:
            q, k = feature_map(q), feature_map(k)
        scores = q @ k.transpose(-2, -1)
        if softmax:
            T = q.size(2)
            causal = torch.ones(T, T, dtype=torch.bool).tril()
            return scores.masked_fill(~causal, float("-inf")).softmax(-1)
        a = {"tril": scores.tril(), "strict": scores.tril(-1), "none": scores, "triu": scores.triu()}[mask]
        return a / a.sum(-1, keepdim=True).clamp_min(1e-9) if normalise else a
    return fn


WRONG_73 = [  # (what _weights gets wrong, what the feedback says)
    ({"mask": "none"}, "in your read weights, query 0 reads token 1 (the future)"),
    ({"mask": "triu"}, "Zero the weights above the diagonal"),
    ({"mask": "strict"}, "query 0 does not read token 0 itself"),
    ({"mask": "strict"}, "not torch.tril(a, -1)"),
    ({"normalise": False}, "sum to"),
    ({"normalise": False}, "not 1: divide each row by its sum"),
    ({"softmax": True}, "these are softmax weights"),
    ({"phi_again": True}, "do not apply phi again"),
]


def test_7_3_shape(wrong):
    assert "expected (B, nh, T, T) = (1, 2, 10, 10)" in wrong("7.3", lambda q, k: q @ k.transpose(-2, -1)[..., :4])


WRONG = {"7.1": WRONG_71, "7.2": [(_loop(**kwargs), says) for kwargs, says in WRONG_72],
         "7.3": [(_weights(**kwargs), says) for kwargs, says in WRONG_73]}


def test_wrong_answers_are_explained(key, answer, says, wrong):  # one case per row of WRONG (conftest.py)
    assert says in wrong(key, answer)


# ---- the built notebooks ------------------------------------------------------------------------

def exercise_cells(variant: str) -> list[str]:
    nb = nbformat.read(str(NOTEBOOK).format(variant), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and "exercises.check(" in c.source]


@pytest.mark.parametrize("variant, status", [("solutions", "right"), (".", "unanswered")])
def test_notebook_exercise_cells(variant, status):
    """The instructor notebook's cells solve every exercise (strict checks); the student's run unsolved."""
    cells = exercise_cells(variant)
    assert [key for key in KEYS if any(f'exercises.check("{key}"' in c for c in cells)] == list(KEYS)
    namespace = {"torch": torch}
    for source in cells:
        exec(compile(source, f"<{variant} exercise cell>", "exec"), namespace)
    for key, name in ANSWERS.items():
        assert exercises.check(key, namespace[name]).status == status


# ---- lesson 07's recall grid on a CPU: the saved run it loads ----------------------------------

def test_saved_recall_results_are_the_default_grid_and_show_the_lesson_claims():
    """gamlab/experiments/recall_results.json is `gamlab recall` on the default grid, and says what the lesson says."""
    from dataclasses import asdict

    from gamlab.experiments.recall import SAVED, RecallGrid, format_table, saved_results

    if not SAVED.exists():
        pytest.skip(f"{SAVED.name} not made yet: `gamlab recall --out runs/recall`, then copy runs/recall/results.json")
    results = saved_results()
    default = asdict(RecallGrid())
    assert {k: v for k, v in results["grid"].items() if k != "device"} == {
        k: list(v) if isinstance(v, tuple) else v for k, v in default.items() if k != "device"}
    acc = {name: torch.tensor(per_len) for name, per_len in results["accuracy"].items()}  # (lengths, pairs)
    assert set(acc) == {"gam", "transformer", "mamba", "gam-fw"} and acc["gam"].shape == (1, 3)
    assert torch.all(acc["gam"] < 3 * results["chance"]) and torch.all(acc["transformer"] > 0.95)
    assert torch.all(acc["gam-fw"] > 5 * results["chance"])
    assert "| transformer |" in format_table(results)
    assert SAVED.name in (Path(__file__).resolve().parents[2] / "tools" / "lessons" /
                          "07_beyond_the_paper.py").read_text(encoding="utf-8")
