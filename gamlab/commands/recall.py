"""`gamlab recall`: train models on associative recall (MQAR) over a grid; a table and heatmaps.

The grid and its training are gamlab.experiments.recall; this shell maps the options onto RecallGrid and
writes results.json and heatmap.html to --out.
"""

from __future__ import annotations

import json

from ..errors import GamlabError
from ..experiments.recall import DEFAULT_MODELS, RecallGrid, format_table, run_grid
from ..experiments.runs import out_folder
from ..runtime import describe, fast_mode, pick_device
from .common import add_precision_argument


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise GamlabError(f"expected comma-separated integers such as 64,128, got {text!r}.") from None


def add_parser(sub) -> None:
    p = sub.add_parser("recall", help="train models on associative recall (MQAR) over a grid; table + heatmap")
    p.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated model names")
    p.add_argument("--lengths", default=None, help="sequence lengths, e.g. 64,128 (default 64)")
    p.add_argument("--pairs", default=None, help="key-value pairs per sequence, e.g. 4,8,16 (default)")
    p.add_argument("--steps", type=int, default=None, help="training steps per model and length (default 1000)")
    p.add_argument("--lr", type=float, default=None, help="learning rate after warm-up (default 2e-3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    add_precision_argument(p)
    p.add_argument("--out", default="runs/recall", help="folder for results.json and heatmap.html")
    p.add_argument("--fast", action="store_true", help="a tiny grid in seconds (also GAMLAB_FAST=1)")
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
    out = out_folder(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GamlabError(f"cannot create the output folder {str(out)!r} ({exc.strerror}); pass another --out.") from None
    print(f"MQAR recall: models {', '.join(grid.models)}; lengths {grid.lengths}; pairs {grid.pairs}; "
          f"{grid.steps} steps each; vocab {grid.vocab_size}")
    results = run_grid(grid)
    print(f"\nquery accuracy (chance {results['chance']:.2f}), device {results['device']}, "
          f"precision {results['precision']}:\n")
    print(format_table(results))
    (out / "results.json").write_text(json.dumps(results, indent=1))
    from ..inspection.plots import recall_heatmaps  # plotting only when writing the figure
    recall_heatmaps(results).write_html(out / "heatmap.html", include_plotlyjs=True)  # self-contained: opens offline
    print(f"\nwrote {out / 'results.json'} and {out / 'heatmap.html'}")
    return 0
