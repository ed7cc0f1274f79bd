"""--precision on the commands (issue 23): fp16 with loss scaling trains every model on the CPU,
close to fp32, and is recorded (checkpoints, results.json, sweep.json, bench.json); a resume
in another precision and an unknown precision are refused in one sentence."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before `datasets` is imported: hub calls fail at once

import json

import pytest
import torch

from gamlab.cli import main
from gamlab.experiments.race_record import RaceResult
from gamlab.model import list_models
from gamlab.training.checkpoint import load_checkpoint


def one_error_line(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def train(out, *options) -> list[dict]:
    assert main(["train", "--fast", "--no-progress", "--out", str(out), *options]) == 0
    return json.loads((out / "history.json").read_text())


@pytest.mark.parametrize("name", list(list_models()))
def test_fp16_trains_every_model_with_loss_scaling_close_to_fp32_and_records_it(name, tmp_path, capsys):
    fp32 = train(tmp_path / "fp32", "--model", name, "--precision", "fp32")
    fp16 = train(tmp_path / "fp16", "--model", name, "--precision", "fp16")
    out = capsys.readouterr().out
    assert "| precision fp32 |" in out and "| precision fp16 (loss scaling) |" in out
    assert [h["step"] for h in fp16] == [h["step"] for h in fp32]
    for key in ("train_loss", "val_loss"):  # the fast preset: 12 steps from about 3.9
        assert abs(fp16[-1][key] - fp32[-1][key]) < 0.03, (key, fp16[-1], fp32[-1])
    saved = load_checkpoint(tmp_path / "fp16")
    assert saved["train_config"]["precision"] == "fp16" and saved["scaler"]["scale"] == 2.0 ** 16
    assert load_checkpoint(tmp_path / "fp32")["scaler"] == {}


def test_an_fp16_run_stopped_and_resumed_ends_as_an_uninterrupted_one(tmp_path, capsys):
    common = ["--model", "mamba", "--precision", "fp16", "--steps", "12", "--checkpoint-every", "4"]
    whole = train(tmp_path / "a", *common)
    assert main(["train", "--fast", "--no-progress", "--out", str(tmp_path / "b"), *common, "--stop-after", "7"]) == 0
    resumed = train(tmp_path / "b", *common, "--resume")
    assert "at step 4 of 12" in capsys.readouterr().out
    assert resumed == [dict(h, elapsed=r["elapsed"], tokens_per_s=r["tokens_per_s"]) for h, r in zip(whole, resumed)]
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    assert a["scaler"] == b["scaler"] and all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_a_resume_in_another_precision_is_refused_and_auto_is_the_precision_that_ran(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["train", "--model", "gam", "--fast", "--no-progress", "--out", str(out), "--checkpoint-every", "4"]
    assert main([*common, "--stop-after", "5"]) == 0  # auto: fp32 on a CPU, recorded as fp32
    assert load_checkpoint(out)["train_config"]["precision"] == "fp32"
    line = one_error_line([*common, "--resume", "--precision", "fp16"], capsys)
    assert "was written for a different precision ('fp32', not 'fp16'); a resumed run keeps the settings" in line
    assert "(--precision, or the same field in code)" in line
    assert main([*common, "--resume", "--precision", "fp32"]) == 0  # the same dtype: it continues


@pytest.mark.parametrize("command", [
    ["train", "--model", "gam", "--fast", "--out", "never/written"],
    ["compare", "--fast", "--out", "never/written"],
    ["sweep", "--fast", "--out", "never/written"],
    ["reproduce", "--out", "never/written"],
    ["recall", "--fast", "--out", "never/written"],
])
def test_every_training_command_refuses_an_unknown_precision_in_one_sentence(command, capsys):
    line = one_error_line([*command, "--precision", "half"], capsys)
    assert line.endswith("error: Unknown precision 'half'; choose auto, bf16, fp16 or fp32.")
    assert not os.path.exists("never")


def test_compare_records_the_precision_in_results_json(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "--fast", "--no-progress", "--no-context", "--models", "gam,mamba",
                 "--precision", "fp16", "--out", str(out)]) == 0
    regime = RaceResult.load(out / "results.json").regime  # one precision for the whole race
    assert regime.precision == "fp16" and regime.train_config.precision == "fp16"
    assert "| precision fp16 (loss scaling) |" in regime.describe
    assert regime.command.endswith("--precision fp16")
    auto = tmp_path / "auto"  # "auto" is recorded as what ran: fp32 on this CPU
    assert main(["compare", "--fast", "--no-progress", "--no-context", "--models", "gam", "--out", str(auto)]) == 0
    assert RaceResult.load(auto / "results.json").regime.precision == "fp32"


def test_sweep_recall_and_bench_record_the_precision(tmp_path, capsys):
    assert main(["sweep", "--fast", "--no-progress", "--models", "gam", "--grid", "2e-3", "--precision", "fp16",
                 "--out", str(tmp_path / "sweep")]) == 0
    sweep = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert sweep["precision"] == "fp16" and "--precision fp16" in sweep["command"]
    assert main(["recall", "--fast", "--models", "gam", "--precision", "fp16", "--out", str(tmp_path / "recall")]) == 0
    recall = json.loads((tmp_path / "recall" / "results.json").read_text())
    assert recall["precision"] == "fp16" and recall["grid"]["precision"] == "fp16"
    assert main(["bench", "--blocks", "gam", "--lengths", "16", "--batch-size", "1", "--d-model", "16", "--slots", "8",
                 "--repeats", "1", "--no-memory", "--out", str(tmp_path / "bench")]) == 0
    assert json.loads((tmp_path / "bench" / "bench.json").read_text())["precision"] == "fp32"  # the CPU's policy
    out = capsys.readouterr().out
    assert "| precision fp16 (loss scaling) |" in out and "precision fp16:" in out  # sweep's and recall's


def test_reproduce_trains_in_the_precision_asked_and_refuses_another_on_the_next_run(tmp_path, capsys,
                                                                                     paper_text_folder):
    folder = paper_text_folder
    tiny = ["--set", "d_model=32", "--set", "n_layer=1", "--set", "n_head=2", "--set", "n_slots=16",
            "--set", "d_state=4", "--set", "block_size=32", "--set", "batch_size=4", "--set", "vocab_size=300",
            "--set", "eval_every=2", "--set", "eval_batches=2", "--device", "cpu", "--no-progress"]
    argv = ["reproduce", "--tables", "3", "--models", "gam", "--no-fair", "--wikitext2", str(folder),
            "--max-rows", "40", "--steps", "2", "--out", str(tmp_path / "out"), *tiny]
    assert main([*argv, "--precision", "fp16"]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["precision"] == "fp16" and results["train_config"]["careful"]["precision"] == "fp16"
    saved = load_checkpoint(tmp_path / "out" / "runs" / "careful" / "wikitext2-gam-table3")
    assert saved["train_config"]["precision"] == "fp16"
    line = one_error_line([*argv, "--precision", "fp32"], capsys)
    assert "a different precision ('fp16', not 'fp32')" in line
    line = one_error_line([*argv, "--set", "precision=fp16"], capsys)  # it has its own option
    assert "precision" in line.split("(not ")[1] and "those have their own options" in line
