"""`gamlab compare`: GAM, a Transformer and a Mamba-style model on the same data, side by side.

Each model trains at its own learning rate (stored by `gamlab sweep`, or --lr for all), once
per seed (--seeds). Prints the paper's Table 1 layout with mean±std over seeds, the count-table
baselines, the context gain beyond GAM's reach, a reading of the table, and a sample per
model; writes results.json and loss_curves.html (plotly, self-contained: validation loss per
step and per second of training) to --out. The race itself is gamlab.experiments.compare.compare.
"""

from __future__ import annotations

import json
import time

from ..experiments.compare import DEFAULT_MODELS, compare, parse_models, reading
from ..experiments.runs import check_fits, format_table, guess_vocab, matched_config, model_config, out_folder
from ..experiments.sweep import learning_rates
from ..model import shapes_only
from ..runtime import describe, pick_device, pick_precision
from ..training import distributed
from .common import add_common_arguments, command_line, resolve_job, show_progress


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="train GAM, Transformer and Mamba side by side; print a Table-1 style table")
    add_common_arguments(p)
    p.add_argument("--models", default=",".join(DEFAULT_MODELS),
                   help=f"comma-separated model names (default: {','.join(DEFAULT_MODELS)})")
    p.add_argument("--seeds", type=int, default=1, help="seeds per model; the table shows mean±std (default 1)")
    p.add_argument("--no-context", action="store_true", help="skip the context-gain measure (gamlab.inspection.context_use)")
    p.add_argument("--out", default="runs/compare", help="folder for results.json and loss_curves.html")
    p.set_defaults(run=run)


CROSSOVER = "docs/crossover_results.json"  # the project's longer run (README, lesson 05)


def _command(args, names) -> str:
    """`gamlab compare` as run, options at their defaults left out."""
    defaults = (None, 0, "embedded", "auto")
    optional = {key.replace("_", "-"): getattr(args, key) for key in
                ("steps", "epochs", "batch_size", "lr", "seed", "dataset", "tokenizer", "precision")}
    return command_line("compare", args, {"models": ",".join(names), "seeds": args.seeds,
                                          **{k: v for k, v in optional.items() if v not in defaults}})


def run(args) -> int:
    from ..inspection.plots import loss_panels

    names = parse_models(args.models)
    preset, tc = resolve_job(args)
    device = distributed.setup(pick_device(args.device))  # under torchrun: join the group first
    out = out_folder(args.out)
    preset_name = "fast" if args.fast else args.preset
    guess = model_config(preset, guess_vocab(preset, args.tokenizer))
    guess_target = shapes_only("gam", guess).num_params()
    for name in names:  # refuse a preset too big for the device before any work
        check_fits(shapes_only(name, matched_config(name, guess, guess_target)), tc.batch_size, device, preset_name)
    lrs = learning_rates(preset_name, names, lr=args.lr, default=tc.lr)
    print(describe(device, tc.precision))
    for source in dict.fromkeys(source for _, source in lrs.values()):  # one line per origin
        print("learning rates: " + ", ".join(f"{n} {lr:g}" for n, (lr, s) in lrs.items() if s == source)
              + f" ({source})")
    t0 = time.perf_counter()
    race = compare(names, preset, tc, dataset=args.dataset, tokenizer=args.tokenizer, seeds=args.seeds,
                   lrs={name: lr for name, (lr, _) in lrs.items()}, context=not args.no_context,
                   progress=show_progress(args), log=lambda line: print(line, flush=True))
    data, unigram, rows = race["data"], race["unigram"], race["rows"]
    print()
    print(format_table(rows, unigram, race["ngrams"], race["reach"]))
    print()
    read = reading(rows, race["ngrams"], race["reach"])
    for line in read:
        print(line)
    spent = [row["seconds"] for row in rows]
    print(f"Regime: {rows[0]['steps']} steps of {tc.batch_size} x {data.block_size} tokens, {min(spent):.0f} to "
          f"{max(spent):.0f} s of training per model on {device}; another budget can rank the models otherwise "
          f"({CROSSOVER}: a longer run of the default preset where the ranking reverses).")
    for name, text in race["samples"].items():
        print(f"\n[{name}] {text!r}")
    if not distributed.is_main():  # under torchrun only rank 0 writes
        return 0
    out.mkdir(parents=True, exist_ok=True)
    results = {"command": _command(args, names), "dataset": data.name, "preset": preset_name,
               "device": str(device), "describe": describe(device, tc.precision),
               "precision": pick_precision(device, tc.precision), "tokenizer": data.tokenizer.kind,
               "vocab_size": data.vocab_size, "train_tokens": data.train.numel(), "val_tokens": data.val.numel(),
               "steps_per_epoch": data.steps_per_epoch, "train_config": tc.to_dict(),
               "model_config": race["model_config"].to_dict(), "seeds": args.seeds,
               "learning_rates": {name: {"lr": lr, "source": source} for name, (lr, source) in lrs.items()},
               "unigram_val_loss": unigram, "ngram_val_loss": race["ngrams"], "reach": race["reach"],
               "results": rows, "runs": race["runs"], "reading": read,
               "context_curves": race["context_curves"],
               "histories": {name: h[0] for name, h in race["histories"].items()},
               "seed_histories": race["histories"], "samples": race["samples"],
               "wall_seconds": time.perf_counter() - t0}
    (out / "results.json").write_text(json.dumps(results, indent=1))
    fig = loss_panels({name: h[0] for name, h in race["histories"].items()}, unigram=unigram, train=True,
                      title=f"Loss on {data.name} ({data.tokenizer.kind} tokens), seed {tc.seed}")
    fig.write_html(out / "loss_curves.html", include_plotlyjs=True)  # self-contained: opens offline
    print(f"\nwrote {out / 'results.json'} and {out / 'loss_curves.html'} "
          f"({time.perf_counter() - t0:.0f} s in all)")
    return 0
