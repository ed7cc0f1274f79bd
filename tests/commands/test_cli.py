"""The commands end to end, with a tiny budget (--fast), in subprocesses like a user runs them."""

import json
import os
import subprocess
import sys

import pytest

from gamlab.experiments.race_record import RaceResult

ENV = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")


def gamlab(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "gamlab", *args], capture_output=True, text=True,
                          env=ENV, timeout=timeout)


def test_compare_fast_prints_the_table_and_writes_results(tmp_path):
    out = tmp_path / "cmp"
    r = gamlab("compare", "--fast", "--no-progress", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "Params" in r.stdout and "Tokens/s" in r.stdout and "PPL" in r.stdout and "unigram" in r.stdout
    for name in ("gam", "transformer", "mamba"):
        assert f"\n{name} " in r.stdout and f"[{name}]" in r.stdout
    race = RaceResult.load(out / "results.json")
    rows = {row["model"]: row for row in race.rows()}
    assert set(rows) == {"gam", "transformer", "mamba"}
    params = [row["params"] for row in rows.values()]
    assert max(params) / min(params) < 1.1  # matched budget
    assert all(row["val_loss"] > 0 and row["tokens_per_s"] > 0 for row in rows.values())
    assert all(len(h) == 2 for h in race.histories().values())
    html = (out / "loss_curves.html").read_text()
    assert "plotly" in html.lower() and "gam validation" in html


def test_train_stop_and_resume_matches_an_uninterrupted_run(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    common = ["--model", "gam", "--fast", "--no-progress", "--steps", "12", "--checkpoint-every", "4"]
    assert gamlab("train", *common, "--out", str(a)).returncode == 0
    r = gamlab("train", *common, "--out", str(b), "--stop-after", "7")
    assert r.returncode == 0 and "last checkpoint is step 4" in r.stdout, r.stdout + r.stderr
    r = gamlab("train", *common, "--out", str(b), "--resume")
    assert r.returncode == 0 and "resumed gam" in r.stdout and "at step 4 of 12" in r.stdout, r.stderr
    key = lambda run: [(h["step"], h["train_loss"], h["val_loss"], h["lr"])  # noqa: E731
                       for h in json.loads((run / "history.json").read_text())]
    assert key(a) == key(b) and len(key(a)) == 2
    # The run folder rebuilds the model and its tokenizer.
    code = f"from gamlab.training.train import load_run\nm, t, h = load_run({str(b)!r})\nprint(m.name, t.kind, h[-1]['step'])"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert shown.stdout.split() == ["gam", "char", "12"], shown.stderr
    # Mistakes on an existing run folder: one sentence each.
    r = gamlab("train", *common, "--out", str(b))
    assert r.returncode == 2 and "add --resume" in r.stderr
    r = gamlab("train", "--model", "mamba", "--fast", "--out", str(b), "--resume")
    assert r.returncode == 2 and "holds model 'gam', not 'mamba'" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["compare", "--models", "gam,lstm"], "Unknown model 'lstm'"),
    (["compare", "--dataset", "no/such/file.txt"], "neither a known name"),
    (["compare", "--dataset", "wikitext2", "--fast"], "could not download WikiText-2"),
    (["compare", "--preset", "paper", "--batch-size", "1000000"], "use a smaller --preset or --batch-size"),
    (["compare", "--fast", "--steps", "0"], "argument --steps: must be a positive whole number (1 or more), got '0'"),
    (["train", "--model", "gpt", "--out", "x"], "Unknown model 'gpt'"),
    (["train", "--model", "gam", "--out", "never/trained", "--resume"], "no checkpoint at"),
])
def test_invalid_options_get_one_sentence(args, message, tmp_path):
    r = gamlab(*args, "--out", str(tmp_path / "o")) if "--out" not in args else gamlab(*args)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize("command", [["train", "--model", "gam", "--fast"], ["compare", "--fast"],
                                     ["bench", "--lengths", "8", "--blocks", "gam"], ["recall", "--fast"]])
def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, command, capsys):
    from gamlab.cli import main

    target = tmp_path / "results.txt"
    target.write_text("keep me")
    assert main([*command, "--out", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"gamlab {command[0]}: error: --out {str(target)!r} is a file; give a folder."]
    assert target.read_text() == "keep me"
