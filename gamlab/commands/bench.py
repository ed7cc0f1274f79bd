"""`gamlab bench`: the paper's Table 2, measured here, for every block and sequence length.

Prints a table (rows = sequence lengths; per block: forward+backward milliseconds and peak
MB), the fitted growth exponent of each block's time (1 = linear, 2 = quadratic), the
device's matmul rate and the fraction of it each block achieves; writes bench.json and a
log-log chart bench.html into --out.

    gamlab bench                      sized for the device found (a few minutes on a CPU)
    gamlab bench --preset paper       the paper's block (C = 512, S = 512), batch 16, T = 256 .. 8192
                                      as its Table 2 (meant for a GPU)
    gamlab bench --preset tiny        the block of the preset tiny (C = 64, S = 64), the device's lengths
    gamlab bench --fast --no-memory   the preset fast's block at T = 32, 64, batch 2: a check in seconds
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from ..errors import GamlabError
from ..experiments.bench import BLOCKS, growth_exponent, matmul_rate, run_grid
from ..experiments.runs import PRESETS, out_folder
from ..runtime import describe, pick_device, pick_precision
from ..training.files import write_atomic
from .common import add_device_argument, count, thread_count

DEFAULTS = {  # device type -> sizes
    "cpu": dict(lengths=[256, 512, 1024, 2048], batch=8, d_model=128, repeats=3),
    "cuda": dict(lengths=[256, 512, 1024, 2048, 4096, 8192], batch=16, d_model=512, repeats=10),
}
TABLE2 = dict(lengths=[256, 512, 1024, 2048, 4096, 8192], batch=16)  # the paper's Table 2 measured these
FAST = dict(lengths=[32, 64], batch=2, repeats=1)  # --fast: a check that the bench runs, in seconds


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="time and peak memory of one block against sequence length (paper Table 2)")
    p.add_argument("--blocks", default=",".join(BLOCKS), help=f"comma-separated, from {', '.join(BLOCKS)}")
    p.add_argument("--lengths", default=None, help="comma-separated sequence lengths (default: sized for the device)")
    p.add_argument("--batch-size", type=count, default=None,
                   help="sequences per timed step (default: 8 on a CPU, 16 on a GPU)")
    p.add_argument("--batch", dest="batch_size", type=count, help=argparse.SUPPRESS)  # its old spelling, still read
    p.add_argument("--d-model", type=count, default=None, help="width C (default: 128 on a CPU, 512 on a GPU)")
    p.add_argument("--slots", type=count, default=None, help="GAM memory slots S (default: 512, or the preset's)")
    p.add_argument("--repeats", type=count, default=None,
                   help="timed steps per measurement (the best is reported, the median kept in bench.json; "
                        "default: 3 on a CPU, 10 on a GPU)")
    add_device_argument(p)
    p.add_argument("--threads", type=thread_count, default=None, help="CPU threads while timing (default: 1, steady on a shared machine)")
    p.add_argument("--preset", choices=list(PRESETS), default=None,
                   help="the block of this run preset (its width C and slots S, gamlab.experiments.runs.PRESETS); "
                        "paper also measures as the paper's Table 2: batch 16, T=256..8192")
    p.add_argument("--fast", action="store_true",
                   help="the preset fast's block at T = 32, 64, batch 2, one timed step (options given win); with "
                        "--no-memory it runs in seconds on a CPU")
    p.add_argument("--no-memory", action="store_true", help="skip peak memory (on CPU: no subprocess per run)")
    p.add_argument("--no-progress", action="store_true",
                   help="no line per measurement while it runs (the table still prints)")
    p.add_argument("--out", default="runs/bench", help="folder for bench.json and bench.html")
    p.set_defaults(run=run)


def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise GamlabError(f"--{what} takes comma-separated integers such as 256,512,1024; got {text!r}.") from None
    if not values or min(values) < 1:
        raise GamlabError(f"--{what} needs at least one positive integer; got {text!r}.")
    return values


def settings(args) -> dict:
    """The run's sizes: the device's defaults, then --preset's block, then explicit options."""
    device = pick_device(args.device)
    s = dict(DEFAULTS["cuda" if device.type == "cuda" else "cpu"], n_slots=512)
    preset = "fast" if args.fast else args.preset
    if preset is not None:
        model = PRESETS[preset].model
        s.update(d_model=model.d_model, n_slots=model.n_slots, **(TABLE2 if preset == "paper" else {}))
    if args.fast:
        s.update(FAST)
    if args.lengths:
        s["lengths"] = _ints(args.lengths, "lengths")
    if args.slots is not None:
        s["n_slots"] = args.slots
    for key, option in (("batch", "batch_size"), ("d_model", "d_model"), ("repeats", "repeats")):
        if getattr(args, option) is not None:
            s[key] = getattr(args, option)
    blocks = [b.strip() for b in args.blocks.split(",") if b.strip()]
    unknown = [b for b in blocks if b not in BLOCKS]
    if unknown or not blocks:
        raise GamlabError(f"Unknown block {', '.join(unknown) or '(none)'}; choose from {', '.join(BLOCKS)}.")
    return dict(s, blocks=blocks, device=device)


def table(rows: list[dict], blocks: list[str]) -> str:
    """Paper Table 2 layout: one row per length, time (ms) and memory (MB) per block."""
    lengths = sorted({r["seq_len"] for r in rows})
    by = {(r["name"], r["seq_len"]): r for r in rows}
    head = f"{'T':>6} | " + " | ".join(f"{b + ' ms':>20} {'MB':>7}" for b in blocks)
    lines = [head, "-" * len(head)]
    for T in lengths:
        cells = []
        for b in blocks:
            r = by.get((b, T))
            if r is None:
                cells.append(f"{'':>20} {'':>7}")
            elif r["oom"]:
                cells.append(f"{'OOM':>20} {'OOM':>7}")
            else:
                mb = f"{r['peak_mb']:.0f}" if r["peak_mb"] is not None else "-"
                cells.append(f"{r['ms']:>20.2f} {mb:>7}")
        lines.append(f"{T:>6} | " + " | ".join(cells))
    return "\n".join(lines)


def summary(rows: list[dict], blocks: list[str]) -> dict[str, dict]:
    """Per block: growth exponent of time and of memory, and the mean fraction of the matmul rate."""
    out = {}
    for b in blocks:
        rs = sorted((r for r in rows if r["name"] == b), key=lambda r: r["seq_len"])
        fr = [r["fraction"] for r in rs if r.get("fraction")]
        out[b] = {"time_exponent": growth_exponent([r["seq_len"] for r in rs], [r["ms"] for r in rs]),
                  "memory_exponent": growth_exponent([r["seq_len"] for r in rs], [r["peak_mb"] for r in rs]),
                  "matmul_fraction": sum(fr) / len(fr) if fr else None}
    return out


def run(args) -> int:
    out_folder(args.out)  # refused now, not after minutes of measuring
    if args.threads:
        torch.set_num_threads(args.threads)
    s = settings(args)
    device = s["device"]
    precision = pick_precision(device)  # the policy: what a training run on this device computes in
    print(describe(device))
    print(f"blocks {', '.join(s['blocks'])} | batch {s['batch']} | C={s['d_model']} | S={s['n_slots']} | "
          f"T={','.join(map(str, s['lengths']))} | {s['repeats']} timed steps | {precision}")
    rate = matmul_rate(device, threads=args.threads or 1)
    print(f"plain matmul rate: {rate / 1e9:.1f} GFLOP/s ({precision})")
    t0 = time.perf_counter()

    def progress(row):
        state = "OOM" if row["oom"] else f"{row['ms']:.2f} ms" + (
            f", {row['peak_mb']:.0f} MB" if row["peak_mb"] is not None else "")
        print(f"  {row['name']:<18} T={row['seq_len']:<6} {state}", flush=True)

    rows = run_grid(s["blocks"], s["lengths"], s["batch"], s["d_model"], s["n_slots"], device,
                    s["repeats"], memory=not args.no_memory, rate=rate, progress=None if args.no_progress else progress,
                    threads=args.threads or 1)
    print()
    print(table(rows, s["blocks"]))
    stats = summary(rows, s["blocks"])
    print("\nfitted growth (log-log slope over the lengths measured; 1 = linear, 2 = quadratic)"
          " and achieved fraction of the matmul rate (analytic FLOPs, gamlab.experiments.bench.flops):")
    for b, st in stats.items():
        fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
        print(f"  {b:<18} time ~ T^{fmt(st['time_exponent'], '.2f')}  memory ~ T^{fmt(st['memory_exponent'], '.2f')}"
              f"  {fmt(st['matmul_fraction'] and 100 * st['matmul_fraction'], '.0f')}% of matmul rate")
    record = {"device": describe(device), "precision": precision,
              "settings": {k: v for k, v in s.items() if k != "device"},
              "matmul_gflops": rate / 1e9, "rows": rows, "summary": stats,
              "seconds": time.perf_counter() - t0}
    kept = "the table above is all that was kept"
    write_atomic(os.path.join(args.out, "bench.json"), json.dumps(record, indent=1), kept=kept)
    try:  # the chart needs plotly; the numbers do not (a bare GPU image may lack it)
        from ..inspection.plots import scaling_chart
    except ImportError:
        print(f"\nwrote {args.out}/bench.json; no chart: plotly is not installed (pip install plotly)"
              f" ({time.perf_counter() - t0:.0f} s)")
        return 0
    chart = scaling_chart(rows, {b: st["time_exponent"] for b, st in stats.items()})
    write_atomic(os.path.join(args.out, "bench.html"), chart.to_html(include_plotlyjs=True),  # opens offline
                 kept=f"{args.out}/bench.json holds the measurements")
    print(f"\nwrote {args.out}/bench.json and {args.out}/bench.html ({time.perf_counter() - t0:.0f} s)")
    return 0
