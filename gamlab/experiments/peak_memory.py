"""Peak memory of one benchmark step, above the block and its input: the probe beside the timing.

On CUDA, torch.cuda.max_memory_allocated minus the allocated bytes before the step; on CPU,
the peak resident set size (ru_maxrss) of a fresh process after the step minus the same
process's resident size just before it (after imports, when the block and the input exist, and
one warm-up step has run). On Linux the peak is the high-water mark VmHWM, reset just before
the measured step, and glibc is told to return every large block to the system when it is
freed (MALLOC_MMAP_THRESHOLD_), so the warm-up leaves nothing resident; elsewhere ru_maxrss
(which never goes down, hence the fresh process). gamlab.experiments.bench calls block_memory
before it times a block.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import torch

from ..host_memory import available_memory, proc_bytes
from .bench_blocks import build_block, is_oom, step_inputs, sync, train_step


def block_memory(name, seq_len, batch, d_model, n_slots, device, mem_limit_mb=None) -> dict:
    """{"peak_mb", "oom"} of one step: in this process on CUDA, in a fresh process on CPU."""
    return block_memories([(name, seq_len)], batch, d_model, n_slots, device, mem_limit_mb)[name, seq_len]


def block_memories(runs, batch, d_model, n_slots, device, mem_limit_mb=None) -> dict:
    """{(name, T): {"peak_mb", "oom"}} for each (name, T) of `runs`, as block_memory measures it.

    On a Linux CPU, where the peak can be reset between steps (clear_refs), one fresh process
    measures them all in turn (each Python start costs a second or two, more on a busy
    machine); a run it did not report (killed by the kernel's out-of-memory killer) is
    measured again in a process of its own. Elsewhere, one process per run."""
    runs = list(runs)
    if device.type == "cuda":
        return {(n, T): _memory(n, T, batch, d_model, n_slots, device, False, None) for n, T in runs}
    if device.type != "cpu":  # no peak-memory counter to read (e.g. MPS)
        return {(n, T): {"peak_mb": None, "oom": False} for n, T in runs}
    if mem_limit_mb is None:
        mem_limit_mb = 0.7 * _available_mb()
    together = sys.platform.startswith("linux") and os.path.exists("/proc/self/clear_refs")
    out = {}
    for group in ([runs] if together and len(runs) > 1 else [[r] for r in runs]):
        todo = [r for r in group if r not in out]
        if todo:
            out.update(_in_fresh_process(todo, batch, d_model, n_slots, mem_limit_mb))
        for run in group:  # what a shared process did not report, alone
            if run not in out:
                out.update(_in_fresh_process([run], batch, d_model, n_slots, mem_limit_mb))
    return {r: out[r] for r in runs}


def _in_fresh_process(runs, batch, d_model, n_slots, mem_limit_mb) -> dict:
    """Measure `runs` one after another in a fresh Python process; the results it printed."""
    args = dict(runs=runs, batch=batch, d_model=d_model, n_slots=n_slots,
                mem_limit_mb=mem_limit_mb, threads=1)  # memory does not depend on it; on a busy CPU one is fastest
    root = str(Path(__file__).resolve().parents[2])  # the folder that holds this gamlab package
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
           # glibc: every block over 64 KiB gets its own mapping, returned to the system when
           # freed, so the warm-up step's tensors do not linger in the resident size
           "MALLOC_MMAP_THRESHOLD_": "65536"}
    proc = subprocess.run([sys.executable, "-c", "import gamlab.experiments.peak_memory as p; p._child()", json.dumps(args)],
                          capture_output=True, text=True, env=env)
    done = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            key = (r.pop("name"), r.pop("seq_len")) if "name" in r else runs[len(done)]
            done[tuple(key)] = r
    if proc.returncode in (-9, 137):  # killed by the kernel's out-of-memory killer
        if len(runs) == 1:
            done[runs[0]] = {"peak_mb": None, "oom": True}
        return done
    if proc.returncode != 0:
        name, T = runs[len(done)] if len(done) < len(runs) else runs[-1]
        raise RuntimeError(f"benchmark subprocess failed for {name} at T={T}:\n{proc.stderr[-2000:]}")
    return done


def _child() -> None:
    """Entry point of the fresh process block_memories starts on CPU: one JSON line per run."""
    args = json.loads(sys.argv[1])
    torch.set_num_threads(args.pop("threads"))
    for name, seq_len in args.pop("runs"):
        r = _memory(name, seq_len, device=torch.device("cpu"), rss_memory=True, **args)
        print(json.dumps({"name": name, "seq_len": seq_len, **r}), flush=True)


def _memory(name, seq_len, batch, d_model, n_slots, device, rss_memory, mem_limit_mb) -> dict:
    """Peak memory of one step above the block and its input, in this process: {"peak_mb", "oom"}.

    rss_memory: peak RSS on CPU (a fresh process only); otherwise CUDA's allocator statistics.
    """
    try:
        gc.collect()  # the previous run's block and input (several runs share one process)
        x, dy = step_inputs(batch, seq_len, d_model, device)  # an input too big for memory is an OOM too
        block = build_block(name, d_model, n_slots).to(device)
        if rss_memory:
            if mem_limit_mb:  # a failed allocation (reported as OOM) instead of a swapped-out machine
                limit = _data_bytes() + int(mem_limit_mb * 2**20)
                resource.setrlimit(resource.RLIMIT_DATA, (limit, resource.getrlimit(resource.RLIMIT_DATA)[1]))
            train_step(block, x, dy, device)  # warm-up: thread pools, kernel caches, lazy buffers
            before = _reset_peak_rss()
            train_step(block, x, dy, device)
            return {"peak_mb": max(_peak_rss() - before, 0) / 2**20, "oom": False}
        train_step(block, x, dy, device)  # warm-up: cuBLAS workspaces and autotuning are not the block's
        sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        train_step(block, x, dy, device)
        sync(device)
        return {"peak_mb": (torch.cuda.max_memory_allocated(device) - before) / 2**20, "oom": False}
    except (RuntimeError, MemoryError) as exc:
        if not is_oom(exc) and not isinstance(exc, MemoryError):
            raise
        return {"peak_mb": None, "oom": True}


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # Linux reports KiB, macOS bytes


_HWM_RESET = False


def _reset_peak_rss() -> int:
    """Start a fresh peak-RSS window; returns the baseline to subtract.

    Linux can reset the process's high-water mark (VmHWM) by writing 5 to clear_refs: then
    the baseline is the RSS now. Elsewhere ru_maxrss, the peak so far, is the baseline
    (import-time transients could then hide a small step's memory, never inflate it).
    """
    global _HWM_RESET
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        _HWM_RESET = proc_bytes("VmHWM") is not None
    except OSError:
        _HWM_RESET = False
    return proc_bytes("VmRSS") if _HWM_RESET else _maxrss_bytes()


def _peak_rss() -> int:
    return proc_bytes("VmHWM") if _HWM_RESET else _maxrss_bytes()


def _data_bytes() -> int:
    """Current size of the data segment (VmData), what RLIMIT_DATA counts; 0 if unknown."""
    return proc_bytes("VmData") or 0


def _available_mb() -> float:
    """What this machine, or its container's cgroup limit, lets a new process take, in MiB."""
    free = available_memory("cpu")
    return free / 2**20 if free is not None else 8192.0
