"""Scaling benchmark: one block's forward+backward time and peak memory against sequence length.

The paper's Table 2 times one block, forward and backward, at growing sequence lengths T.
`measure_block` does one such measurement; `gamlab bench` (gamlab/commands/bench.py) runs the grid,
prints the table, and fits how time grows with T. The blocks and the measured step are in
gamlab.experiments.bench_blocks (BLOCKS, build_block), the peak-memory probe in
gamlab.experiments.peak_memory (block_memory); this module times them.

FLOPs are the block's own count (gamlab.blocks.block.Block.flops); the FLOP count is taught in notebooks/00_why_linear_time.ipynb, which derives it by hand;
measure_block is used there.
"""

from __future__ import annotations

import math

import torch

from ..errors import GamlabError
from ..host_memory import available_memory
from ..runtime import DTYPES, pick_device, pick_precision
from .bench_blocks import BLOCKS, block_config, build_block, entry, is_oom, step_inputs, train_step
from .peak_memory import block_memories, block_memory
from .timing import KEEP_BYTES, measure

__all__ = ["BLOCKS", "block_config", "block_memory", "build_block", "flops", "growth_exponent", "matmul_rate",
           "measure_block", "run_grid", "time_blocks", "time_grid"]

def flops(name: str, seq_len: int, batch: int = 8, d_model: int = 128, n_slots: int = 512) -> float:
    """Floating-point operations of one forward+backward, as the block counts them
    (gamlab.blocks.block.Block.flops: 3 x the forward's matmul FLOPs; each block's formula in its
    flops_per_token). Built on the meta device: no memory, no initialisation."""
    with torch.device("meta"):
        block = build_block(name, d_model, n_slots)
    return block.flops(seq_len, batch)


OOM = {"ms": None, "peak_mb": None, "oom": True}


def time_grid(blocks, lengths, batch=8, d_model=128, n_slots=512, device="cpu", repeats=3,
              threads=1, budget_s=0.0, say=print, skip=()) -> dict[tuple[str, int], dict]:
    """Forward+backward time of each block at each length, all steps interleaved, through
    gamlab.experiments.timing.measure.

    blocks: names from BLOCKS (built here), or {name: module} for blocks built elsewhere.
    Each round runs every (block, T) step once, so a slow moment of a shared machine slows all
    of them alike and leaves the ratios between lengths (the fitted slopes) and between blocks
    alone; on a CPU on `threads` torch threads (one: other programs cannot stall a thread
    pool), after one warm-up step each (first-call allocations, kernel selection), with more
    rounds while the timed ones took less than `budget_s` seconds. Per (name, T): {"ms": the
    best step, "ms_median": the median step, "spread": (median - best) / best, "oom": False},
    or {"ms": None, "oom": True} where it ran out of memory. The best step is the figure:
    other programs only ever add time. `say` prints the allocator note (measure). The (name, T)
    steps in `skip` are not run and come back as out of memory (run_grid's memory check).
    """
    device = torch.device(device)
    modules = dict(blocks) if isinstance(blocks, dict) else {}
    for name in blocks:
        if name not in modules:
            try:
                modules[name] = build_block(name, d_model, n_slots).to(device)
            except (RuntimeError, MemoryError) as exc:
                if not is_oom(exc):
                    raise
                modules[name] = None
    steps = {}
    for T in lengths:
        try:
            x, dy = step_inputs(batch, T, d_model, device)
        except (RuntimeError, MemoryError) as exc:  # the input alone does not fit: no block runs
            if not is_oom(exc):
                raise
            continue
        for name, m in modules.items():
            if m is not None and (name, T) not in skip:
                steps[(name, T)] = lambda m=m, x=x, dy=dy: train_step(m, x, dy, device)
    timed = measure(steps, repeats=repeats, warmup=1, device=device, threads=threads, budget_s=budget_s, say=say)
    return {(name, T): {"ms": None, "oom": True} if timed.get((name, T)) is None else
            {"ms": timed[name, T].best, "ms_median": timed[name, T].median, "spread": timed[name, T].spread,
             "oom": False} for T in lengths for name in blocks}


def time_blocks(blocks, seq_len, batch=8, d_model=128, n_slots=512, device="cpu", repeats=3,
                threads=1, budget_s=0.0, say=print) -> dict[str, dict]:
    """time_grid at one length: {name: {"ms", "ms_median", "spread", "oom"}}, the blocks interleaved."""
    timed = time_grid(blocks, [seq_len], batch, d_model, n_slots, device, repeats, threads, budget_s, say)
    return {name: timed[name, seq_len] for name in blocks}


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
    entry(name)  # an unknown name: GamlabError
    if seq_len < 1 or batch < 1 or repeats < 1:
        raise GamlabError("seq_len, batch and repeats must be positive integers.")
    device = pick_device(device if device is None or isinstance(device, str) else str(device))
    peak = block_memory(name, seq_len, batch, d_model, n_slots, device, mem_limit_mb) if memory else None
    if peak is not None and peak["oom"]:
        return dict(OOM)
    timed = time_blocks([name], seq_len, batch, d_model, n_slots, device, repeats)[name]
    return {**timed, "peak_mb": peak["peak_mb"] if peak else None} if not timed["oom"] else dict(OOM)


def matmul_rate(device=None, n: int | None = None, repeats: int = 10, threads: int = 1) -> float:
    """The device's plain matmul rate in FLOP/s: (n x n) @ (n x n) in the dtype of the device's
    precision policy (gamlab.runtime.pick_precision: float32 on CPU, bf16 or fp16 on CUDA), on
    `threads` CPU threads as the blocks are timed (gamlab.experiments.timing.measure).

    The best of `repeats` products: the rate is what the machine can do, and on a shared
    machine other processes only ever slow a product down (a median here has been seen to
    halve from one run to the next), so the best one is the steadiest yardstick for fractions.
    """
    device = pick_device(device if device is None or isinstance(device, str) else str(device))
    n = n or (8192 if device.type == "cuda" else 2048)
    dtype = DTYPES[pick_precision(device)]
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = measure({"matmul": lambda: a @ b}, repeats=repeats, device=device, threads=threads, say=None)["matmul"]
    return 2 * n**3 / (best.best / 1e3)


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


# A step's measured peak (a fresh process, peak_memory) times this, plus what the timing process
# keeps, must fit in the memory available now: the timing process holds every block's input and
# glibc's kept blocks (timing.KEEP_BYTES) beside the step, about 1.15x the measured peak at
# lesson 0's naive T = 1024 (1,053 MB measured, 1.2 GB more in the timing process).
FIT_MARGIN = 1.3


def fits_here(peak_mb: float | None, device: torch.device) -> bool:
    """Whether a step that needed `peak_mb` MiB in a fresh process can run in this one now (CPU:
    host_memory.available_memory; a cgroup's limit counts). On a CPU the kernel kills a process
    that outgrows its container instead of raising an error, so run_grid checks before timing;
    CUDA raises a catchable out-of-memory error, so there every step is tried."""
    if device.type != "cpu" or peak_mb is None:
        return True
    free = available_memory(device)
    return free is None or peak_mb * 2**20 * FIT_MARGIN + KEEP_BYTES <= free


def run_grid(blocks, lengths, batch=8, d_model=128, n_slots=512, device=None, repeats=3,
             memory=True, rate=None, progress=None, threads=1, budget_s=0.0,
             lengths_together=False) -> list[dict]:
    """Every block at every length: each block's memory (block_memories), then the blocks timed
    together (time_grid, steps interleaved), length by length, or all lengths in one
    interleaved grid with lengths_together=True (steadier slopes on a busy machine; progress
    is then called once the grid is timed). A block that ran out of memory at some T is
    reported OOM at every longer T without being run again; so is, on a CPU, a step whose
    measured peak would not fit in this process now (fits_here: on a container-limited machine
    such as Binder's 2 GB the naive attention's longest step is reported, not run and killed).

    Timed on `threads` CPU threads, with more rounds while under `budget_s` (time_grid). Each
    row: name, seq_len, ms, ms_median, spread, peak_mb, oom, gflop (analytic, forward+backward)
    and fraction (achieved FLOP/s over `rate`, the device's matmul rate, when given).
    """
    device = pick_device(device if device is None or isinstance(device, str) else str(device))
    lengths = sorted(lengths)
    rows, peaks, oom_from = [], {}, {}  # oom_from: block -> the first length it ran out of memory at

    def fits(name, T):
        return T < oom_from.get(name, math.inf)

    def row_of(name, T, timed):
        if not fits(name, T) or (name, T) not in timed or timed[name, T]["oom"]:
            oom_from[name] = min(T, oom_from.get(name, math.inf))
            result = dict(OOM)
        else:
            peak = peaks.get((name, T))
            result = {**timed[name, T], "peak_mb": peak["peak_mb"] if peak else None}
        row = {"name": name, "seq_len": T, **result, "gflop": flops(name, T, batch, d_model, n_slots) / 1e9}
        row["fraction"] = (row["gflop"] * 1e9 / (row["ms"] / 1e3) / rate) if rate and row["ms"] else None
        rows.append(row)
        if progress:
            progress(row)

    for group in ([lengths] if lengths_together else [[T] for T in lengths]):
        if memory:  # one fresh process for the group where it can (block_memories)
            peaks.update(block_memories([(n, T) for T in group for n in blocks if fits(n, T)], batch, d_model,
                                        n_slots, device))
            for (n, T), peak in sorted(peaks.items(), key=lambda kv: kv[0][1]):
                if peak["oom"] or not fits_here(peak["peak_mb"], device):
                    oom_from[n] = min(T, oom_from.get(n, math.inf))
        live = [n for n in blocks if fits(n, group[0])]
        skip = {(n, T) for n in live for T in group if not fits(n, T)}
        timed = time_grid(live, group, batch, d_model, n_slots, device, repeats, threads, budget_s, skip=skip)
        for T in group:
            for name in blocks:
                row_of(name, T, timed)
    return sorted(rows, key=lambda r: list(blocks).index(r["name"]))  # block by block, T ascending
