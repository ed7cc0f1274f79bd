"""`gamlab compare`: GAM, a Transformer and a Mamba-style model on the same data, side by side.

Prints the paper's Table 1 layout and a sample per model; writes results.json and
loss_curves.html (plotly, self-contained) to --out. The race itself is gamlab.compare.compare.
"""

from __future__ import annotations

import json
import time

from .. import distributed
from ..compare import DEFAULT_MODELS, compare, parse_models
from ..model import shapes_only
from ..runs import check_fits, format_table, guess_vocab, matched_config, model_config, out_folder
from ..runtime import describe, pick_device
from .common import add_common_arguments, resolve_job, show_progress


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="train GAM, Transformer and Mamba side by side; print a Table-1 style table")
    add_common_arguments(p)
    p.add_argument("--models", default=",".join(DEFAULT_MODELS),
                   help=f"comma-separated model names (default: {','.join(DEFAULT_MODELS)})")
    p.add_argument("--out", default="runs/compare", help="folder for results.json and loss_curves.html")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..plots import loss_curves

    names = parse_models(args.models)
    preset, tc = resolve_job(args)
    device = distributed.setup(pick_device(args.device))  # under torchrun: join the group first
    out = out_folder(args.out)
    preset_name = "fast" if args.fast else args.preset
    guess = model_config(preset, guess_vocab(preset, args.tokenizer))
    guess_target = shapes_only("gam", guess).num_params()
    for name in names:  # refuse a preset too big for the device before any work
        check_fits(shapes_only(name, matched_config(name, guess, guess_target)), tc.batch_size, device, preset_name)
    print(describe(device))
    t0 = time.perf_counter()
    race = compare(names, preset, tc, dataset=args.dataset, tokenizer=args.tokenizer, progress=show_progress(args),
                   log=lambda line: print(line, flush=True))
    data, unigram, rows = race["data"], race["unigram"], race["rows"]
    print()
    print(format_table(rows, unigram))
    for name, text in race["samples"].items():
        print(f"\n[{name}] {text!r}")
    if not distributed.is_main():  # under torchrun only rank 0 writes
        return 0
    out.mkdir(parents=True, exist_ok=True)
    results = {"command": "gamlab compare", "dataset": data.name, "preset": preset_name,
               "device": str(device), "describe": describe(device), "tokenizer": data.tokenizer.kind,
               "vocab_size": data.vocab_size, "train_tokens": data.train.numel(), "val_tokens": data.val.numel(),
               "steps_per_epoch": data.steps_per_epoch, "train_config": tc.to_dict(),
               "model_config": race["model_config"].to_dict(), "unigram_val_loss": unigram, "results": rows,
               "histories": race["histories"], "samples": race["samples"],
               "wall_seconds": time.perf_counter() - t0}
    (out / "results.json").write_text(json.dumps(results, indent=1))
    fig = loss_curves(race["histories"], unigram=unigram,
                      title=f"Validation loss on {data.name} ({data.tokenizer.kind} tokens)")
    fig.write_html(out / "loss_curves.html", include_plotlyjs=True)  # self-contained: opens offline
    print(f"\nwrote {out / 'results.json'} and {out / 'loss_curves.html'} "
          f"({time.perf_counter() - t0:.0f} s in all)")
    return 0
