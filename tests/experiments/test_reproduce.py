"""`gamlab reproduce` offline on small local WikiText-2 / TinyStories stand-ins, tiny models."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before `datasets` is imported: hub calls fail at once

import json
import math

import pytest

from gamlab.cli import main
from gamlab.experiments.paper import EXPERIMENTS, TABLE1, TABLE3
from gamlab.experiments.reproduce import format_rows
from gamlab.training.corpus import make_corpus

TINY = ["--set", "d_model=32", "--set", "n_layer=1", "--set", "n_head=2", "--set", "n_slots=16",
        "--set", "d_state=4", "--set", "block_size=32", "--set", "batch_size=4", "--set", "vocab_size=300",
        "--set", "eval_every=2", "--set", "eval_batches=2", "--device", "cpu", "--no-progress"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    stories = make_corpus(90, seed=4).split("\n\n")
    for name in ("wikitext2", "tinystories"):
        (root / name).mkdir()
        (root / name / "train.txt").write_text("\n".join(stories[:75]))
        (root / name / "validation.txt").write_text("\n".join(stories[75:]))
    return root


def test_paper_numbers_are_the_designs():
    assert TABLE1[("wikitext2", "gam")].ppl == 882.57 and TABLE1[("tinystories", "transformer")].s_per_epoch == 671.6
    assert TABLE3["gam-local-nogate"].ppl == 944.70 and TABLE3["gam-local-nogate"].params == 17.9e6
    assert math.isclose(TABLE3["gam"].val_loss, math.log(900.84))
    assert {(e.table, e.dataset) for e in EXPERIMENTS} == {(1, "wikitext2"), (1, "tinystories"), (3, "wikitext2")}


def test_table_1_and_3_side_by_side(folders, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "out"
    argv = ["reproduce", "--wikitext2", str(folders / "wikitext2"), "--tinystories", str(folders / "tinystories"),
            "--max-rows", "40", "--steps", "3", "--models", "gam,transformer-naive,mamba-bare,gam-local-nogate",
            "--out", str(out), *TINY]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "Table 1, WikiText-2" in text and "Table 1, TinyStories" in text and "Table 3, WikiText-2" in text
    results = json.loads((out / "results.json").read_text())
    rows = {(r["table"], r["dataset"], r["model"]): r for r in results["rows"]}
    assert set(rows) == {(1, "wikitext2", "gam"), (1, "wikitext2", "transformer-naive"),
                         (1, "wikitext2", "mamba-bare"), (1, "tinystories", "gam"),
                         (1, "tinystories", "transformer-naive"), (3, "wikitext2", "gam"),
                         (3, "wikitext2", "gam-local-nogate")}
    gam = rows[(1, "wikitext2", "gam")]
    assert gam["paper"]["ppl"] == 882.57 and gam["paper"]["params_m"] == pytest.approx(22.6)
    assert math.isclose(gam["ours"]["ppl"], math.exp(gam["ours"]["val_loss"]))
    assert gam["steps"] == 3 and gam["ours"]["s_per_epoch"] > 0
    # Table 3's full model is a run of its own (the paper trained it again), not Table 1's
    assert rows[(3, "wikitext2", "gam")]["run"] == "wikitext2-gam-table3" != gam["run"] == "wikitext2-gam"
    assert {r["recipe"] for r in results["rows"]} == {"careful"}
    assert results["data"]["careful"]["wikitext2"]["vocab_size"] <= 300 and results["device"] == "cpu"
    assert "cpu" in (out / "table.txt").read_text().splitlines()[0]  # the device is recorded
    # Running the same command again reuses the finished runs (resumed at their last step).
    assert main(argv) == 0
    again = json.loads((out / "results.json").read_text())
    assert [r["ours"]["val_loss"] for r in again["rows"]] == [r["ours"]["val_loss"] for r in results["rows"]]
    assert "resumed wikitext2-gam at step 3 of 3" in capsys.readouterr().out


def test_hub_offline_names_the_way_out(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "out"
    assert main(["reproduce", "--tables", "3", "--max-rows", "10", "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "WikiText-2" in err[0] and "--wikitext2 DIR" in err[0], err
    assert not out.exists()


def test_format_rows_shows_paper_ours_and_difference():
    row = {"table": 1, "dataset": "wikitext2", "model": "gam", "fair": False,
           "paper": {"params_m": 22.6, "s_per_epoch": 117.2, "val_loss": math.log(882.57), "ppl": 882.57},
           "ours": {"params_m": 22.6, "s_per_epoch": 100.0, "val_loss": math.log(800.0), "ppl": 800.0}}
    line = next(l for l in format_rows([row]).splitlines() if l.startswith("gam"))
    assert line.split()[1:4] == ["22.60", "22.60", "+0.00"]
    assert line.split()[4:7] == ["117.2", "100.0", "-17.2"]
    assert line.split()[-3:] == ["882.57", "800.00", "-82.57"]


def test_train_configs_layer_the_recipe_then_the_changes():
    from gamlab.experiments.reproduce import train_configs
    from gamlab.training.recipes import RECIPES

    tcs = train_configs([RECIPES["careful"], RECIPES["paper"]], {"min_lr_ratio": 0.5, "eval_every": 7, "seed": 3})
    assert list(tcs) == ["careful", "paper"] and [tc.recipe for tc in tcs.values()] == ["careful", "paper"]
    assert all(tc.min_lr_ratio == 0.5 and tc.checkpoint_every == 7 and tc.seed == 3 for tc in tcs.values())
    assert train_configs([RECIPES["paper"]], {}, checkpoint_every=5)["paper"].checkpoint_every == 5


def test_the_library_runs_without_a_command_line(folders, tmp_path, capsys):
    """gamlab.experiments.reproduce takes plain arguments: experiments, configs, folders; no argparse namespace."""
    import torch

    from gamlab.config import ModelConfig
    from gamlab.experiments.reproduce import check_machine, reproduce, train_configs
    from gamlab.training.recipes import RECIPES

    exps = [e for e in EXPERIMENTS if e.table == 1 and e.dataset == "wikitext2" and e.model == "gam"]
    mc = ModelConfig.preset("paper", d_model=32, n_layer=1, n_head=2, n_slots=16, block_size=32, vocab_size=300)
    tcs = train_configs([RECIPES["careful"]], {"steps": 2, "batch_size": 4, "eval_every": 2, "eval_batches": 2,
                                               "device": "cpu"})
    check_machine(exps, mc, tcs, torch.device("cpu"), tmp_path / "out")
    results = reproduce(exps, mc, tcs, torch.device("cpu"), {"wikitext2": folders / "wikitext2", "tinystories": None},
                        tmp_path / "out", max_rows=30, progress=False)
    assert [(r["run"], r["recipe"], r["steps"]) for r in results["rows"]] == [("wikitext2-gam", "careful", 2)]
    assert results["max_rows"] == 30 and "Table 1, WikiText-2, recipe careful" in capsys.readouterr().out
    assert json.loads((tmp_path / "out" / "results.json").read_text())["rows"] == results["rows"]
    assert (tmp_path / "out" / "runs" / "careful" / "wikitext2-gam" / "checkpoint.pt").is_file()
