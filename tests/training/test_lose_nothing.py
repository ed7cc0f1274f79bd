"""Runs that lose nothing: SIGKILL at random moments then resume continues exactly; SIGTERM
saves and exits with 143; truncated, corrupt, foreign and mismatched checkpoints are refused."""

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gamlab import ModelConfig, build_model
from gamlab.cli import main
from gamlab.errors import GamlabError
from gamlab.training.checkpoint import load_checkpoint, save_checkpoint
from gamlab.training.data import load_data
from gamlab.training.train import TrainConfig, Trainer

STEPS = "300"  # long enough (a second or more) that the signals land inside training
TRAIN = ["train", "--model", "gam", "--fast", "--steps", STEPS, "--device", "cpu", "--no-progress", "--seed", "5"]
ENV = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")


def start(out: Path, *extra) -> subprocess.Popen:
    resume = ["--resume"] if (out / "checkpoint.pt").is_file() else []
    return subprocess.Popen([sys.executable, "-m", "gamlab", *TRAIN, "--out", str(out), *resume, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def wait_for_training(proc: subprocess.Popen) -> None:
    """Read stdout until the run announces training (data loaded, model built)."""
    for line in proc.stdout:
        if line.startswith("training gam"):
            return


def key(out: Path):
    history = json.loads((out / "history.json").read_text())
    return [(h["step"], h["train_loss"], h["val_loss"], h["lr"]) for h in history]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    proc = start(out, "--checkpoint-every", "1")
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    return out


def test_sigkill_at_random_moments_then_resume_continues_exactly(reference, tmp_path):
    rng = random.Random(8)
    out, kills, steps_seen = tmp_path / "run", 0, []
    while kills < 3:
        proc = start(out, "--checkpoint-every", "1")
        wait_for_training(proc)
        time.sleep(rng.uniform(0.0, 1.0))  # somewhere in training, often in a checkpoint write
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        if proc.returncode == 0:  # finished before the kill: nothing left to interrupt
            break
        kills += 1
        if (out / "checkpoint.pt").is_file():
            steps_seen.append(load_checkpoint(out)["step"])  # always loads: the last good checkpoint
    proc = start(out, "--checkpoint-every", "1")
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert kills >= 1 and steps_seen == sorted(steps_seen)
    assert key(out) == key(reference)
    a, b = load_checkpoint(reference)["model"], load_checkpoint(out)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_sigterm_saves_a_checkpoint_and_exits_143(reference, tmp_path):
    out = tmp_path / "run"
    proc = start(out)  # no --checkpoint-every: only SIGTERM (or the end) writes one
    wait_for_training(proc)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    err = proc.stderr.read().strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gamlab train: stopped by SIGTERM after step"), err
    step = load_checkpoint(out)["step"]
    assert f"after step {step} of {STEPS}" in err[0] and "continue with --resume" in err[0]
    proc = start(out)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert key(out) == key(reference)


def test_ctrl_c_saves_at_a_step_boundary_and_exits_130(reference, tmp_path):
    """Ctrl-C (SIGINT) ends the run at the next step boundary with its checkpoint; --resume continues exactly."""
    out = tmp_path / "run"
    proc = start(out)  # no --checkpoint-every: only the interrupt (or the end) writes one
    wait_for_training(proc)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    err = proc.stderr.read().strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gamlab train: interrupted: stopped after step"), err
    assert f"after step {load_checkpoint(out)['step']} of {STEPS}" in err[0]
    proc = start(out)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert key(out) == key(reference)


# ---------------------------------------------------------------- refused checkpoints (in-process)

def one_error_line(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_truncated_corrupt_and_foreign_files_are_refused(reference, tmp_path, capsys):
    good = (reference / "checkpoint.pt").read_bytes()
    argv = [*TRAIN, "--out", str(tmp_path), "--resume"]
    (tmp_path / "checkpoint.pt").write_bytes(good[: len(good) // 2])
    assert "truncated or corrupt" in one_error_line(argv, capsys)
    (tmp_path / "checkpoint.pt").write_bytes(bytes(random.Random(0).randrange(256) for _ in range(4096)))
    assert "truncated or corrupt" in one_error_line(argv, capsys)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "checkpoint.pt")
    assert "not a gamlab checkpoint" in one_error_line(argv, capsys)


class Payload:
    """Unpickling this would create a file: weights_only loading must never run it."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_nothing_beyond_tensors_and_plain_data_is_unpickled(tmp_path):
    marker = tmp_path / "was-unpickled"
    torch.save({"format": "gamlab-checkpoint", "version": 1, "model": Payload(marker)}, tmp_path / "checkpoint.pt")
    with pytest.raises(GamlabError, match="truncated or corrupt"):
        load_checkpoint(tmp_path)
    assert not marker.exists()


def test_other_model_config_and_dataset_are_refused(reference, tmp_path, capsys):
    argv = [*TRAIN, "--out", str(reference), "--resume"]
    assert "holds model 'gam', not 'mamba'" in one_error_line([*argv[:2], "mamba", *argv[3:]], capsys)
    without_fast = [a for a in argv if a != "--fast"]  # preset tiny: another width, depth, block size
    assert "different model configuration" in one_error_line(without_fast, capsys)
    text = tmp_path / "other.txt"
    text.write_text("a few lines of some other text\n" * 40)
    assert "different dataset ('embedded', not 'other.txt')" in one_error_line([*argv, "--dataset", str(text)], capsys)
    assert (reference / "checkpoint.pt").is_file()  # a refusal never touches the checkpoint


def test_other_tokenizer_is_refused(tmp_path):
    data = load_data(n_stories=60, block_size=16, batch_size=4)
    other = load_data(n_stories=60, block_size=16, batch_size=4, tokenizer="bpe", vocab_size=200)
    model = build_model("gam", ModelConfig.preset("tiny", vocab_size=data.vocab_size, block_size=16))
    tc = TrainConfig.preset("tiny", steps=2, eval_every=2, eval_batches=1, batch_size=data.batch_size)
    Trainer(model, tc, data.get_batch, out=tmp_path, progress=False,
            meta={"tokenizer": data.tokenizer.to_dict()}).fit()
    again = Trainer(model, tc, data.get_batch, out=tmp_path, progress=False,
                    meta={"tokenizer": other.tokenizer.to_dict()})
    with pytest.raises(GamlabError, match="different tokenizer"):
        again.resume()


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, {"step": 1})
    before = (tmp_path / "checkpoint.pt").read_bytes()

    def crash(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", crash)  # the write fails after the bytes went to the temporary file
    with pytest.raises(GamlabError, match=r"no space left .* the previous checkpoint.pt is unchanged and no "
                                          r"temporary file is left; free some space"):
        save_checkpoint(tmp_path, {"step": 2})
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary file left behind
