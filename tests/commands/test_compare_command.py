"""`gamlab compare --seeds` and `gamlab sweep` end to end, run as a user runs them (the library
behind them: tests/experiments/test_compare.py)."""

import json
import math

import pytest
from test_cli import gamlab  # the same folder: the command line in a subprocess


def test_compare_fast_seeds_2_reports_mean_std_lrs_and_context_gain(tmp_path):
    out = tmp_path / "cmp"
    r = gamlab("compare", "--fast", "--seeds", "2", "--no-progress", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "±" in r.stdout and "Gain>R=3" in r.stdout and "4-gram (R)" in r.stdout
    assert "learning rates: gam " in r.stdout and "Ranking by validation loss (2 seeds)" in r.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["command"] == "gamlab compare --fast --models gam,transformer,mamba --seeds 2"
    assert set(results["learning_rates"]) == {"gam", "transformer", "mamba"}
    assert all(v["lr"] > 0 and v["source"] for v in results["learning_rates"].values())
    for row in results["results"]:
        assert row["seeds"] == [0, 1] and row["val_loss_std"] is not None and row["val_loss_std"] >= 0
        assert row["lr"] == results["learning_rates"][row["model"]]["lr"]
        assert row["context_gain"] is not None and row["context_gain_std"] is not None
    for run in results["runs"]["gam"]:  # GAM cannot see beyond R: its gain is 0 in every seed
        assert run["context_gain"] == pytest.approx(0.0, abs=1e-6)
    losses = [run["val_loss"] for run in results["runs"]["transformer"]]
    assert losses[0] != losses[1]  # two seeds are two runs (init and batch order)
    row = next(r for r in results["results"] if r["model"] == "transformer")
    assert row["val_loss"] == pytest.approx(sum(losses) / 2)
    assert row["val_loss_std"] == pytest.approx(abs(losses[0] - losses[1]) / math.sqrt(2))
    assert set(results["ngram_val_loss"]) == {"4", "5", "6"} and results["reach"] == 3
    assert len(results["context_curves"]["gam"]) == 32  # one gain per lag of the fast preset's block
    assert results["reading"] and len(results["seed_histories"]["gam"]) == 2


def test_sweep_command_prints_the_grid_and_writes_sweep_json(tmp_path):
    r = gamlab("sweep", "--fast", "--models", "gam", "--grid", "2e-3,8e-3", "--sweep-steps", "3",
               "--no-progress", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    saved = json.loads((tmp_path / "sweep.json").read_text())
    assert saved["command"].startswith("gamlab sweep --fast --models gam --grid 0.002,0.008 --sweep-steps 3")
    assert saved["lr"]["gam"] in (2e-3, 8e-3) and "best" in r.stdout
    bad = gamlab("sweep", "--fast", "--grid", "abc", "--out", str(tmp_path))
    assert bad.returncode == 2 and "is not a comma-separated list of numbers" in bad.stderr
