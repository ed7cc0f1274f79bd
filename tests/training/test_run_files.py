"""A run's files on a real file system (gamlab/training/files.py): the mode a file gets under the
umask, a full disk in the middle of a run, files another user cannot read, one writer per folder.

Tests run as root here, where chmod 000 does not stop a read and a read-only folder can still be
written; so an unreadable file is simulated by making open() (and torch.load) raise the
PermissionError the kernel would give, and a full disk by making the write or fsync raise ENOSPC.
"""

import builtins
import errno
import io
import json
import os
import stat
from pathlib import Path

import pytest
import torch

from gamlab import ModelConfig, build_model
from gamlab.errors import GamlabError
from gamlab.training import files
from gamlab.training.checkpoint import load_checkpoint, save_checkpoint
from gamlab.training.data import load_data
from gamlab.training.train import TrainConfig, Trainer, load_run


@pytest.fixture(scope="module")
def data():
    return load_data(n_stories=60, block_size=16, batch_size=4)


def _trainer(data, out, steps=4, every=2):
    model = build_model("gam", ModelConfig.preset("tiny", vocab_size=data.vocab_size, block_size=16))
    tc = TrainConfig.preset("tiny", steps=steps, eval_every=steps, eval_batches=1, batch_size=data.batch_size,
                            checkpoint_every=every)
    return Trainer(model, tc, data.get_batch, val_batches=data.val_batches, out=out, progress=False,
                   meta={"tokenizer": data.tokenizer.to_dict()})


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---------------------------------------------------------------- modes under the umask

@pytest.mark.parametrize("mask", [0o002, 0o022, 0o027, 0o077])
def test_files_get_the_mode_open_gives_under_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        assert files.umask() == mask
        save_checkpoint(tmp_path, {"step": 1})
        files.write_atomic(tmp_path / "history.json", "[]")
        with open(tmp_path / "plain.txt", "w") as f:  # what the user's own tools would make
            f.write("x")
    finally:
        os.umask(old)
    want = stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)
    assert want == 0o666 & ~mask
    for name in ("checkpoint.pt", "history.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == want, name
    assert leftovers(tmp_path) == []


def test_a_chmod_survives_the_next_save(tmp_path):
    save_checkpoint(tmp_path, {"step": 1})
    os.chmod(tmp_path / "checkpoint.pt", 0o640)
    save_checkpoint(tmp_path, {"step": 2})
    assert stat.S_IMODE((tmp_path / "checkpoint.pt").stat().st_mode) == 0o640


# ---------------------------------------------------------------- a full disk, later

def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_mid_write_keeps_the_file_and_leaves_no_temporary(tmp_path):
    files.write_atomic(tmp_path / "results.json", "old")

    class Full(io.RawIOBase):  # torch.save wraps the OSError of its file in a RuntimeError
        def writable(self):
            return True

        def write(self, b):
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(GamlabError) as err:
        files.write_atomic(tmp_path / "results.json", lambda f: torch.save({"a": torch.zeros(10)}, Full()))
    assert str(err.value) == (f"could not write {tmp_path / 'results.json'} (no space left on the device); the "
                              "previous results.json is unchanged and no temporary file is left; free some space "
                              "(or write elsewhere), then run the command again.")
    assert (tmp_path / "results.json").read_text() == "old" and leftovers(tmp_path) == []


def test_the_trainer_names_the_last_good_checkpoint_when_the_disk_fills(data, tmp_path, monkeypatch):
    trainer = _trainer(data, tmp_path, steps=4, every=2)
    trainer.fit(2)  # step 2 saved
    monkeypatch.setattr(os, "fsync", enospc)  # the bytes of step 4 go nowhere
    with pytest.raises(GamlabError, match=r"could not write .*checkpoint.pt \(no space left on the device\); the last "
                                          r"good checkpoint \(step 2\) is intact and no temporary file is left; free "
                                          r"some space \(or write elsewhere\), then continue with --resume\.$"):
        trainer.fit()
    monkeypatch.undo()
    assert leftovers(tmp_path) == [] and load_checkpoint(tmp_path)["step"] == 2
    again = _trainer(data, tmp_path, steps=4, every=2)
    assert again.resume() == 2
    again.fit()
    assert load_checkpoint(tmp_path)["step"] == 4


# ---------------------------------------------------------------- files that cannot be read

@pytest.fixture
def unreadable(monkeypatch):
    """unreadable(path): from now on opening `path` raises what the kernel gives another user."""
    denied = set()
    real_open, real_io_open = builtins.open, io.open

    def guard(opener):
        def open_(file, *args, **kwargs):
            if isinstance(file, (str, os.PathLike)) and os.path.abspath(file) in denied:
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
            return opener(file, *args, **kwargs)
        return open_

    monkeypatch.setattr(builtins, "open", guard(real_open))
    monkeypatch.setattr(io, "open", guard(real_io_open))
    return lambda path: denied.add(os.path.abspath(path))


def _is_permission_sentence(message: str, path) -> None:
    assert "cannot read the" in message and str(path) in message and "permission denied" in message, message
    assert "corrupt" not in message and "delete" not in message and "retrain" not in message, message
    assert "\n" not in message


def test_an_unreadable_checkpoint_is_a_permission_problem_not_corruption(data, tmp_path, unreadable):
    _trainer(data, tmp_path, steps=2).fit()
    unreadable(tmp_path / "checkpoint.pt")
    for read in (lambda: load_checkpoint(tmp_path), lambda: load_run(tmp_path),
                 lambda: _trainer(data, tmp_path, steps=2).resume()):
        with pytest.raises(GamlabError) as err:
            read()
        _is_permission_sentence(str(err.value), tmp_path / "checkpoint.pt")


def test_every_reader_of_run_files_names_a_permission_problem(data, tmp_path, unreadable):
    """The sweep: each place that reads a run's (or the package's saved) files, with that file unreadable."""
    from gamlab.experiments import recall, reproduce, runs, sweep
    from gamlab.training.text import read_text_file

    _trainer(data, tmp_path / "run", steps=2).fit()
    run_dir = reproduce.run_folder(tmp_path / "rep", "careful", "wikitext2-gam")
    run_dir.mkdir(parents=True)
    (run_dir / "checkpoint.pt").write_bytes((tmp_path / "run" / "checkpoint.pt").read_bytes())
    (tmp_path / "tuned.json").write_text(json.dumps({"tiny": {}}))
    (tmp_path / "text.txt").write_text("some text\n" * 20)
    readers = {  # file -> what reads it
        tmp_path / "run" / "checkpoint.pt": lambda: runs.open_run_folder(tmp_path / "run", "gam", resume=True),
        run_dir / "checkpoint.pt": lambda: reproduce.saved_tokenizer(tmp_path / "rep", "wikitext2"),
        tmp_path / "tuned.json": lambda: sweep.load_tuned(tmp_path / "tuned.json"),
        recall.SAVED: recall.saved_results,
    }
    for path, read in readers.items():
        unreadable(path)
        with pytest.raises(GamlabError) as err:
            read()
        _is_permission_sentence(str(err.value), path)
    unreadable(tmp_path / "text.txt")  # the text loader's own sentence (it was already right)
    with pytest.raises(GamlabError, match="could not read .*Permission denied.*readable file"):
        read_text_file(tmp_path / "text.txt")


# ---------------------------------------------------------------- before any work

def test_a_folder_that_cannot_be_written_is_refused_in_one_sentence(tmp_path, monkeypatch):
    (tmp_path / "afile.txt").write_text("keep")
    with pytest.raises(GamlabError, match=r"cannot be created: '.*afile.txt' is a file, not a folder; give another --out\.$"):
        files.writable_folder(tmp_path / "afile.txt" / "run")
    # root ignores a folder's mode, so the kernel's answers are simulated where the probe writes
    for code, said in ((errno.EACCES, "permission denied"), (errno.EROFS, "the file system is read-only")):
        def refuse(*args, code=code, **kwargs):
            raise OSError(code, os.strerror(code))
        monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
        with pytest.raises(GamlabError, match=rf"--out '.*ro' cannot be written \({said}\), so nothing was started; "
                                              r"use a folder you can write to, or fix its permissions, or give another --out\.$"):
            files.writable_folder(tmp_path / "ro")
        monkeypatch.undo()
    monkeypatch.setattr(files.os, "write", enospc)
    with pytest.raises(GamlabError, match=r"\(no space left on the device\), so nothing was started; free some space"):
        files.writable_folder(tmp_path / "full")
    monkeypatch.undo()
    assert leftovers(tmp_path / "full") == []
    with pytest.raises(GamlabError, match=r"MiB free but the run writes about .* MiB, so nothing was started"):
        files.writable_folder(tmp_path / "small", need_bytes=2**62)


# ---------------------------------------------------------------- one writer

def test_a_second_writer_is_refused_and_a_dead_ones_lock_is_taken_over(tmp_path):
    with files.FolderLock(tmp_path):
        holder = (tmp_path / files.LOCK_NAME).read_text()
        assert holder.startswith(f"pid {os.getpid()} on ")
        with pytest.raises(GamlabError) as err:
            files.FolderLock(tmp_path).acquire()  # another open file: flock refuses it, as another process
        assert str(err.value) == (f"--out {str(tmp_path)!r} is in use by another gamlab run ({holder}); "
                                  "wait until it ends, or give another --out.")
    assert not (tmp_path / files.LOCK_NAME).exists()  # released: the folder is as it was
    (tmp_path / files.LOCK_NAME).write_text("pid 999999 on somewhere")  # left by a killed run: not locked
    with files.FolderLock(tmp_path):
        assert (tmp_path / files.LOCK_NAME).read_text().startswith(f"pid {os.getpid()} ")
