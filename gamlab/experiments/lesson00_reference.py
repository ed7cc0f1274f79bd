"""Lesson 0's CPU measurement and the project's saved run of it, drawn beside a student's live one.

SIZES are lesson 0's on a CPU: batch 8 and T = 256 / 512 / 1024 at C = 128, S = 512, where each
step computes long enough that the work and not the per-call overhead is timed (at batch 1 and
shorter lengths GAM's time grew as T^0.67, below linear, on a quiet machine) and the naive
attention's T x T matrix still fits and runs in well under a second. `measure_lesson00` runs
them (gamlab.experiments.bench.run_grid: every block at every length interleaved, round
after round, on one thread, each the best of its rounds, so that a busy moment of the machine
slows all lengths alike and leaves the slopes alone); lesson00_reference.json holds one such run on a quiet 2-core CPU, with the CPU
named. Remake it, on a quiet machine, from the repository root:

    PYTHONPATH=. python -m gamlab.experiments.lesson00_reference
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from .bench import growth_exponent, run_grid
from .timing import usable_cores

SAVED = Path(__file__).with_name("lesson00_reference.json")
BLOCKS = ["gam", "transformer", "transformer-naive"]
SIZES = dict(lengths=[256, 512, 1024], batch=8, d_model=128, n_slots=512)
REPEATS, BUDGET_S = 3, 4.0  # at least 3 rounds (every block at every length each), more within 4 s
COMMAND = "PYTHONPATH=. python -m gamlab.experiments.lesson00_reference"


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo's "model name" on Linux, else platform.processor())."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def slopes(rows: list[dict], key: str = "ms") -> dict[str, float | None]:
    """Per block, the fitted growth exponent of `key` against T (growth_exponent)."""
    names = dict.fromkeys(r["name"] for r in rows)
    return {n: growth_exponent([r["seq_len"] for r in rows if r["name"] == n],
                               [r[key] for r in rows if r["name"] == n]) for n in names}


def measure_lesson00(device="cpu", progress=None, memory: bool = True, **sizes) -> list[dict]:
    """Lesson 0's grid (SIZES unless given): rows of run_grid, one per block and length."""
    s = {**SIZES, **sizes}
    return run_grid(BLOCKS, s["lengths"], s["batch"], s["d_model"], s["n_slots"], device, repeats=REPEATS,
                    memory=memory, progress=progress, budget_s=BUDGET_S, lengths_together=True)


def load() -> dict:
    """The saved run: {"cpu", "cores", "command", "sizes", "rows", "time_slopes", "memory_slopes"}."""
    return json.loads(SAVED.read_text(encoding="utf-8"))


def write(path: Path = SAVED) -> dict:
    """Measure lesson 0's grid here and save it as the reference (run on a quiet machine)."""
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    rows = measure_lesson00(progress=lambda r: print(f"  {r['name']:<18} T={r['seq_len']:<5} {r['ms']:.2f} ms"))
    record = {"cpu": cpu_name(), "cores": usable_cores(), "load_1min": load_before, "command": COMMAND,
              "sizes": SIZES, "rows": [{k: r[k] for k in ("name", "seq_len", "ms", "peak_mb", "oom")} for r in rows],
              "time_slopes": slopes(rows), "memory_slopes": slopes(rows, "peak_mb")}
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record


if __name__ == "__main__":
    saved = write()
    print(f"wrote {SAVED.name}: {saved['cpu']}, {saved['cores']} cores, time slopes {saved['time_slopes']}")
