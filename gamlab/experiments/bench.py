"""Scaling benchmark: one block's forward+backward time and peak memory against sequence length.

The paper's Table 2 times one block, forward and backward, at growing sequence lengths T.
`measure_block` does one such measurement; `gamlab bench` (gamlab/commands/bench.py) runs the grid,
prints the table, and fits how time grows with T.

Blocks (all with the paper's dropout 0.1, in training mode, as in a training step), each in
the fast forms build_model gives every model (gamlab.blocks.fast.DEFAULT) unless said:
    gam                the library's GAMBlock (fused retrieval: no B x T x S kept)
    gam-reference      the same block in its reference forms, as gam.py writes it: the speed baseline
    transformer        pre-norm Transformer block, fused SDPA kernel, no attention dropout
    transformer-naive  the paper's baseline: full T x T score matrix, attention dropout 0.1
    mamba              Mamba-style block (norm + mixer + residual), chunked scan
Any other registry name (gamlab.model.MODELS, e.g. gam-fw) can be built and timed too.

Memory is what the forward+backward needs above what is already there (the block's
parameters and the input): on CUDA, torch.cuda.max_memory_allocated minus the allocated
bytes before the step; on CPU, the peak resident set size (ru_maxrss) of a fresh process
after the step minus the same process's resident size just before it (after imports, when the block and the
input exist, and one warm-up step has run). On Linux the peak is the high-water mark
VmHWM, reset just before the measured step, and glibc is told to return every large block
to the system when it is freed (MALLOC_MMAP_THRESHOLD_), so the warm-up leaves nothing
resident; elsewhere ru_maxrss (which never goes down, hence the fresh process).

FLOPs are the block's own count (gamlab.blocks.block.Block.flops); the FLOP count is taught in notebooks/00_why_linear_time.ipynb, which derives it by hand;
measure_block is used there.
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from ..blocks.fast import use_fast_forms
from ..config import ModelConfig
from ..errors import GamlabError
from ..model import MODELS
from ..runtime import DTYPES, autocast, available_memory, pick_device, pick_precision, proc_bytes

# name -> (registry model whose block it is, config fields that make the variant, fast forms)
BLOCKS: dict[str, tuple[str, dict, bool]] = {
    "gam": ("gam", {}, True),
    "gam-reference": ("gam", {}, False),
    "transformer": ("transformer", {"attn_dropout": 0.0}, True),
    "transformer-naive": ("transformer-naive", {}, True),  # attention dropout = dropout, 0.1
    "mamba": ("mamba", {}, True),
}


def _entry(name: str) -> tuple[str, dict, bool]:
    if name in BLOCKS:
        return BLOCKS[name]
    if name in MODELS:
        return name, {}, True
    raise GamlabError(f"Unknown benchmark block {name!r}; choose from {', '.join(BLOCKS)} (or a model name).")


def block_config(name: str, d_model: int = 128, n_slots: int = 512) -> ModelConfig:
    """The config a benchmark block is built from: paper settings at width C = d_model."""
    model, changes, _ = _entry(name)
    n_head = 8 if d_model % 8 == 0 else 1
    config = ModelConfig(d_model=d_model, n_slots=n_slots, n_head=n_head, dropout=0.1)
    return config.replace(**{**MODELS[model].changes(config), **changes})


def build_block(name: str, d_model: int = 128, n_slots: int = 512, fast: bool | tuple[str, ...] | None = None) -> nn.Module:
    """One benchmark block in training mode (dropout on, as in a training step).

    fast: the forms to use (gamlab.blocks.fast.use_fast_forms); None: the entry's (BLOCKS)."""
    model, _, default = _entry(name)
    block = MODELS[model].block(block_config(name, d_model, n_slots))
    return use_fast_forms(block, default if fast is None else fast).train()


def flops(name: str, seq_len: int, batch: int = 8, d_model: int = 128, n_slots: int = 512) -> float:
    """Floating-point operations of one forward+backward, as the block counts them
    (gamlab.blocks.block.Block.flops: 3 x the forward's matmul FLOPs; each block's formula in its
    flops_per_token). Built on the meta device: no memory, no initialisation."""
    with torch.device("meta"):
        block = build_block(name, d_model, n_slots)
    return block.flops(seq_len, batch)


def _is_oom(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in text or "can't allocate" in text


def _step(block: nn.Module, x: torch.Tensor, dy: torch.Tensor, device: torch.device) -> None:
    """One forward+backward; parameter gradients are dropped first, as zero_grad does."""
    for p in block.parameters():
        p.grad = None
    x.grad = None
    with autocast(device):
        y = block(x)
    y.backward(dy)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _inputs(batch, seq_len, d_model, device):
    """The benchmark's input x (B, T, C) and the gradient dy arriving from above, seeded."""
    torch.manual_seed(0)
    x = torch.randn(batch, seq_len, d_model, device=device, requires_grad=True)
    return x, torch.randn(batch, seq_len, d_model, device=device)


OOM = {"ms": None, "peak_mb": None, "oom": True}


def _memory(name, seq_len, batch, d_model, n_slots, device, rss_memory, mem_limit_mb) -> dict:
    """Peak memory of one step above the block and its input, in this process: {"peak_mb", "oom"}.

    rss_memory: peak RSS on CPU (a fresh process only); otherwise CUDA's allocator statistics.
    """
    x, dy = _inputs(batch, seq_len, d_model, device)
    try:
        block = build_block(name, d_model, n_slots).to(device)
        if rss_memory:
            if mem_limit_mb:  # a failed allocation (reported as OOM) instead of a swapped-out machine
                limit = _data_bytes() + int(mem_limit_mb * 2**20)
                resource.setrlimit(resource.RLIMIT_DATA, (limit, resource.getrlimit(resource.RLIMIT_DATA)[1]))
            _step(block, x, dy, device)  # warm-up: thread pools, kernel caches, lazy buffers
            before = _reset_peak_rss()
            _step(block, x, dy, device)
            return {"peak_mb": max(_peak_rss() - before, 0) / 2**20, "oom": False}
        _step(block, x, dy, device)  # warm-up: cuBLAS workspaces and autotuning are not the block's
        _sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        _step(block, x, dy, device)
        _sync(device)
        return {"peak_mb": (torch.cuda.max_memory_allocated(device) - before) / 2**20, "oom": False}
    except (RuntimeError, MemoryError) as exc:
        if not _is_oom(exc) and not isinstance(exc, MemoryError):
            raise
        return {"peak_mb": None, "oom": True}


def time_blocks(blocks, seq_len, batch=8, d_model=128, n_slots=512, device="cpu", repeats=3) -> dict[str, dict]:
    """Forward+backward time of each block on the same input, the blocks' steps interleaved.

    blocks: names from BLOCKS (built here), or {name: module} for blocks built elsewhere.
    Round r times step r of every block in turn, so a slow moment of a shared machine slows
    all of them rather than one. Per block: {"ms": the best step, "ms_median": the median
    step, "oom": False}, or {"ms": None, "oom": True} for a block that ran out of memory.
    The best step is the figure: other processes on a machine only ever add time.
    """
    device = torch.device(device)
    x, dy = _inputs(batch, seq_len, d_model, device)
    modules = dict(blocks) if isinstance(blocks, dict) else {}
    times = {name: [] for name in blocks}
    ran_out = set()

    def step(name, timed: bool) -> None:
        try:
            if name not in modules:
                modules[name] = build_block(name, d_model, n_slots).to(device)
            _sync(device)
            t0 = time.perf_counter()
            _step(modules[name], x, dy, device)
            _sync(device)
            if timed:
                times[name].append((time.perf_counter() - t0) * 1e3)
        except (RuntimeError, MemoryError) as exc:
            if not _is_oom(exc) and not isinstance(exc, MemoryError):
                raise
            ran_out.add(name)
            modules.pop(name, None)
            if device.type == "cuda":
                torch.cuda.empty_cache()

    for name in times:
        step(name, timed=False)  # warm-up: first-call allocations, kernel selection
    for _ in range(repeats):
        for name in times:
            if name not in ran_out:
                step(name, timed=True)
    return {name: {"ms": None, "oom": True} if name in ran_out else
            {"ms": min(t), "ms_median": statistics.median(t), "oom": False} for name, t in times.items()}


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


def measure_block(name: str, seq_len: int, batch: int = 8, d_model: int = 128, n_slots: int = 512,
                  device=None, repeats: int = 3, memory: bool = True,
                  mem_limit_mb: float | None = None) -> dict:
    """Time one block's forward+backward on random input x of shape (B=batch, T=seq_len, C=d_model).

    Returns {"ms": the best of `repeats` steps after one warm-up step, in milliseconds
    ("ms_median": their median), "peak_mb": memory the step needed above the block and its
    input (None when not measured), "oom": True when the step ran out of memory (then ms and
    peak_mb are None)}. To compare blocks, time_blocks interleaves their steps.

    Precision: the device's policy (gamlab.runtime.pick_precision: bf16 autocast on a GPU with
    bf16 hardware, fp16 autocast on an older one, float32 on a CPU). On CUDA the peak comes
    from torch.cuda.max_memory_allocated. On CPU with
    memory=True the memory is measured in a fresh Python process (a second or two to start)
    so that its peak RSS belongs to this block alone, and the timing runs here; there an
    allocation beyond `mem_limit_mb` (default: 70% of the memory available now) fails and
    counts as OOM rather than swapping the machine. memory=False skips memory.
    """
    _entry(name)  # an unknown name: GamlabError
    if seq_len < 1 or batch < 1 or repeats < 1:
        raise GamlabError("seq_len, batch and repeats must be positive integers.")
    device = pick_device(device if device is None or isinstance(device, str) else str(device))
    peak = block_memory(name, seq_len, batch, d_model, n_slots, device, mem_limit_mb) if memory else None
    if peak is not None and peak["oom"]:
        return dict(OOM)
    timed = time_blocks([name], seq_len, batch, d_model, n_slots, device, repeats)[name]
    return {**timed, "peak_mb": peak["peak_mb"] if peak else None} if not timed["oom"] else dict(OOM)


def block_memory(name, seq_len, batch, d_model, n_slots, device, mem_limit_mb=None) -> dict:
    """{"peak_mb", "oom"} of one step: in this process on CUDA, in a fresh process on CPU."""
    if device.type == "cuda":
        return _memory(name, seq_len, batch, d_model, n_slots, device, False, None)
    if device.type != "cpu":  # no peak-memory counter to read (e.g. MPS)
        return {"peak_mb": None, "oom": False}
    if mem_limit_mb is None:
        mem_limit_mb = 0.7 * _available_mb()
    args = dict(name=name, seq_len=seq_len, batch=batch, d_model=d_model, n_slots=n_slots,
                mem_limit_mb=mem_limit_mb, threads=torch.get_num_threads())
    root = str(Path(__file__).resolve().parents[2])  # the folder that holds this gamlab package
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
           # glibc: every block over 64 KiB gets its own mapping, returned to the system when
           # freed, so the warm-up step's tensors do not linger in the resident size
           "MALLOC_MMAP_THRESHOLD_": "65536"}
    proc = subprocess.run([sys.executable, "-c", "import gamlab.experiments.bench as b; b._child()", json.dumps(args)],
                          capture_output=True, text=True, env=env)
    if proc.returncode in (-9, 137):  # killed by the kernel's out-of-memory killer
        return {"peak_mb": None, "oom": True}
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed for {name} at T={seq_len}:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _child() -> None:
    """Entry point of the fresh process block_memory starts on CPU."""
    args = json.loads(sys.argv[1])
    torch.set_num_threads(args.pop("threads"))
    print(json.dumps(_memory(device=torch.device("cpu"), rss_memory=True, **args)))


def matmul_rate(device=None, n: int | None = None, repeats: int = 10) -> float:
    """The device's plain matmul rate in FLOP/s: (n x n) @ (n x n) in the dtype of the device's
    precision policy (gamlab.runtime.pick_precision: float32 on CPU, bf16 or fp16 on CUDA).

    The best of `repeats` products: the rate is what the machine can do, and on a shared
    machine other processes only ever slow a product down (a median here has been seen to
    halve from one run to the next), so the best one is the steadiest yardstick for fractions.
    """
    device = pick_device(device if device is None or isinstance(device, str) else str(device))
    n = n or (8192 if device.type == "cuda" else 2048)
    dtype = DTYPES[pick_precision(device)]
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / min(times)


def growth_exponent(lengths, values) -> float | None:
    """Slope of log(value) against log(T), least squares: 1 = linear, 2 = quadratic.

    None with fewer than two measured points (OOM rows carry None and are left out).
    """
    pts = [(math.log(t), math.log(v)) for t, v in zip(lengths, values) if v is not None and v > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx if sxx else None


def run_grid(blocks, lengths, batch=8, d_model=128, n_slots=512, device=None, repeats=3,
             memory=True, rate=None, progress=None) -> list[dict]:
    """Every block at every length. At each T: each block's memory (block_memory), then all
    blocks timed together (time_blocks, steps interleaved). A block that ran out of memory at
    some T is reported OOM at every longer T without being run again.

    Each row: name, seq_len, ms, ms_median, peak_mb, oom, gflop (analytic, forward+backward)
    and fraction (achieved FLOP/s over `rate`, the device's matmul rate, when given).
    """
    device = pick_device(device if device is None or isinstance(device, str) else str(device))
    rows = []
    ran_out = set()
    for T in sorted(lengths):
        live = [n for n in blocks if n not in ran_out]
        peaks = {n: block_memory(n, T, batch, d_model, n_slots, device) if memory else None for n in live}
        timed = time_blocks([n for n in live if not (peaks[n] and peaks[n]["oom"])], T, batch, d_model,
                            n_slots, device, repeats)
        for name in blocks:
            if name in timed and not timed[name]["oom"]:
                result = {**timed[name], "peak_mb": peaks[name]["peak_mb"] if peaks[name] else None}
            else:
                result = dict(OOM)
                ran_out.add(name)
            row = {"name": name, "seq_len": T, **result, "gflop": flops(name, T, batch, d_model, n_slots) / 1e9}
            row["fraction"] = (row["gflop"] * 1e9 / (row["ms"] / 1e3) / rate) if rate and row["ms"] else None
            rows.append(row)
            if progress:
                progress(row)
    return sorted(rows, key=lambda r: list(blocks).index(r["name"]))  # block by block, T ascending
