"""The fair race: per-model learning rates, seeds with spread, the context gain, count tables."""

import json
import math

import pytest
from test_cli import gamlab

from gamlab import GamlabError
from gamlab.experiments.compare import aggregate, compare, reading, within_spread
from gamlab.experiments.runs import PRESETS, format_table, train_config
from gamlab.experiments.sweep import learning_rates, load_tuned, save_tuned, sweep


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


def rows(*pairs, n=3):
    return [{"model": m, "val_loss": v, "val_loss_std": s, "seeds": list(range(n))} for m, v, s in pairs]


def test_reading_says_when_a_gap_lies_within_the_spread():
    a, b, c = rows(("gam", 1.00, 0.05), ("transformer", 1.04, 0.05), ("mamba", 1.50, 0.05))
    assert within_spread(a, b) is True and within_spread(a, c) is False
    text = " ".join(reading([a, b, c], {6: 1.2}, reach=5))
    assert "gam vs transformer: the gap (0.040) lies within the spread" in text
    assert "transformer vs mamba: the gap (0.460) exceeds the spread" in text
    assert "its loss 1.000 is below the 6-gram count table of that window (1.200)" in text
    one = rows(("gam", 1.0, None), ("transformer", 2.0, None), n=1)
    assert within_spread(*one) is None and "one seed, so no spread was measured" in reading(one)[1]


def test_aggregate_means_and_sample_std_per_number():
    runs = [{"model": "gam", "params": 10, "steps": 4, "seed": s, "val_loss": v, "ppl": math.exp(v),
             "seconds": 1.0 + s, "cpu_seconds": 1.0, "s_per_epoch": None, "tokens_per_s": 5.0, "context_gain": 0.0}
            for s, v in ((0, 1.0), (1, 2.0), (2, 3.0))]
    row = aggregate(runs)
    assert row["val_loss"] == 2.0 and row["val_loss_std"] == 1.0 and row["seeds"] == [0, 1, 2]
    assert row["s_per_epoch"] is None and row["params"] == 10
    table = format_table([dict(row, lr=2e-3)], unigram=3.0, ngrams={6: 0.4, 7: 0.3}, reach=5)
    assert "2.000±1.000" in table and "2e-03" in table and "6-gram (R)" in table and "7-gram " in table


def test_learning_rates_come_from_the_flag_the_stored_sweep_or_the_preset(tmp_path):
    path = tmp_path / "tuned.json"
    save_tuned("tiny", {"lr": {"gam": 8e-3}, "steps": 240}, command="gamlab sweep --preset tiny", path=path)
    save_tuned("fast", {"lr": {"gam": 1e-2}}, command="gamlab sweep --fast", path=path)
    assert set(load_tuned(path)) == {"tiny", "fast"}  # one preset's sweep keeps the others'
    lrs = learning_rates("tiny", ["gam", "transformer"], default=2e-3, path=path)
    assert lrs == {"gam": (8e-3, "tuned: gamlab sweep --preset tiny"), "transformer": (2e-3, "preset, not tuned")}
    assert learning_rates("tiny", ["gam"], lr=1e-4, path=path) == {"gam": (1e-4, "--lr")}


def test_sweep_keeps_the_lowest_loss_and_survives_a_diverging_rate():
    preset = PRESETS["fast"]
    result = sweep(["gam"], preset, train_config(preset), grid=[3e-3, 1e4], steps=4, log=lambda line: None)
    table = result["val_loss"]["gam"]
    assert table["10000"] == [math.inf] or table["10000"][0] > table["0.003"][0]
    assert result["lr"] == {"gam": 3e-3} and result["at_edge"] == ["gam"] and result["steps"] == 4


@pytest.mark.parametrize("kwargs,words", [(dict(grid=[]), "grid must hold positive"),
                                          (dict(grid=[-1.0]), "grid must hold positive"),
                                          (dict(seeds=0), "--steps and --seeds must be positive")])
def test_sweep_mistakes_are_one_sentence(kwargs, words):
    preset = PRESETS["fast"]
    with pytest.raises(GamlabError, match=words):
        sweep(["gam"], preset, train_config(preset), **kwargs)


def test_compare_refuses_zero_seeds():
    with pytest.raises(GamlabError, match="--seeds must be a positive number"):
        compare(["gam"], PRESETS["fast"], train_config(PRESETS["fast"]), seeds=0)


def test_sweep_command_prints_the_grid_and_writes_sweep_json(tmp_path):
    r = gamlab("sweep", "--fast", "--models", "gam", "--grid", "2e-3,8e-3", "--sweep-steps", "3",
               "--no-progress", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    saved = json.loads((tmp_path / "sweep.json").read_text())
    assert saved["command"].startswith("gamlab sweep --fast --models gam --grid 0.002,0.008 --sweep-steps 3")
    assert saved["lr"]["gam"] in (2e-3, 8e-3) and "best" in r.stdout
    bad = gamlab("sweep", "--fast", "--grid", "abc", "--out", str(tmp_path))
    assert bad.returncode == 2 and "is not a comma-separated list of numbers" in bad.stderr


def test_lr_sweep_figure_draws_what_the_sweep_measured():
    from gamlab.inspection.plots import MODEL_COLORS, lr_sweep

    result = {"val_loss": {"gam": {"0.001": [1.0, 1.2], "0.002": [0.8], "0.004": [math.inf]},
                           "transformer": {"0.001": [2.0], "0.002": [1.5], "0.004": [1.4]}},
              "lr": {"gam": 0.002, "transformer": 0.004}, "steps": 240}
    fig = lr_sweep(result)
    gam, tr = fig.data
    assert list(gam.x) == [0.001, 0.002, 0.004] and gam.y[0] == pytest.approx(1.1)  # the mean over seeds
    assert list(gam.y[1:]) == [0.8, None]  # a gap for the diverged run
    assert gam.line.color == MODEL_COLORS["gam"] and tr.line.color == MODEL_COLORS["transformer"]
    assert list(gam.marker.symbol) == ["circle", "star", "circle"] and tr.marker.symbol[-1] == "star"
    assert fig.layout.xaxis.type == "log" and "240 steps" in fig.layout.title.text
