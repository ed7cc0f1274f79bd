"""`gamlab recall`: train models on associative recall (MQAR) over a grid; a table and heatmaps.

The grid and its training are gamlab.experiments.recall; this shell maps the options onto RecallGrid and
writes results.json and heatmap.html to --out.

    gamlab recall                                # GAM, Transformer, Mamba, gam-fw; T = 64; 4, 8, 16 pairs
    gamlab recall --fast                         # a tiny grid in seconds
    gamlab recall --models gam --lengths 64,128 --pairs 8,16 --steps 2000
"""

from __future__ import annotations

import json

from ..errors import GamlabError
from ..experiments.recall import DEFAULT_MODELS, RecallGrid, format_table, run_grid
from ..experiments.runs import out_folder
from ..runtime import describe, fast_mode, pick_device
from ..training.files import write_atomic
from .common import add_device_argument, add_precision_argument, count, positive, seed_value


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise GamlabError(f"expected comma-separated integers such as 64,128, got {text!r}.") from None


def add_parser(sub) -> None:
    p = sub.add_parser("recall", help="train models on associative recall (MQAR) over a grid; table + heatmap")
    p.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated model names")
    p.add_argument("--lengths", default=None, help="sequence lengths, e.g. 64,128 (default: 64)")
    p.add_argument("--pairs", default=None, help="key-value pairs per sequence (default: 4,8,16)")
    p.add_argument("--steps", type=count, default=None, help="training steps per model and length (default: 1000)")
    p.add_argument("--lr", type=positive, default=None, help="learning rate after warm-up (default: 2e-3)")
    p.add_argument("--seed", type=seed_value, default=0, help="random seed, 0 to 2**32 - 1")
    add_device_argument(p)
    add_precision_argument(p)
    p.add_argument("--out", default="runs/recall", help="folder for results.json and heatmap.html")
    p.add_argument("--fast", action="store_true", help="a tiny grid in seconds (also GAMLAB_FAST=1)")
    p.add_argument("--no-progress", action="store_true",
                   help="no line per model and length while the grid trains (the table still prints)")
    p.set_defaults(run=run)


def run(args) -> int:
    changes = {"models": tuple(m for m in args.models.split(",") if m), "seed": args.seed, "device": args.device,
               "precision": args.precision}
    for key, value in (("lengths", args.lengths), ("pairs", args.pairs)):
        if value is not None:
            changes[key] = _ints(value)
    for key in ("steps", "lr"):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key)
    grid = RecallGrid.fast(**changes) if args.fast or fast_mode() else RecallGrid(**changes)
    print(describe(pick_device(grid.device), grid.precision))
    out = out_folder(args.out)  # created and proved writable before the grid trains
    print(f"MQAR recall: models {', '.join(grid.models)}; lengths {grid.lengths}; pairs {grid.pairs}; "
          f"{grid.steps} steps each; vocab {grid.vocab_size}")
    results = run_grid(grid, progress=None if args.no_progress else print)
    print(f"\nquery accuracy (chance {results['chance']:.2f}), device {results['device']}, "
          f"precision {results['precision']}:\n")
    print(format_table(results))
    write_atomic(out / "results.json", json.dumps(results, indent=1), kept="the table above is all that was kept")
    from ..inspection.plots import recall_heatmaps  # plotting only when writing the figure
    write_atomic(out / "heatmap.html", recall_heatmaps(results).to_html(include_plotlyjs=True),  # opens offline
                 kept=f"{out / 'results.json'} holds the results")
    print(f"\nwrote {out / 'results.json'} and {out / 'heatmap.html'}")
    return 0
