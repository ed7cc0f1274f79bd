"""`gamlab reproduce`: the paper's Tables 1 and 3, run the paper's way, read beside its numbers.

    gamlab reproduce                                   # everything, paper settings (a GPU job)
    gamlab reproduce --recipe paper                    # ... trained as the paper author's script did
    gamlab reproduce --recipe careful,paper            # both recipes, side by side in one table
    gamlab reproduce --tables 3 --max-rows 2000        # the ablation on a slice of WikiText-2
    torchrun --nproc_per_node 4 -m gamlab reproduce    # the same on 4 GPUs (DDP; careful recipe)

Runs (gamlab/experiments/paper.py): Table 1 on WikiText-2 (GAM, the paper's naive-attention Transformer,
its bare Mamba stack) and TinyStories (GAM, Transformer), Table 3's ablation on WikiText-2
(its own full GAM, and the paper's three variants without gates), and gamlab's variants
marked * (fused SDPA attention; Mamba with residuals and norms; a gated single path) beside
the paper's rows. Settings: ModelConfig.preset("paper") and TrainConfig.preset("paper")
(vocabulary 10,000, block 256, batch 32, AdamW 3e-4, 5 epochs), changed only by the options,
trained by a recipe (gamlab/training/recipes.py): "careful" (gamlab's, the default) or "paper" (the
author's benchmark.py: decay on every parameter, warm-up from lr 0, cosine to 0, BPE on all
splits, 5,000 TinyStories validation rows, N(0, 1) positions, partial batches kept, validation
a mean of batch means).

Output in --out: table.txt (paper / ours / difference for parameters, seconds per epoch,
validation loss and perplexity, and the recipe of each row), results.json (the same, plus
settings, device and each run's history), and runs/<recipe>/<run>/checkpoint.pt (run:
<dataset>-<model>, with -table3 for Table 3's runs). Running the same command again
resumes the unfinished runs from their checkpoints and reuses the finished ones, so a
session cut off (SIGTERM saves at the next step; SIGKILL keeps the last checkpoint) loses
at most --checkpoint-every steps.

Offline, --wikitext2 DIR / --tinystories DIR replace the Hugging Face downloads by a folder
holding train.txt and validation.txt, read like any local text file (gamlab/training/text.py).

This shell checks the options and turns them into plain arguments; the runs, the data and the
table are gamlab/experiments/reproduce.py's.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from ..config import ModelConfig
from ..errors import GamlabError
from ..experiments.paper import EXPERIMENTS, Experiment
from ..experiments.reproduce import DATASET_LABEL, SPLIT_FILES, check_machine, reproduce, train_configs
from ..runtime import pick_device
from .common import add_device_argument, add_precision_argument, count, positive, seed_value, show_progress

NOT_SETTABLE = {"device", "seed", "steps", "epochs", "betas", "checkpoint_every", "recipe",
                "precision"}  # own options, or not a scalar


def add_parser(sub) -> None:
    p = sub.add_parser("reproduce", help="the paper's Tables 1 and 3 with its settings, beside its numbers")
    p.add_argument("--tables", default="1,3", help="comma-separated: 1, 3 or 1,3 (default)")
    p.add_argument("--models", help="only these gamlab models (comma-separated), e.g. gam,transformer-naive")
    p.add_argument("--no-fair", action="store_true",
                   help="skip gamlab's variants marked * (transformer, mamba, gam-global, gam-local)")
    p.add_argument("--recipe", default="careful",
                   help="careful (gamlab's, default), paper (the author's script) or careful,paper (both)")
    p.add_argument("--epochs", type=positive, help="epochs per run (default: the paper's 5)")
    p.add_argument("--steps", type=count, help="optimizer steps per run (overrides --epochs; for quick checks)")
    p.add_argument("--max-rows", type=count, help="at most N rows (lines / stories) of each split: quick runs")
    p.add_argument("--wikitext2", metavar="DIR", help="a folder with train.txt and validation.txt instead of the hub")
    p.add_argument("--tinystories", metavar="DIR", help="a folder with train.txt and validation.txt instead of the hub")
    # (a test.txt beside them is read too by the paper recipe, whose tokenizer learns from every split)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change a ModelConfig or TrainConfig field, e.g. --set d_model=128 --set batch_size=16")
    add_device_argument(p)
    add_precision_argument(p)
    p.add_argument("--seed", type=seed_value, default=0, help="random seed, 0 to 2**32 - 1")
    p.add_argument("--checkpoint-every", type=count, help="checkpoint every N steps (default: every evaluation)")
    p.add_argument("--out", default="runs/reproduce", help="folder for table.txt, results.json and runs/")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


# ---------------------------------------------------------------- checking the options (before any work)

def parse_sets(items: list[str]) -> tuple[dict, dict]:
    """--set KEY=VALUE items -> (ModelConfig changes, TrainConfig changes), values typed by the field."""
    from ..training.train_config import TrainConfig

    fields = {"model": {f.name: f for f in dataclasses.fields(ModelConfig)},
              "train": {f.name: f for f in dataclasses.fields(TrainConfig)}}
    defaults = {"model": ModelConfig.preset("paper"), "train": TrainConfig.preset("paper")}
    changes: dict[str, dict] = {"model": {}, "train": {}}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        where = next((w for w in ("model", "train") if key in fields[w]), None)
        if not sep or where is None or key in NOT_SETTABLE:
            raise GamlabError(f"--set {item!r} is not KEY=VALUE with KEY a ModelConfig or TrainConfig field "
                              f"(not {', '.join(sorted(NOT_SETTABLE))}: those have their own options).")
        default = getattr(defaults[where], key)
        changes[where][key] = _typed(key, text.strip(), default)
    return changes["model"], changes["train"]


def _typed(key: str, text: str, default):
    """`text` as the type of the field's default (bool, int, float, str; None-able ints)."""
    try:
        if isinstance(default, bool):
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if isinstance(default, int) or (default is None and key in ("dt_rank", "eval_batches")):
            return None if text.lower() == "none" and default is None else int(text)
        if isinstance(default, float):
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
            return value
        return text
    except ValueError:
        raise GamlabError(f"--set {key}={text!r}: expected a {type(default).__name__ if default is not None else 'int'}.") \
            from None


def selected(args) -> list[Experiment]:
    """The experiments the options ask for, in table order."""
    try:
        tables = {int(t) for t in args.tables.split(",") if t.strip()}
    except ValueError:
        tables = set()
    if not tables or tables - {1, 3}:
        raise GamlabError(f"--tables {args.tables!r}: choose 1, 3 or 1,3.")
    exps = [e for e in EXPERIMENTS if e.table in tables and not (args.no_fair and e.fair)]
    if args.models is not None:
        names = [n.strip() for n in args.models.split(",") if n.strip()]
        offered = sorted({e.model for e in exps})
        unknown = [n for n in names if n not in offered]
        if not names or unknown:
            raise GamlabError(f"--models {args.models!r}: the chosen tables run {', '.join(offered)}.")
        exps = [e for e in exps if e.model in names]
    return exps


def local_folder(dataset: str, path: str | None) -> Path | None:
    """The offline replacement folder for `dataset`, checked to hold train.txt and validation.txt."""
    if path is None:
        return None
    p = Path(path).expanduser()
    missing = [f for f in SPLIT_FILES.values() if not (p / f).is_file()]
    if not p.is_dir() or missing:
        raise GamlabError(f"--{dataset} {path!r} must be a folder holding {' and '.join(SPLIT_FILES.values())}.")
    return p


def chosen_recipes(text: str) -> list:
    """--recipe careful | paper | careful,paper -> the Recipe objects (gamlab/training/recipes.py), in order."""
    from ..training.recipes import RECIPES

    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names or any(n not in RECIPES for n in names):
        raise GamlabError(f"--recipe {text!r}: choose careful, paper or careful,paper.")
    return [RECIPES[n] for n in names]


def check(args):
    """Every option checked, nothing written: (experiments, ModelConfig, {recipe name: TrainConfig},
    device, folders). The options first, then what the machine allows (gamlab.experiments.reproduce.check_machine)."""
    exps = selected(args)
    for name in ("epochs", "steps", "max_rows", "checkpoint_every"):
        value = getattr(args, name)
        if value is not None and (value <= 0 or not math.isfinite(value)):
            raise GamlabError(f"--{name.replace('_', '-')} must be positive, got {value}.")
    model_changes, train_changes = parse_sets(args.set)
    mc = ModelConfig.preset("paper", **model_changes)
    tchanges = dict(train_changes, seed=args.seed, device=args.device, precision=args.precision)
    if args.steps is not None:
        tchanges["steps"] = args.steps
    if args.epochs is not None:
        tchanges["epochs"] = args.epochs
    tcs = train_configs(chosen_recipes(args.recipe), tchanges, args.checkpoint_every)
    device = pick_device(args.device)
    folders = {d: local_folder(d, getattr(args, d)) for d in DATASET_LABEL}
    check_machine(exps, mc, tcs, device, args.out)
    return exps, mc, tcs, device, folders


def run(args) -> int:
    exps, mc, tcs, device, folders = check(args)  # every refusal happens here, before any file
    reproduce(exps, mc, tcs, device, folders, args.out, args.max_rows, show_progress(args))
    return 0
