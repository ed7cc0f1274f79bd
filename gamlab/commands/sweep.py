"""`gamlab sweep`: each model's learning rate, chosen on a log grid (gamlab/experiments/sweep.py).

Prints every model's validation loss at every learning rate and the best; writes sweep.json
to --out, and with --save stores the chosen values in gamlab/experiments/tuned_lr.json, where
`gamlab compare` reads them.

    gamlab sweep                                 # every model of the race, preset tiny, the default grid
    gamlab sweep --models gam --grid 1e-3,2e-3,4e-3
    gamlab sweep --save                          # ... and store the chosen rates for `gamlab compare`
"""

from __future__ import annotations

import json
import statistics
import time

from ..errors import GamlabError
from ..experiments.compare import DEFAULT_MODELS, parse_models
from ..experiments.runs import out_folder
from ..experiments.sweep import GRID, save_tuned, sweep, tuned_path
from ..runtime import describe, pick_device, pick_precision
from ..training.files import writable_folder, write_atomic
from .common import add_common_arguments, command_line, count, resolve_job, show_progress


def parse_grid(text: str) -> list[float]:
    """"1e-3,2e-3" -> [0.001, 0.002]; GamlabError for text that is not numbers (sweep refuses
    values that are not positive)."""
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise GamlabError(f"--grid {text!r} is not a comma-separated list of numbers; e.g. --grid 1e-3,2e-3,4e-3.")


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="pick each model's learning rate on a log grid (a shorter budget)")
    add_common_arguments(p)
    p.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated model names")
    p.add_argument("--grid", default=",".join(f"{lr:g}" for lr in GRID), help="learning rates to try")
    p.add_argument("--sweep-steps", type=count, help="steps per run (default: half the preset's --steps)")
    p.add_argument("--seeds", type=count, default=1, help="seeds per learning rate")
    p.add_argument("--save", action="store_true",
                   help="store the chosen learning rates in gamlab/experiments/tuned_lr.json (what `gamlab compare` uses)")
    p.add_argument("--out", default="runs/sweep", help="folder for sweep.json")
    p.set_defaults(run=run)


def run(args) -> int:
    names, grid = parse_models(args.models), parse_grid(args.grid)
    preset, tc = resolve_job(args)
    device = pick_device(args.device)
    tc = tc.replace(device=str(device))
    out = out_folder(args.out)
    if args.save:  # where --save writes, proved writable now rather than after the sweep
        writable_folder(tuned_path().parent, "--save (gamlab/experiments/tuned_lr.json)")
    preset_name = preset.name
    print(describe(device, tc.precision))
    t0 = time.perf_counter()
    result = sweep(names, preset, tc, grid, steps=args.sweep_steps, seeds=args.seeds, dataset=args.dataset,
                   progress=show_progress(args), log=lambda line: print(line, flush=True))
    print()
    print(f"{'Model':<14}" + "".join(f"{lr:>10g}" for lr in result["grid"]) + f"{'best':>10}")
    for name, table in result["val_loss"].items():
        cells = "".join(f"{statistics.fmean(v):>10.3f}" for v in table.values())
        print(f"{name:<14}{cells}{result['lr'][name]:>10g}")
    for name in result["at_edge"]:
        print(f"note: {name}'s best learning rate is at the edge of the grid; widen --grid to see beyond it.")
    command = command_line("sweep", args, {
        "models": ",".join(names), "grid": ",".join(f"{lr:g}" for lr in result["grid"]),
        "sweep-steps": result["steps"], "seeds": args.seeds, "seed": args.seed,
        "precision": args.precision if args.precision != "auto" else None,
        "dataset": args.dataset if args.dataset != "embedded" else None})
    about = {"dataset": args.dataset, "device": describe(device, tc.precision),
             "precision": pick_precision(device, tc.precision),
             "seconds": round(time.perf_counter() - t0, 1)}
    write_atomic(out / "sweep.json", json.dumps({"command": command, "preset": preset_name, **about, **result}, indent=1),
                 kept="the table above is all that was kept")
    print(f"\nwrote {out / 'sweep.json'} ({about['seconds']:.0f} s)")
    if args.save:
        print(f"stored the chosen learning rates for preset {preset_name!r} in {save_tuned(preset_name, result, command, **about)}")
    return 0
