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
