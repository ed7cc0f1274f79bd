"""`gamlab compare --seeds` and `gamlab sweep` end to end, run as a user runs them (the library
behind them: tests/experiments/test_compare.py)."""

import json
import math

import pytest
from test_cli import gamlab  # the same folder: the command line in a subprocess

from gamlab.blocks.conv import receptive_field
from gamlab.experiments.race_record import RaceResult
from gamlab.experiments.runs import PRESETS


def test_compare_fast_seeds_2_reports_mean_std_lrs_and_context_gain(tmp_path):
    out = tmp_path / "cmp"
    r = gamlab("compare", "--fast", "--seeds", "2", "--no-progress", "--out", str(out))
    assert r.returncode == 0, r.stderr
    R = receptive_field(PRESETS["fast"].model.n_layer, PRESETS["fast"].model.conv_kernel)  # GAM's reach
    assert "±" in r.stdout and f"Gain>R={R}" in r.stdout and f"{R + 1}-gram (R)" in r.stdout
    assert "learning rates: gam " in r.stdout and "Ranking by validation loss (2 seeds)" in r.stdout
    race = RaceResult.load(out / "results.json")  # the typed record (gamlab.experiments.race_record)
    assert race.regime.command == "gamlab compare --fast --models gam,transformer,mamba --seeds 2"
    assert [m.name for m in race.models] == ["gam", "transformer", "mamba"]
    assert all(m.lr > 0 and m.lr_source for m in race.models)
    for m, row in zip(race.models, race.rows()):
        assert row["seeds"] == [0, 1] and row["val_loss_std"] is not None and row["val_loss_std"] >= 0
        assert row["lr"] == m.lr
        assert row["context_gain"] is not None and row["context_gain_std"] is not None
    for run in race.model("gam").runs:  # GAM cannot see beyond R: its gain is 0 in every seed
        assert run.context_gain == pytest.approx(0.0, abs=1e-6)
    losses = [run.val_loss for run in race.model("transformer").runs]
    assert losses[0] != losses[1]  # two seeds are two runs (init and batch order)
    row = race.model("transformer").row()
    assert row["val_loss"] == pytest.approx(sum(losses) / 2)
    assert row["val_loss_std"] == pytest.approx(abs(losses[0] - losses[1]) / math.sqrt(2))
    assert set(race.ngrams) == {R + 1, R + 2, R + 3} and race.reach == R
    assert len(race.model("gam").context_curve) == 32  # one gain per lag of the fast preset's block
    assert race.reading and len(race.model("gam").runs) == 2
    assert race.regime.seeds == [0, 1] and race.regime.steps == 12 and race.regime.preset == "fast"
    saved = json.loads((out / "results.json").read_text())  # for other readers: the table's rows are in the file
    assert [r["val_loss"] for r in saved["rows"]] == [r["val_loss"] for r in race.rows()]


def test_sweep_command_prints_the_grid_and_writes_sweep_json(tmp_path):
    r = gamlab("sweep", "--fast", "--models", "gam", "--grid", "2e-3,8e-3", "--sweep-steps", "3",
               "--no-progress", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    saved = json.loads((tmp_path / "sweep.json").read_text())
    assert saved["command"].startswith("gamlab sweep --fast --models gam --grid 0.002,0.008 --sweep-steps 3")
    assert saved["lr"]["gam"] in (2e-3, 8e-3) and "best" in r.stdout
    bad = gamlab("sweep", "--fast", "--grid", "abc", "--out", str(tmp_path))
    assert bad.returncode == 2 and "is not a comma-separated list of numbers" in bad.stderr
