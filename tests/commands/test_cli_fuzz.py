"""Property-based tests of the CLI: any combination of options either works or ends with one
clear line on stderr and a non-zero exit, never a traceback, never a partly written --out."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before `datasets` is imported: hub calls fail at once

import contextlib
import io
import itertools
import shutil
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gamlab.cli import main
from gamlab.training.corpus import make_corpus

TINY_SETS = ["d_model=16", "n_layer=1", "n_head=2", "n_slots=8", "d_state=2", "block_size=16", "batch_size=2",
             "vocab_size=120", "eval_every=1", "eval_batches=1"]
BAD_SETS = ["d_model=0", "d_model=abc", "n_head=3", "dropout=1.5", "lr=-1", "lr=nan", "batch_size=0",
            "fusion=bogus", "nosuchfield=1", "steps=5", "noequals", "scale_scores=maybe", "warmup_steps=x"]
ROOT = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"gamlab-fuzz-{os.getpid()}")
RUN = itertools.count()  # a fresh --out for every example


def folder() -> str:
    """A small local stand-in for both datasets (written once per test session)."""
    path = os.path.join(ROOT, "data")
    if not os.path.isdir(path):
        os.makedirs(path)
        stories = make_corpus(40, seed=1).split("\n\n")
        with open(os.path.join(path, "train.txt"), "w") as f:
            f.write("\n".join(stories[:32]))
        with open(os.path.join(path, "validation.txt"), "w") as f:
            f.write("\n".join(stories[32:]))
    return path


def call(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
    return code, err.getvalue()


def check(argv: list[str], out: str) -> int:
    code, err = call(argv)
    if code == 0:
        assert os.path.isfile(os.path.join(out, "results.json")), argv
    else:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "error:" in lines[0] and "Traceback" not in err, (argv, err)
        assert not os.path.exists(out), f"{argv} left {out} behind"
    shutil.rmtree(out, ignore_errors=True)
    return code


def optional(values, valid=()):
    """Absent or valid five times in six, else one of the invalid `values`: a fair share of the
    combinations (about a fifth) is valid and actually runs."""
    return st.integers(0, 5).flatmap(lambda k: st.sampled_from(values) if k == 0 else st.sampled_from([None, *valid]))

reproduce_options = st.fixed_dictionaries({
    "--tables": optional(["2", "x", "", "1,,3"], valid=["1", "3", "1,3"]),
    "--models": optional(["bogus", "", "mamba-bare"], valid=["gam", "gam-local", "transformer-naive", "gam,gam-sum"]),
    "--epochs": optional(["0", "-1", "abc", "inf"], valid=["0.01"]),
    "--steps": optional(["0", "-2", "2.5"], valid=["1"]),
    "--max-rows": optional(["0", "-5", "many"], valid=["20"]),
    "--device": optional(["bogus", "cuda", "cuda:9"], valid=["cpu", "auto"]),
    "--checkpoint-every": optional(["0"], valid=["1"]),
    "--wikitext2": optional(["missing", "file"]),
    "bad_sets": optional([[b] for b in BAD_SETS] + [BAD_SETS[:2]]),
    "--no-fair": st.booleans(),
})


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(options=reproduce_options)
def test_reproduce_options(options):
    data = folder()
    out = os.path.join(ROOT, f"out-{next(RUN)}")
    argv = ["reproduce", "--out", out, "--no-progress", "--tinystories", data]
    paths = {"data": data, "missing": os.path.join(ROOT, "missing"), "file": os.path.join(data, "train.txt")}
    for key, value in options.items():
        if key == "bad_sets":
            argv += [a for s in value or [] for a in ("--set", s)]
        elif key == "--wikitext2":
            argv += [key, paths[value or "data"]]
        elif key == "--no-fair":
            argv += [key] if value else []
        elif value is not None:
            argv += [key, value]
    if options["--models"] is None:
        argv += ["--models", "gam"]  # one model per table: the valid runs stay short
    if options["--steps"] is None:
        argv += ["--steps", "1"]  # keep the valid ones to a few steps
    argv += [a for s in TINY_SETS for a in ("--set", s)]
    event(f"exit {check(argv, out)}")


train_options = st.fixed_dictionaries({
    "--model": st.sampled_from(["gam", "bogus", "mamba", ""]),
    "--steps": optional(["0", "-1", "x"]),
    "--batch-size": optional(["0", "-4"]),
    "--lr": optional(["0", "-0.1", "nan?"]),
    "--checkpoint-every": optional(["0", "-3"]),
    "--dataset": optional(["/nonexistent/text.txt", "wikitext2"]),
    "--device": optional(["bogus", "cuda"]),
    "--preset": optional(["huge"]),
    "--resume": st.booleans(),
})


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(options=train_options)
def test_train_invalid_options(options):
    """Every generated combination is invalid somewhere (the model, a number, a path or --resume)."""
    out = os.path.join(ROOT, f"train-{next(RUN)}")
    argv = ["train", "--fast", "--no-progress", "--out", out]
    for key, value in options.items():
        if key == "--resume":
            argv += [key] if value else []
        elif value is not None:
            argv += [key, value]
    invalid = (options["--model"] != "gam" and options["--model"] != "mamba") or options["--resume"] or any(
        options[k] is not None for k in options if k not in ("--model", "--resume"))
    if not invalid:
        argv += ["--steps", "0"]
    assert check(argv, out) != 0


def test_subprocess_errors_are_one_line():
    """The same through a real process: exit code 2, one line, no traceback, nothing written."""
    out = os.path.join(ROOT, "sub")
    for argv in (["reproduce", "--tables", "2"], ["reproduce", "--epochs", "x"],
                 ["reproduce", "--set", "d_model=0"], ["train", "--model", "bogus", "--out", out]):
        r = subprocess.run([sys.executable, "-m", "gamlab", *argv, "--out", out], capture_output=True, text=True,
                           env=dict(os.environ, HF_HUB_OFFLINE="1"), timeout=120)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
        assert not os.path.exists(out)


# ---------------------------------------------------------------- every numeric option of every command

def numeric_options() -> list[tuple[str, str, object]]:
    """(command, option, argparse type) for every option of every command that takes a number."""
    from gamlab.cli import build_parser
    from gamlab.commands import common

    types = (common.count, common.positive, common.seed_value, common.thread_count)
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    found = []
    for command, parser in sub.choices.items():
        for action in parser._actions:
            assert action.type not in (int, float), (
                f"gamlab {command} {action.option_strings[0]} is parsed with a bare {action.type.__name__}: "
                "use a range-checked type of gamlab/commands/common.py")
            if action.type in types:
                found.append((command, action.option_strings[0], action.type))
    return found


NUMERIC = numeric_options()
REQUIRED = {"train": ["--model", "gam"]}  # what a command needs besides the option tried
BAD = {  # type name -> values every option of that type refuses (negative, zero, not finite, huge, not a number)
    "count": st.sampled_from(["-1", "0", "2.5", "nan", "inf", str(2**63), "1e3", "x"]) | st.integers(max_value=0).map(str)
             | st.integers(min_value=2**63).map(str),
    "positive": st.sampled_from(["-1", "0", "-0", "nan", "inf", "-inf", "1e400", "x"])
                | st.floats(max_value=0).map(repr) | st.integers(max_value=0).map(str),
    "seed_value": st.sampled_from(["-1", str(2**32), str(2**45), "nan", "1.5"]) | st.integers(max_value=-1).map(str)
                  | st.integers(min_value=2**32).map(str),
    "thread_count": st.sampled_from(["-3", "0", "nan", str(10**6)]) | st.integers(max_value=0).map(str),
}


def test_every_numeric_option_is_range_checked():
    """Every command has its numbers checked; the sweep below covers them all."""
    covered = {(c, o) for c, o, _ in NUMERIC}
    assert {("train", "--seed"), ("train", "--epochs"), ("train", "--stop-after"), ("bench", "--threads"),
            ("recall", "--seed"), ("reproduce", "--max-rows"), ("compare", "--seeds"), ("sweep", "--sweep-steps")} <= covered
    assert {c for c, _ in covered} == {"train", "compare", "sweep", "bench", "reproduce", "recall"}


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_numeric_options_refuse_bad_values_in_one_line(data):
    command, option, kind = data.draw(st.sampled_from(NUMERIC))
    value = data.draw(BAD[kind.__name__])
    out = os.path.join(ROOT, f"num-{next(RUN)}")
    code, err = call([command, *REQUIRED.get(command, []), "--out", out, f"{option}={value}"])
    event(f"{kind.__name__}")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (command, option, value, err)
    assert lines[0].startswith(f"gamlab {command}: error: argument {option}: must be "), lines
    assert "Traceback" not in err and not os.path.exists(out)


@pytest.mark.parametrize("command,option,kind", NUMERIC, ids=[f"{c}{o}" for c, o, _ in NUMERIC])
def test_numeric_options_take_their_boundary_values(command, option, kind):
    from gamlab.cli import build_parser

    edges = {"count": ["1", str(2**63 - 1)], "positive": ["1e-300", "1e300"], "seed_value": ["0", str(2**32 - 1)],
             "thread_count": ["1"]}[kind.__name__]
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    dest = next(a.dest for a in sub._actions if option in a.option_strings)  # bench's --batch: its old spelling
    for value in edges:
        args = parser.parse_args([command, *REQUIRED.get(command, []), "--out", "x", f"{option}={value}"])
        assert getattr(args, dest) == kind(value)


@pytest.mark.parametrize("argv,said", [
    (["recall", "--fast", "--lengths", str(2**63)], "ModelConfig.block_size must be below 2**31"),
    (["recall", "--fast", "--lengths", str(10**8)], "needs about"),
    (["reproduce", "--steps", "1", "--set", f"d_model={2**63}"], "ModelConfig.d_model must be below 2**31"),
    (["bench", "--blocks", "gam", "--lengths", "8", "--d-model", str(2**63 - 1), "--no-memory"],
     "ModelConfig.d_model must be below 2**31"),
])
def test_huge_sizes_in_other_options_get_one_line(argv, said):
    """Sizes that pass as numbers but no memory holds (the numeric sweep's neighbours): one line, not torch's trace."""
    out = os.path.join(ROOT, f"huge-{next(RUN)}")
    code, err = call([*argv, "--out", out])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and said in lines[0] and "Traceback" not in err, err
    assert not os.path.exists(out)


def test_a_bench_length_too_big_for_memory_is_an_oom_row():
    import torch

    from gamlab.experiments.bench import time_blocks
    from gamlab.experiments.peak_memory import _memory

    assert time_blocks(["gam"], 10**9, batch=8, d_model=128) == {"gam": {"ms": None, "oom": True}}
    assert _memory("gam", 10**9, 8, 128, 512, torch.device("cpu"), True, None) == {"peak_mb": None, "oom": True}
