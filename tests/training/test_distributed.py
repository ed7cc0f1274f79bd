"""DDP on CPU: two gloo processes with half the batch each train like one process with all of it."""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from gamlab.training import distributed
from gamlab.training.checkpoint import load_checkpoint

FAST = ["train", "--model", "gam", "--fast", "--no-progress", "--device", "cpu", "--seed", "3"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gamlab(args, nproc: int = 1, timeout: int = 240):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if nproc == 1:
        cmd = [sys.executable, "-m", "gamlab", *args]
    else:  # torchrun, launched through the interpreter of this environment
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
               "--master_addr", "127.0.0.1", "--master_port", str(free_port()), "-m", "gamlab", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def frames_in_gamlab(stderr: str) -> list[str]:
    """The traceback lines of `stderr` that name a file of the gamlab package: judged by the package's
    own folder, not by the text "gamlab/" (a clone in a folder named gamlab has it in every path)."""
    package = os.path.dirname(os.path.dirname(os.path.realpath(distributed.__file__)))  # .../gamlab
    return [line for line in stderr.splitlines() if line.strip().startswith('File "')
            and os.path.realpath(line.split('"')[1]).startswith(package + os.sep)]


def test_traceback_frames_are_told_apart_by_folder_not_by_name():
    ours = f'  File "{os.path.realpath(distributed.__file__)}", line 1, in check_batch'
    theirs = '  File "/home/me/gamlab/.venv/lib/python3.11/site-packages/torch/distributed/run.py", line 9, in main'
    assert frames_in_gamlab(f"Traceback (most recent call last):\n{theirs}\n{ours}\n") == [ours]


def test_two_processes_with_half_the_batch_each_equal_one_process(tmp_path):
    one = gamlab([*FAST, "--out", str(tmp_path / "one")])
    assert one.returncode == 0, one.stderr
    two = gamlab([*FAST, "--out", str(tmp_path / "two")], nproc=2)
    assert two.returncode == 0, two.stdout + two.stderr
    assert two.stdout.count("training gam") == 1  # rank 1 prints nothing
    h1 = json.loads((tmp_path / "one" / "history.json").read_text())
    h2 = json.loads((tmp_path / "two" / "history.json").read_text())
    assert [h["step"] for h in h1] == [h["step"] for h in h2] == [6, 12]
    for a, b in zip(h1, h2):
        assert a["lr"] == b["lr"]  # the schedule counts global steps
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-5)
    # the global batch's tokens are counted once, not once per process
    s1, s2 = load_checkpoint(tmp_path / "one"), load_checkpoint(tmp_path / "two")
    assert s1["tokens"] == s2["tokens"] == 12 * 8 * 32
    # Two processes sum the gradients in another order; AdamW divides by sqrt(v), which magnifies
    # that rounding where a gradient is near zero (seen: 3e-5 in 1 of 4,096 weights with 2 layers).
    # A real fault (a batch counted twice, a mean over the wrong count) moves weights by about lr = 2e-3.
    for k, v in s1["model"].items():
        torch.testing.assert_close(v, s2["model"][k], atol=1e-4, rtol=1e-4)
    # the final validation loss (reduced across the two ranks) is the one-process number
    final = lambda out: float(out.split("final validation loss ")[1].split()[0])  # noqa: E731
    assert final(one.stdout) == pytest.approx(final(two.stdout), abs=1e-3)
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["checkpoint.pt", "history.json"]


def test_batch_that_does_not_split_is_refused(tmp_path):
    r = gamlab([*FAST, "--batch-size", "7", "--out", str(tmp_path / "odd")], nproc=2)
    assert r.returncode != 0
    # each worker says it in one line (torchrun then adds its own report of the failed workers)
    assert r.stderr.count("gamlab train: error: batch size 7 does not split over 2 processes") == 2
    assert r.stdout.count("gamlab on cpu") == 1  # only rank 0 prints
    assert not frames_in_gamlab(r.stderr)  # no traceback through gamlab's code (torchrun's own report may have one)
    assert not (tmp_path / "odd").exists()


def test_single_process_helpers_are_no_ops(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    x, y = torch.arange(8).view(4, 2), torch.arange(8).view(4, 2)
    assert distributed.world_size() == 1 and distributed.is_main() and not distributed.is_distributed()
    assert distributed.local_rows(x, y) == (x, y)
    assert distributed.all_reduce_sum(1.5, torch.tensor(2.0)) == [1.5, 2.0]
    assert distributed.setup(torch.device("cpu")) == torch.device("cpu")
    model = torch.nn.Linear(2, 2)
    assert distributed.wrap(model, torch.device("cpu")) is model


def test_rows_split_by_rank(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    x = torch.arange(12).view(6, 2)
    monkeypatch.setenv("RANK", "1")
    (mine,) = distributed.local_rows(x)
    assert mine.tolist() == x[3:].tolist() and not distributed.is_main()
    assert [i for i in range(5) if distributed.mine(i)] == [1, 3]
    monkeypatch.setenv("RANK", "0")
    (mine,) = distributed.local_rows(x)
    assert mine.tolist() == x[:3].tolist()
    assert distributed.local_device(torch.device("cpu")) == torch.device("cpu")


def test_every_rank_takes_rank_zeros_tokenizer(monkeypatch):
    """HF's BPE trainer can number tokens differently in two processes: under torchrun the
    commands train it on rank 0 only and every other rank encodes with rank 0's tokenizer."""
    from gamlab.experiments.runs import PRESETS, load_run_data, train_config
    from gamlab.training.tokenizer import tokenizer_from_dict

    job = PRESETS["fast"]  # what `gamlab compare --fast --tokenizer bpe --device cpu` runs
    tc = train_config(job, device="cpu")
    rank0 = load_run_data(job, tc, "embedded", "bpe")  # what rank 0 trains
    sent = rank0.tokenizer.to_dict()
    calls = []
    monkeypatch.setattr(distributed, "is_distributed", lambda: True)
    monkeypatch.setattr(distributed, "is_main", lambda: False)
    monkeypatch.setattr(distributed, "broadcast", lambda obj: calls.append(obj) or sent)
    other = load_run_data(job, tc, "embedded", "bpe")  # what rank 1 gets
    assert calls == [None]  # rank 1 trained nothing, it received
    assert other.tokenizer.to_dict() == sent
    assert torch.equal(other.train, rank0.train) and torch.equal(other.val, rank0.val)
    assert tokenizer_from_dict(sent).encode("the cat") == other.tokenizer.encode("the cat")


def test_shared_tokenizer_calls_make_on_rank_zero_only(monkeypatch):
    """The one rule both runs and reproduce use: rank 0 makes the tokenizer, the others rebuild its copy."""
    from gamlab.training.tokenizer import CharTokenizer, shared_tokenizer

    made = []

    def make():
        made.append(1)
        return CharTokenizer.train("abc")

    assert shared_tokenizer(make).encode("cab") == CharTokenizer.train("abc").encode("cab") and made == [1]  # one process
    sent = CharTokenizer.train("xyz").to_dict()
    monkeypatch.setattr(distributed, "is_distributed", lambda: True)
    monkeypatch.setattr(distributed, "is_main", lambda: False)
    monkeypatch.setattr(distributed, "broadcast", lambda obj: sent if obj is None else pytest.fail("rank 1 sent"))
    assert shared_tokenizer(make).to_dict() == sent and made == [1]  # rank 1 made nothing
