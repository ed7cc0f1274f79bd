"""`gamlab compare`: GAM, a Transformer and a Mamba-style model on the same data, side by side.

Each model trains at its own learning rate (stored by `gamlab sweep`, or --lr for all), once
per seed (--seeds). Prints the paper's Table 1 layout with mean±std over seeds, the count-table
baselines, the context gain beyond GAM's reach, a reading of the table, and a sample per
model; writes results.json (the race's record, gamlab.experiments.race_record.RaceResult: load it
with RaceResult.load) and loss_curves.html (plotly, self-contained: validation loss per step and
per second of training) to --out. The race itself is gamlab.experiments.compare.compare.

    gamlab compare                              # GAM, Transformer, Mamba, preset tiny (minutes on a CPU)
    gamlab compare --fast                       # the same race in seconds (a check, not a result)
    gamlab compare --seeds 3 --out runs/race    # mean±std over three seeds
    gamlab compare --preset paper --dataset wikitext2   # the paper's sizes (a GPU job)
"""

from __future__ import annotations

import time

from ..experiments.compare import DEFAULT_MODELS, compare, parse_models
from ..experiments.runs import check_fits, guess_vocab, out_folder, race_configs
from ..experiments.sweep import learning_rates
from ..model import shapes_only
from ..runtime import describe, pick_device
from ..training import distributed
from ..training.files import write_atomic
from .common import add_common_arguments, command_line, count, preset_name, resolve_job, show_progress


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="train GAM, Transformer and Mamba side by side; print a Table-1 style table")
    add_common_arguments(p)
    p.add_argument("--models", default=",".join(DEFAULT_MODELS),
                   help="comma-separated model names")
    p.add_argument("--seeds", type=count, default=1, help="seeds per model; the table shows mean±std")
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
    for name, config in race_configs(names, preset, guess_vocab(preset, args.tokenizer)).items():
        check_fits(shapes_only(name, config), tc.batch_size, device, preset.name)  # refused before any work
    lrs = learning_rates(preset_name(args), names, lr=args.lr, default=tc.lr)
    print(describe(device, tc.precision))
    for source in dict.fromkeys(source for _, source in lrs.values()):  # one line per origin
        print("learning rates: " + ", ".join(f"{n} {lr:g}" for n, (lr, s) in lrs.items() if s == source)
              + f" ({source})")
    t0 = time.perf_counter()
    race = compare(names, preset, tc, dataset=args.dataset, tokenizer=args.tokenizer, seeds=args.seeds,
                   lrs=lrs, context=not args.no_context, progress=show_progress(args),
                   log=lambda line: print(line, flush=True))
    race.regime.command = _command(args, names)
    print()
    print(race.table())
    print()
    for line in race.reading:
        print(line)
    spent = [row["seconds"] for row in race.rows()]
    print(f"Regime: {race.regime.steps} steps of {tc.batch_size} x {race.regime.model_config.block_size} tokens, "
          f"{min(spent):.0f} to {max(spent):.0f} s of training per model on {device}; another budget can rank the "
          f"models otherwise ({CROSSOVER}: a longer run of the default preset where the ranking reverses).")
    for m in race.models:
        print(f"\n[{m.name}] {m.sample!r}")
    if not distributed.is_main():  # under torchrun only rank 0 writes
        return 0
    race.save(out / "results.json")
    fig = loss_panels(race.histories(), unigram=race.unigram, train=True,
                      title=f"Loss on {race.regime.dataset} ({race.regime.tokenizer} tokens), seed {tc.seed}")
    write_atomic(out / "loss_curves.html", fig.to_html(include_plotlyjs=True),  # self-contained: opens offline
                 kept=f"{out / 'results.json'} holds the results and every history")
    print(f"\nwrote {out / 'results.json'} and {out / 'loss_curves.html'} "
          f"({time.perf_counter() - t0:.0f} s in all)")
    return 0
