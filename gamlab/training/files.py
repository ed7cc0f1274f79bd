"""A run's files on a real file system: full disks, read-only and shared folders, other writers.

    folder = writable_folder("runs/gam")              # created and written once now, or one sentence
    with FolderLock(folder): ...                      # one writer at a time; a killed writer's lock is free
    write_atomic(folder / "history.json", text)       # all or nothing, with the mode open() would give
    read_refusal(path, exc)                           # an unreadable file is named as one, never as corrupt

Every way a write can fail (no space left, permission denied, a read-only file system, a file
where a folder should be) becomes one GamlabError sentence that says which file, why, what was
kept (the previous file is intact, no temporary file is left) and what to do. Used by
gamlab/training/checkpoint.py, the run layer (gamlab/experiments/runs.py) and the commands.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import tempfile
from pathlib import Path

from ..errors import GamlabError

try:  # POSIX; elsewhere (Windows) a folder is not locked
    import fcntl
except ImportError:  # pragma: no cover - not on Linux or macOS
    fcntl = None

LOCK_NAME = ".gamlab.lock"
PROBE_BYTES = 4096  # one block: a full disk refuses it (at write or at fsync)


# ---------------------------------------------------------------- what went wrong, in words

def os_error_in(exc: BaseException) -> OSError | None:
    """The OSError behind `exc`: itself, or the one a library wrapped (torch.save raises a
    RuntimeError whose context is the OSError its file write raised); None if there is none."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def reason(exc: OSError) -> str:
    """Why an OSError happened, in the words a user acts on."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on the device"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a file stands where a folder should be"
    return exc.strerror or type(exc).__name__


def remedy(exc: OSError) -> str:
    """What to do about it."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some space (or write elsewhere)"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "use a folder you can write to, or fix its permissions"
    return "check the folder"


def file_in_the_way(folder: Path) -> Path | None:
    """`folder` itself or the first of its parents that exists and is not a folder, else None."""
    for p in [folder, *folder.parents]:
        if p.exists():
            return None if p.is_dir() else p
    return None


# ---------------------------------------------------------------- before any work

def writable_folder(path, option: str = "--out", need_bytes: int = 0) -> Path:
    """The folder `path`, created if missing and proved writable by writing (and syncing) a
    small file in it, which is removed again; `need_bytes`, when given, must be free there.

    Raises GamlabError, in one sentence naming `option` and the folder, when a file stands
    where it (or a parent) should be, it cannot be created or written (permission denied, a
    read-only file system), or the device holding it is full.
    """
    out = Path(path)
    blocker = file_in_the_way(out)
    if blocker == out:
        raise GamlabError(f"{option} {str(path)!r} is a file; give a folder.")
    if blocker is not None:
        raise GamlabError(f"{option} {str(path)!r} cannot be created: {str(blocker)!r} is a file, not a folder; "
                          f"give another {option}.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        _probe(out)
        free = _free_bytes(out)
    except OSError as exc:
        raise GamlabError(f"{option} {str(path)!r} cannot be written ({reason(exc)}), so nothing was started; "
                          f"{remedy(exc)}, or give another {option}.") from None
    if free is not None and need_bytes > free:
        raise GamlabError(f"{option} {str(path)!r} has {free / 2**20:,.0f} MiB free but the run writes about "
                          f"{need_bytes / 2**20:,.0f} MiB, so nothing was started; free some space or give another "
                          f"{option}.")
    return out


def _probe(folder: Path) -> None:
    """Create, write, sync and remove a small file in `folder` (OSError if any of it fails)."""
    fd, tmp = tempfile.mkstemp(prefix=".gamlab-probe-", suffix=".tmp", dir=folder)
    try:
        os.write(fd, b"\0" * PROBE_BYTES)
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(tmp)


def _free_bytes(folder: Path) -> int | None:
    try:
        st = os.statvfs(folder)
    except (AttributeError, OSError):  # no statvfs (Windows)
        return None
    return st.f_bavail * st.f_frsize


# ---------------------------------------------------------------- writing

def umask() -> int:
    """This process's umask (read from /proc where it is shown, so no other thread sees it change)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path, write, *, kept: str | None = None, then: str = "run the command again") -> Path:
    """Write a file all or nothing: `write(f)` fills a temporary file in the same folder (a str or
    bytes is written as it is), which is synced and then replaces `path` in one rename.

    A new file gets the mode a plain open() gives under the user's umask (mkstemp's would be
    0600: a shared group could not read it); a file written again keeps its mode (a chmod stays). On failure the temporary file is removed, the previous
    file at `path` is untouched, and an OSError (also one that a library wrapped) becomes a
    GamlabError: which file, why, `kept` (default: whether a previous file is unchanged), and
    what to do, ending with `then`.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            if isinstance(write, str):
                f.write(write.encode("utf-8"))
            elif isinstance(write, (bytes, bytearray, memoryview)):
                f.write(write)
            else:
                write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        cause = os_error_in(exc)
        if cause is None or isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        if kept is None:
            kept = f"the previous {path.name} is unchanged" if path.exists() else f"{path.name} was not written"
        raise GamlabError(f"could not write {path} ({reason(cause)}); {kept} and no temporary file is left; "
                          f"{remedy(cause)}, then {then}.") from None
    return path


def _mode_for(path: Path) -> int:
    """The mode a rewrite of `path` keeps (its own, so a chmod survives the next save), or for a
    new file what open() gives under the umask (0666 & ~umask)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~umask()


# ---------------------------------------------------------------- reading

def read_refusal(path, exc: OSError, what: str = "file") -> GamlabError:
    """One sentence for a run file that exists but cannot be read: a permission problem is
    named as one (the file is not damaged: fix its permissions or copy it), anything else by
    its reason. Never advice that would delete a good file."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return GamlabError(f"cannot read the {what} {path}: permission denied (it belongs to another user or its "
                           "mode forbids reading); the file itself is not damaged: ask its owner to make it readable "
                           "(chmod a+r), or work on a copy you can read.")
    return GamlabError(f"cannot read the {what} {path} ({exc.strerror or type(exc).__name__}); "
                       "check that it is a readable file.")


# ---------------------------------------------------------------- one writer at a time

class FolderLock:
    """An exclusive lock on a run folder while a run writes it: `<folder>/.gamlab.lock`, locked
    with flock and holding the writer's pid and host.

    A second writer is refused in one sentence naming the folder and the holder. The kernel
    drops a flock when its process ends, however it ends (SIGKILL included), so a killed run's
    lock file is simply taken over by the next run; the file is removed when the lock is
    released. Where flock is missing (Windows) the folder is not locked.
    """

    def __init__(self, folder, option: str = "--out"):
        self.folder, self.option = Path(folder), option
        self.path = self.folder / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> FolderLock:
        if fcntl is None or self.fd is not None:
            return self
        while True:
            try:
                try:
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
                except PermissionError:  # a lock file another user left (0644): flock needs only reading
                    fd = os.open(self.path, os.O_RDONLY)
            except OSError as exc:
                raise GamlabError(f"cannot lock {self.option} {str(self.folder)!r} ({reason(exc)}); "
                                  f"{remedy(exc)}, or give another {self.option}.") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
                os.close(fd)
                raise GamlabError(f"{self.option} {str(self.folder)!r} is in use by another gamlab run ({holder}); "
                                  f"wait until it ends, or give another {self.option}.") from None
            # The holder before us may have removed the file between our open and our lock:
            # then we hold a lock on a file nobody else will open; take the one now there.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        try:  # who holds it, for the message a second writer gets
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode())
        except OSError:  # opened read-only: the lock holds all the same
            pass
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)  # while still locked: no one can be between open and lock on it
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
