"""A resumed run is the run that was saved: every setting that defines it is compared, on every
resume path (gamlab train --resume, Trainer.resume, gamlab reproduce run again), and a
difference is refused in one sentence that names the setting, its saved value and the way out.
Only the run's length may change, and the checkpoint then records from which step it did."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import shutil

import pytest
import torch

from gamlab import ModelConfig, build_model
from gamlab.cli import main
from gamlab.errors import GamlabError
from gamlab.training.checkpoint import load_checkpoint
from gamlab.training.corpus import make_corpus
from gamlab.training.data import load_data
from gamlab.training.train import TrainConfig, Trainer, TrainingDiverged, run_meta

TRAIN = ["train", "--model", "gam", "--fast", "--no-progress", "--steps", "12", "--checkpoint-every", "5"]


def one_error_line(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """A --fast run of 12 steps stopped after step 5 (its last checkpoint)."""
    out = tmp_path_factory.mktemp("stopped")
    assert main([*TRAIN, "--out", str(out), "--stop-after", "5"]) == 0
    assert load_checkpoint(out)["step"] == 5
    return out


@pytest.mark.parametrize("change, message", [
    (["--lr", "0.5"], "different lr (0.002, not 0.5)"),
    (["--batch-size", "4"], "different batch size (8, not 4)"),
    (["--seed", "7"], "different seed (0, not 7)"),
    (["--tokenizer", "bpe"], "different tokenizer (a char tokenizer, not a bpe one)"),
])
def test_cli_resume_refuses_every_setting_that_defines_the_run(stopped, change, message, capsys):
    before = (stopped / "checkpoint.pt").read_bytes()
    line = one_error_line([*TRAIN, "--out", str(stopped), "--resume", *change], capsys)
    assert message in line and change[0] in line and "another --out folder" in line, line
    assert (stopped / "checkpoint.pt").read_bytes() == before  # a refusal never touches the checkpoint


def test_cli_resume_refuses_the_same_file_name_with_other_content(tmp_path, capsys):
    text = tmp_path / "stories.txt"
    stories = make_corpus(60, seed=3)
    text.write_text(stories)
    argv = [*TRAIN, "--dataset", str(text), "--out", str(tmp_path / "run")]
    assert main([*argv, "--stop-after", "5"]) == 0
    text.write_text(stories.replace("Mia", "Tom"))  # same name and characters, other text
    assert "other text (the dataset has the same name but different content)" in one_error_line(
        [*argv, "--resume"], capsys)


def test_cli_resume_may_lengthen_the_run_and_records_it(stopped, tmp_path, capsys):
    out = tmp_path / "longer"
    shutil.copytree(stopped, out)
    assert main([*TRAIN, "--out", str(out), "--resume", "--steps", "20"]) == 0
    state = load_checkpoint(out)
    assert state["step"] == 20 and state["train_config"]["steps"] == 20
    assert state["resumes"] == [{"step": 5, "changed": {"steps": [12, 20]}}]  # what ran, from which step


@pytest.fixture(scope="module")
def data():
    return load_data(n_stories=60, block_size=16, batch_size=4)


def _trainer(data, out, **changes):
    model = build_model("gam", ModelConfig.preset("tiny", vocab_size=data.vocab_size, block_size=16, d_model=32))
    settings = dict(steps=6, eval_every=3, eval_batches=1, batch_size=data.batch_size)
    tc = TrainConfig.preset("tiny", **{**settings, **changes})
    return Trainer(model, tc, data.get_batch, out=out, progress=False, meta=run_meta(model, data))


@pytest.mark.parametrize("field, value", [("lr", 0.5), ("weight_decay", 0.0), ("warmup_steps", 3), ("grad_clip", 0.5),
                                          ("seed", 7), ("betas", (0.9, 0.99)), ("eval_every", 2)])
def test_trainer_resume_refuses_any_other_training_setting(data, tmp_path, field, value):
    _trainer(data, tmp_path, checkpoint_every=3).fit(3)
    with pytest.raises(GamlabError, match=f"different {field.replace('_', ' ')} ") as info:
        _trainer(data, tmp_path, **{field: value}).resume()
    assert "\n" not in str(info.value)


def test_trainer_resume_with_a_new_device_or_checkpoint_interval_is_the_same_run(data, tmp_path):
    _trainer(data, tmp_path, checkpoint_every=3).fit(3)
    again = _trainer(data, tmp_path, device="cpu", checkpoint_every=1)
    assert again.resume() == 3
    again.fit()
    assert load_checkpoint(tmp_path)["resumes"] == [{"step": 3, "changed": {"checkpoint_every": [3, 1],
                                                                             "device": ["auto", "cpu"]}}]


def test_a_refused_lr_never_reaches_the_checkpoint(data, tmp_path):
    """The bug this replaces: --lr 0.5 on resume trained at the old rate and saved lr = 0.5."""
    _trainer(data, tmp_path, checkpoint_every=3).fit(3)
    with pytest.raises(GamlabError):
        _trainer(data, tmp_path, lr=0.5).resume()
    assert load_checkpoint(tmp_path)["train_config"]["lr"] == 0.002


def test_divergence_advice_is_one_a_user_can_follow(data, tmp_path):
    trainer = _trainer(data, tmp_path, checkpoint_every=2)
    trainer.fit(2)
    with torch.no_grad():
        trainer.model.norm_f.weight.fill_(float("nan"))
    with pytest.raises(TrainingDiverged) as info:
        trainer.fit()
    message = str(info.value)
    assert "resuming it would repeat the same steps" in message and "fresh --out folder" in message
    assert "lower learning rate" in message and "\n" not in message


def test_reproduce_run_again_with_another_setting_is_refused(tmp_path, capsys, paper_text_folder):
    root = paper_text_folder
    argv = ["reproduce", "--wikitext2", str(root), "--tinystories", str(root), "--tables", "1", "--models", "gam", "--no-fair",
            "--max-rows", "40", "--steps", "2", "--out", str(tmp_path / "out"), "--device", "cpu", "--no-progress",
            "--set", "d_model=16", "--set", "n_layer=1", "--set", "n_slots=8", "--set", "block_size=16",
            "--set", "batch_size=4", "--set", "vocab_size=120", "--set", "eval_every=2", "--set", "eval_batches=1"]
    assert main(argv) == 0
    capsys.readouterr()
    line = one_error_line([*argv, "--seed", "3"], capsys)
    assert "different seed (0, not 3)" in line


def test_a_mamba_run_saved_with_the_old_chunked_scan_name_resumes(tmp_path, capsys):
    """Runs saved before the chunked scan became Mamba's optimized form say mamba_scan="chunked";
    it is the same function, so such a run resumes as the same run instead of being refused."""
    out = tmp_path / "old"
    args = ["train", "--model", "mamba", "--fast", "--no-progress", "--steps", "6", "--checkpoint-every", "3"]
    assert main([*args, "--out", str(out), "--stop-after", "3"]) == 0
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["model_config"]["mamba_scan"] == "sequential"
    state["model_config"]["mamba_scan"] = "chunked"  # as an older gamlab wrote it
    torch.save(state, out / "checkpoint.pt")
    assert load_checkpoint(out)["model_config"]["mamba_scan"] == "sequential"
    assert ModelConfig.from_dict({"mamba_scan": "chunked"}).mamba_scan == "sequential"
    assert main([*args, "--out", str(out), "--resume"]) == 0, capsys.readouterr().err
    assert load_checkpoint(out)["step"] == 6
