"""Every command that writes a folder, against the file system a user really has (issue 22, kinds A and B):
a file in the way, a folder it may not write, a full disk (refused before any work, in one sentence),
a disk that fills at the end (one sentence saying what was kept, no temporary file left), a second
writer on the same folder (refused), a killed writer (its folder is usable again), the umask.

Tests run as root here, where a folder's mode does not stop a write: a read-only folder is
simulated by making the probe's file creation fail as the kernel would (EACCES, EROFS), a full
disk by making its write or fsync fail with ENOSPC."""

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gamlab.cli import main
from gamlab.training import files
from gamlab.training.checkpoint import load_checkpoint
from gamlab.training.corpus import make_corpus

TINY_SETS = ["d_model=16", "n_layer=1", "n_head=2", "n_slots=8", "d_state=2", "block_size=16", "batch_size=2",
             "vocab_size=120", "eval_every=1", "eval_batches=1"]


@pytest.fixture(scope="module")
def text_folder(tmp_path_factory) -> str:
    """A small local stand-in for both of reproduce's datasets."""
    path = tmp_path_factory.mktemp("data")
    stories = make_corpus(40, seed=1).split("\n\n")
    (path / "train.txt").write_text("\n".join(stories[:32]))
    (path / "validation.txt").write_text("\n".join(stories[32:]))
    return str(path)


def commands(text_folder: str) -> dict[str, list[str]]:
    """Each command that writes --out, with options that make its work take seconds."""
    return {
        "train": ["train", "--model", "gam", "--fast", "--steps", "2", "--no-progress"],
        "compare": ["compare", "--fast", "--models", "gam", "--no-context", "--steps", "2", "--no-progress"],
        "sweep": ["sweep", "--fast", "--models", "gam", "--grid", "1e-3", "--sweep-steps", "1", "--no-progress"],
        "bench": ["bench", "--lengths", "8", "--blocks", "gam", "--no-memory", "--repeats", "1", "--batch-size", "1",
                  "--d-model", "8", "--slots", "4", "--device", "cpu"],
        "reproduce": ["reproduce", "--tables", "1", "--models", "gam", "--steps", "1", "--no-progress",
                      "--wikitext2", text_folder, "--tinystories", text_folder,
                      *[a for s in TINY_SETS for a in ("--set", s)]],
        "recall": ["recall", "--fast", "--models", "gam", "--steps", "2"],
    }


NAMES = ["train", "compare", "sweep", "bench", "reproduce", "recall"]


def run(argv, capsys) -> tuple[int, str, list[str]]:
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    got = capsys.readouterr()
    return code, got.out, got.err.strip().splitlines()


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp")) if folder.exists() else []


def fail_with(code: int):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    return refuse


@pytest.mark.parametrize("fault", ["a file in the way", "permission denied", "read-only", "no space left"])
@pytest.mark.parametrize("name", NAMES)
def test_an_out_that_cannot_be_written_is_refused_before_any_work(name, fault, text_folder, tmp_path, monkeypatch,
                                                                 capsys):
    out = tmp_path / "runs" / "here"
    if fault == "a file in the way":
        (tmp_path / "runs").write_text("keep me")
        said = f"--out {str(out)!r} cannot be created: {str(tmp_path / 'runs')!r} is a file, not a folder; give another --out."
    elif fault == "no space left":
        monkeypatch.setattr(files.os, "write", fail_with(errno.ENOSPC))  # the probe's write of one block
        said = (f"--out {str(out)!r} cannot be written (no space left on the device), so nothing was started; free "
                "some space (or write elsewhere), or give another --out.")
    else:  # simulated: root writes into any folder whatever its mode
        monkeypatch.setattr(files.tempfile, "mkstemp", fail_with(errno.EACCES if fault == "permission denied"
                                                                 else errno.EROFS))
        reason = "permission denied" if fault == "permission denied" else "the file system is read-only"
        said = (f"--out {str(out)!r} cannot be written ({reason}), so nothing was started; use a folder you can "
                "write to, or fix its permissions, or give another --out.")
    code, stdout, err = run([*commands(text_folder)[name], "--out", str(out)], capsys)
    assert code == 2 and err == [f"gamlab {name}: error: {said}"], err
    assert stdout == ""  # refused before any work: not even the device line
    assert not out.exists() and temporaries(tmp_path) == []
    if fault == "a file in the way":
        assert (tmp_path / "runs").read_text() == "keep me"
    else:
        assert not (tmp_path / "runs").exists()  # the folders it made for the probe are gone again


@pytest.mark.parametrize("name", NAMES)
def test_a_disk_that_fills_at_the_end_gets_one_sentence_and_no_temporary_file(name, text_folder, tmp_path,
                                                                            monkeypatch, capsys):
    real_fsync = os.fsync

    def full_after_the_probe(fd):  # the probe passes; every file the command then writes does not
        if ".gamlab-probe-" in os.readlink(f"/proc/self/fd/{fd}"):
            return real_fsync(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_after_the_probe)
    out = tmp_path / "out"
    code, _, err = run([*commands(text_folder)[name], "--out", str(out)], capsys)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"gamlab {name}: error: could not write {out}"), err
    assert "(no space left on the device)" in err[0] and "no temporary file is left; free some space" in err[0], err
    assert temporaries(out) == []


def test_the_last_good_checkpoint_is_kept_when_the_disk_fills(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    real_fsync, saves = os.fsync, []

    def second_save_fails(fd):
        if ".checkpoint-" in os.readlink(f"/proc/self/fd/{fd}"):
            saves.append(fd)
            if len(saves) == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", second_save_fails)
    argv = ["train", "--model", "gam", "--fast", "--steps", "4", "--checkpoint-every", "2", "--no-progress",
            "--out", str(out)]
    code, _, err = run(argv, capsys)
    assert code == 2 and err == [f"gamlab train: error: could not write {out / 'checkpoint.pt'} (no space left on the "
                                 "device); the last good checkpoint (step 2) is intact and no temporary file is left; "
                                 "free some space (or write elsewhere), then continue with --resume."], err
    assert temporaries(out) == [] and load_checkpoint(out)["step"] == 2
    monkeypatch.undo()
    code, stdout, _ = run([*argv, "--resume"], capsys)
    assert code == 0 and "at step 2 of 4" in stdout and load_checkpoint(out)["step"] == 4


def test_run_files_get_the_umask_mode(tmp_path, capsys):
    old = os.umask(0o002)
    try:
        code, _, _ = run(["train", "--model", "gam", "--fast", "--steps", "2", "--no-progress", "--out",
                          str(tmp_path / "run")], capsys)
    finally:
        os.umask(old)
    assert code == 0
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "run").iterdir()}
    assert modes == {"checkpoint.pt": 0o664, "history.json": 0o664}  # and no lock file left behind


# ---------------------------------------------------------------- one writer per folder (real processes)

def gamlab(*argv) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gamlab", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))


def wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_second_train_on_the_same_out_is_refused_and_the_first_completes(tmp_path):
    out = tmp_path / "shared"
    argv = ["train", "--model", "gam", "--fast", "--no-progress", "--out", str(out), "--checkpoint-every", "5"]
    first = gamlab(*argv, "--steps", "100000")  # still training whenever the second one starts
    wait_for(out / ".gamlab.lock", first)
    second = gamlab(*argv, "--steps", "12")
    _, err = second.communicate(timeout=300)
    assert second.returncode == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"gamlab train: error: --out {str(out)!r} is in use by another gamlab run (pid {first.pid} on "), err
    assert err.rstrip().endswith("wait until it ends, or give another --out."), err
    assert first.poll() is None  # the first run trains on, untouched
    first.send_signal(signal.SIGTERM)  # stop it at a step boundary with a checkpoint (exit 143) ...
    _, first_err = first.communicate(timeout=300)
    assert first.returncode == 143, first_err
    state = load_checkpoint(out)
    assert state["train_config"]["steps"] == 100000  # the folder holds the first run, not the second
    finish = gamlab(*argv, "--steps", str(state["step"] + 2), "--resume")  # ... and let it complete, shorter
    stdout, finish_err = finish.communicate(timeout=300)
    assert finish.returncode == 0, finish_err
    assert load_checkpoint(out)["step"] == state["step"] + 2
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.json"]


def test_a_killed_runs_folder_can_be_resumed(tmp_path):
    out = tmp_path / "killed"
    argv = ["train", "--model", "gam", "--fast", "--no-progress", "--out", str(out), "--steps", "4000",
            "--checkpoint-every", "2"]
    proc = gamlab(*argv)
    wait_for(out / "checkpoint.pt", proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert (out / ".gamlab.lock").exists()  # its lock file stays, but the kernel released the lock
    step = load_checkpoint(out)["step"]
    again = gamlab(*argv, "--resume", "--stop-after", str(step + 2))
    stdout, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert f"resumed gam from {out / 'checkpoint.pt'} at step {step} of 4000" in stdout
    assert load_checkpoint(out)["step"] == step + 2 and not (out / ".gamlab.lock").exists()
