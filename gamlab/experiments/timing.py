"""Timing that holds on a shared machine: every timing in the lessons and `gamlab bench` goes through `measure`.

On a busy CPU three things bend a measured time-against-length curve, and each has its fix here:
- torch's thread pool: with more threads than free cores, OpenMP's threads wait on each other
  (measured on a busy 2-core machine, a GAM block at T = 256 / 512 / 1024 took 40 / 40 / 114 ms
  on two threads, 16.6 / 29.0 / 57.2 ms on one): `timing_threads` times on one thread.
- other programs: on one thread the clock is the process's CPU time (time.process_time: the
  time it held a core, which other programs taking turns on that core do not add to); and
  they only ever add time, in bursts, so the functions are interleaved (round r runs step r
  of each in turn, so a burst slows them all) and the best of the repeats is the figure,
  with the spread of the others shown beside it.
- page faults: glibc hands freed blocks of 32 MiB or more back to the system, so the next step
  faults every page in again, and more so at long T; `keep_freed_memory_once` keeps them.

cpu_threads_for_training picks a training cell's thread count from the load average.
Used by gamlab.experiments.bench (time_blocks) and lessons 00 and 01.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import torch

from ..errors import GamlabError
from ..host_memory import keep_freed_memory

TORCH_THREADS = torch.get_num_threads()  # torch's own choice, before a lesson or `timing_threads` changed it


@dataclass(frozen=True)
class Timing:
    """One function's timed runs, in milliseconds: best (the figure), median, and spread =
    (median - best) / best, the share of time the machine added to a typical run."""
    best: float
    median: float
    runs: tuple[float, ...]

    @property
    def spread(self) -> float:
        return (self.median - self.best) / self.best if self.best > 0 else 0.0

    def __str__(self) -> str:
        return f"{self.best:.2f} ms (median +{100 * self.spread:.0f}%)"


def is_oom(exc: BaseException) -> bool:
    """True for an out-of-memory error from torch (CUDA or CPU) or Python."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return (isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in text or "can't allocate" in text
            or "size calculation overflowed" in text)  # sizes past int64: no memory holds them either


@contextlib.contextmanager
def timing_threads(device: torch.device | str = "cpu", n: int = 1) -> Iterator[int]:
    """On a CPU, torch computes on `n` threads (one by default) inside the block; the previous
    count comes back after it, also when the block raises. Yields the count in use. On a GPU
    nothing changes."""
    before = torch.get_num_threads()
    if torch.device(device).type != "cpu":
        yield before
        return
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


_KEPT = {"done": False}
# Freed blocks of up to 64 MiB are kept: every GAM tensor up to B=8, T=2048, C=128, S=512 (its
# largest, the slot scores, is 32 MiB). Larger ones, the naive attention's T x T scores, go back to
# the system: kept, they fragment the heap between interleaved steps, and lesson 0's timing
# process grew to 2.6 GB instead of 1.6 GB, past Binder's 2 GB. The command line keeps up to 1 GiB.
KEEP_BYTES = 64 << 20
# lines of at most 80 characters: a notebook at 150% zoom shows no more
WHY_KEEP = ("timing: glibc now keeps freed memory in this process for reuse (for the rest\n"
            "of the session), because faulting freed pages in again would add time that\n"
            "grows with T and bend the curve")


def keep_freed_memory_once(say: Callable[[str], None] | None = print, limit_bytes: int = KEEP_BYTES) -> bool:
    """Apply gamlab.host_memory.keep_freed_memory(limit_bytes) once per process, saying why the first time.

    The first call decides for the process: the command line calls it first with 1 GiB (its
    benchmarks reach T = 4096 and beyond, one block size at a time), a notebook's first
    measurement with KEEP_BYTES, and limit_bytes=0 leaves glibc's default alone (benchmarks'
    --glibc-default). It changes glibc's thresholds for the whole process and is not undone
    (nothing is lost: freed memory stays with this process for reuse). True if it is in effect
    (Linux, glibc)."""
    if not _KEPT["done"]:
        _KEPT["done"] = True
        _KEPT["ok"] = bool(limit_bytes) and keep_freed_memory(limit_bytes)
        if _KEPT["ok"] and say:
            say(WHY_KEEP)
    return _KEPT["ok"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(fns: dict[str, Callable[[], object]], repeats: int = 5, warmup: int = 1,
            device: torch.device | str = "cpu", threads: int = 1, budget_s: float = 0.0,
            max_repeats: int = 50, clock: str = "auto",
            say: Callable[[str], None] | None = print) -> dict[str, Timing | None]:
    """Time each no-argument function `repeats` times, interleaved, after `warmup` untimed calls;
    then more rounds while the timed rounds took less than `budget_s` seconds in all (at most
    `max_repeats` rounds): a cheap step gets many tries at a quiet moment, a costly one `repeats`.

    Returns {name: Timing (milliseconds)}, or None for a function that ran out of memory (it is
    not called again; other errors propagate). Round r calls every function once, in the order
    given, so a slow moment of a shared machine slows all of them rather than one. On a CPU the
    calls run on `threads` torch threads (timing_threads; one unless asked) and glibc keeps freed memory
    (keep_freed_memory_once, which prints why through `say`); on CUDA each call is synchronised.
    clock: "cpu" (time.process_time: the CPU time this process used, all its threads together)
    or "wall" (time.perf_counter); "auto" takes "cpu" on a CPU at one thread, "wall" elsewhere.
    """
    if repeats < 1 or warmup < 0 or threads < 1:
        raise GamlabError(f"measure needs repeats >= 1, warmup >= 0 and threads >= 1; got {repeats}, {warmup}, {threads}.")
    device = torch.device(device)
    if clock not in ("auto", "cpu", "wall"):
        raise GamlabError(f"clock is 'auto', 'cpu' or 'wall'; got {clock!r}.")
    if clock == "auto":
        clock = "cpu" if device.type == "cpu" and threads == 1 else "wall"
    now = time.process_time if clock == "cpu" else time.perf_counter
    if device.type == "cpu":
        keep_freed_memory_once(say)
    times: dict[str, list[float]] = {name: [] for name in fns}
    ran_out: set[str] = set()
    spent, r = 0.0, 0
    with timing_threads(device, threads):
        while r < warmup + repeats or (spent < budget_s and r < warmup + max(repeats, max_repeats)):
            for name, fn in fns.items():
                if name in ran_out:
                    continue
                try:
                    _sync(device)
                    t0 = now()
                    fn()
                    _sync(device)
                except (RuntimeError, MemoryError) as exc:
                    if not is_oom(exc):
                        raise
                    ran_out.add(name)
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
                    continue
                if r >= warmup:
                    times[name].append((now() - t0) * 1e3)
                    spent += times[name][-1] / 1e3
            r += 1
            if len(ran_out) == len(fns):
                break
    return {name: None if name in ran_out else Timing(min(t), statistics.median(t), tuple(t))
            for name, t in times.items()}


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity, where the system says)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_threads_for_training(load: float | None = None, cores: int | None = None,
                             default: int | None = None) -> int:
    """Torch threads for a training cell on a CPU: the cores the 1-minute load average leaves free,
    at least one and at most torch's default.

    On a busy machine more threads than free cores make OpenMP's threads wait on each other
    (lesson 06's training took 131 s instead of 8 s on a busy 2-core CPU): one thread then.
    load: os.getloadavg()[0] (read here when None; where there is none, torch's default);
    cores: usable_cores(); default: TORCH_THREADS (torch's count when gamlab was imported)."""
    default = default or TORCH_THREADS
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # Windows
            return default
    free = (cores or usable_cores()) - load
    return max(1, min(default, int(free + 0.5)))


def set_training_threads(device: torch.device | str = "cpu") -> int:
    """On a CPU, set torch's thread count to cpu_threads_for_training() and return it (the
    one line a lesson's training cell calls); on a GPU leave it and return the count."""
    if torch.device(device).type == "cpu":
        torch.set_num_threads(cpu_threads_for_training())
    return torch.get_num_threads()
