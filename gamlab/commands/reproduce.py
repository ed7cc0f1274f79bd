"""`gamlab reproduce`: the paper's Tables 1 and 3, run the paper's way, read beside its numbers.

    gamlab reproduce                                   # everything, paper settings (a GPU job)
    gamlab reproduce --recipe paper                    # ... trained as the paper author's script did
    gamlab reproduce --recipe careful,paper            # both recipes, side by side in one table
    gamlab reproduce --tables 3 --max-rows 2000        # the ablation on a slice of WikiText-2
    torchrun --nproc_per_node 4 -m gamlab reproduce    # the same on 4 GPUs (DDP; careful recipe)

Runs (gamlab/paper.py): Table 1 on WikiText-2 (GAM, the paper's naive-attention Transformer,
its bare Mamba stack) and TinyStories (GAM, Transformer), Table 3's ablation on WikiText-2
(its own full GAM, and the paper's three variants without gates), and gamlab's variants
marked * (fused SDPA attention; Mamba with residuals and norms; a gated single path) beside
the paper's rows. Settings: ModelConfig.preset("paper") and TrainConfig.preset("paper")
(vocabulary 10,000, block 256, batch 32, AdamW 3e-4, 5 epochs), changed only by the options,
trained by a recipe (gamlab/recipes.py): "careful" (gamlab's, the default) or "paper" (the
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
holding train.txt and validation.txt, read like any local text file (gamlab/text.py).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

from .. import distributed
from .common import show_progress
from ..runs import out_folder
from ..config import ModelConfig
from ..errors import GamlabError
from ..paper import EXPERIMENTS, Experiment
from ..runtime import describe, pick_device, seed_everything

DATASET_LABEL = {"wikitext2": "WikiText-2", "tinystories": "TinyStories"}
RECIPE_LABEL = {"careful": "gamlab's", "paper": "the author's benchmark.py"}
SPLIT_FILES = {"train": "train.txt", "validation": "validation.txt"}
TEST_FILE = "test.txt"  # optional in a local folder: the paper recipe's tokenizer learns from it too
NOT_SETTABLE = {"device", "seed", "steps", "epochs", "betas", "checkpoint_every", "recipe"}  # own options, or not a scalar


def add_parser(sub) -> None:
    p = sub.add_parser("reproduce", help="the paper's Tables 1 and 3 with its settings, beside its numbers")
    p.add_argument("--tables", default="1,3", help="comma-separated: 1, 3 or 1,3 (default)")
    p.add_argument("--models", help="only these gamlab models (comma-separated), e.g. gam,transformer-naive")
    p.add_argument("--no-fair", action="store_true",
                   help="skip gamlab's variants marked * (transformer, mamba, gam-global, gam-local)")
    p.add_argument("--recipe", default="careful",
                   help="careful (gamlab's, default), paper (the author's script) or careful,paper (both)")
    p.add_argument("--epochs", type=float, help="epochs per run (default: the paper's 5)")
    p.add_argument("--steps", type=int, help="optimizer steps per run (overrides --epochs; for quick checks)")
    p.add_argument("--max-rows", type=int, help="at most N rows (lines / stories) of each split: quick runs")
    p.add_argument("--wikitext2", metavar="DIR", help="a folder with train.txt and validation.txt instead of the hub")
    p.add_argument("--tinystories", metavar="DIR", help="a folder with train.txt and validation.txt instead of the hub")
    # (a test.txt beside them is read too by the paper recipe, whose tokenizer learns from every split)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change a ModelConfig or TrainConfig field, e.g. --set d_model=128 --set batch_size=16")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-every", type=int, help="checkpoint every N steps (default: every evaluation)")
    p.add_argument("--out", default="runs/reproduce", help="folder for table.txt, results.json and runs/")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


# ---------------------------------------------------------------- checking the options (before any work)

def parse_sets(items: list[str]) -> tuple[dict, dict]:
    """--set KEY=VALUE items -> (ModelConfig changes, TrainConfig changes), values typed by the field."""
    from ..train import TrainConfig

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
    """--recipe careful | paper | careful,paper -> the Recipe objects (gamlab/recipes.py), in order."""
    from ..recipes import RECIPES

    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names or any(n not in RECIPES for n in names):
        raise GamlabError(f"--recipe {text!r}: choose careful, paper or careful,paper.")
    return [RECIPES[n] for n in names]


def check(args):
    """Every option checked, nothing written: (experiments, ModelConfig, {recipe name: TrainConfig},
    device, folders)."""
    from ..runs import check_fits
    from ..model import shapes_only
    from ..train import TrainConfig

    exps = selected(args)
    for name in ("epochs", "steps", "max_rows", "checkpoint_every"):
        value = getattr(args, name)
        if value is not None and (value <= 0 or not math.isfinite(value)):
            raise GamlabError(f"--{name.replace('_', '-')} must be positive, got {value}.")
    model_changes, train_changes = parse_sets(args.set)
    mc = ModelConfig.preset("paper", **model_changes)
    tchanges = dict(train_changes, seed=args.seed, device=args.device)
    if args.steps is not None:
        tchanges["steps"] = args.steps
    if args.epochs is not None:
        tchanges["epochs"] = args.epochs
    recipes = chosen_recipes(args.recipe)
    # The recipe's fields first, so that a --set (e.g. min_lr_ratio) still wins.
    tcs = {r.name: TrainConfig.preset("paper", **{**r.train_changes(), **tchanges}) for r in recipes}
    tcs = {name: tc.replace(checkpoint_every=args.checkpoint_every or tc.eval_every) for name, tc in tcs.items()}
    tc = next(iter(tcs.values()))
    if distributed.is_distributed() and any(r.keep_partial for r in recipes):
        raise GamlabError("--recipe paper keeps each epoch's last, smaller batch, which does not split over "
                          "processes; run it as one process (no torchrun), as the author's script ran.")
    device = pick_device(args.device)
    distributed.check_batch(tc.batch_size)
    folders = {d: local_folder(d, getattr(args, d)) for d in DATASET_LABEL}
    out_folder(args.out)  # a file there is refused before any work
    for name in sorted({e.model for e in exps}):
        check_fits(shapes_only(name, mc), tc.batch_size, device, "paper")
    return exps, mc, tcs, device, folders


# ---------------------------------------------------------------- data

def load_splits(dataset: str, folder: Path | None, max_rows: int | None, recipe=None) -> dict[str, str]:
    """{split: text} from the hub, or the local folder: "train" and "validation", the rows the
    recipe reads (gamlab/recipes.py; default careful) and at most `max_rows` of each; and "test"
    (WikiText-2 on the hub, test.txt in a folder) when the recipe's tokenizer learns from it."""
    from ..data import hub_rows
    from ..recipes import get_recipe
    from ..text import read_text_file, text_lines

    recipe = recipe or get_recipe("careful")
    n_train, n_val = recipe.rows(dataset, max_rows)
    want_test = "test" in recipe.tokenizer_splits
    if folder is not None:  # read as every local file is (gamlab/text.py): errors name the file
        files = dict(SPLIT_FILES, **({"test": TEST_FILE} if want_test and (folder / TEST_FILE).is_file() else {}))
        splits = {s: text_lines(read_text_file(folder / name)) for s, name in files.items()}
        splits = {s: rows[:{"train": n_train, "validation": n_val}.get(s, max_rows)] for s, rows in splits.items()}
    else:  # TinyStories is streamed: only the rows asked for are downloaded
        splits = hub_rows(dataset, n_train, n_val, test=want_test and dataset == "wikitext2")
        splits = {s: rows[:max_rows] if s == "test" else rows for s, rows in splits.items()}
    # WikiText rows end in "\n", the text loader's do not: one row per line either way.
    return {s: "\n".join(r.rstrip("\n") for r in rows) for s, rows in splits.items()}


def load_rows(dataset: str, folder: Path | None, max_rows: int | None, recipe=None) -> tuple[str, str]:
    """(train_text, val_text): the hub's splits, or the local folder's (load_splits)."""
    splits = load_splits(dataset, folder, max_rows, recipe)
    return splits["train"], splits["validation"]


def _offline_hint(exc: GamlabError, dataset: str) -> GamlabError:
    return GamlabError(f"{str(exc).split(';')[0]}; give --{dataset} DIR (a folder with train.txt and "
                       f"validation.txt), or run where the Hugging Face hub is reachable.")


def data_label(dataset: str, folder: Path | None, max_rows: int | None) -> str:
    """What a run trained on, saved in its checkpoint: resuming on other data is refused."""
    return f"{dataset}{f' from {folder}' if folder else ''}{f', {max_rows} rows' if max_rows else ''}"


def run_folder(out: Path, recipe_name: str, run_name: str = "") -> Path:
    """Where a run's checkpoint lives: <out>/runs/<recipe>/<run name>."""
    return out / "runs" / recipe_name / run_name


def saved_tokenizer(out: Path, dataset: str, recipe_name: str = "careful"):
    """The tokenizer of an earlier run of this recipe on `dataset` in `out` (None if there is none).

    BPE training is not reproducible id for id (Hugging Face numbers the first tokens in
    hash-map order), so a resumed reproduction must reuse the tokenizer it started with.
    """
    from ..checkpoint import load_checkpoint
    from ..tokenizer import tokenizer_from_dict

    for ckpt in sorted(run_folder(out, recipe_name).glob(f"{dataset}-*/checkpoint.pt")):
        state = load_checkpoint(ckpt)
        if state.get("tokenizer"):
            return tokenizer_from_dict(state["tokenizer"])
    return None


def load_dataset_for(dataset: str, folder: Path | None, args, mc: ModelConfig, tc, recipe=None):
    """TextData for one dataset, the recipe's way (default careful): its rows, its BPE
    (vocab_size target) trained on its splits, its last partial batch kept or dropped.

    Under torchrun rank 0's tokenizer is used by every rank (distributed.broadcast).
    """
    from ..recipes import get_recipe
    from ..tokenizer import tokenizer_from_dict

    recipe = recipe or get_recipe("careful")
    try:
        splits = load_splits(dataset, folder, args.max_rows, recipe)
    except GamlabError as exc:
        raise _offline_hint(exc, dataset) if folder is None else exc from None
    tok = saved_tokenizer(Path(args.out), dataset, recipe.name) if distributed.is_main() else None
    if tok is None and distributed.is_main():
        tok = recipe.tokenizer_for(splits, mc.vocab_size)
    tok = tokenizer_from_dict(distributed.broadcast(tok.to_dict() if tok is not None else None))
    import torch

    ids = [torch.tensor(tok.encode(splits[s]), dtype=torch.long) for s in ("train", "validation")]
    data = recipe.text_data(ids[0], ids[1], tok, mc.block_size, tc.batch_size, tc.seed, dataset)
    data.label = data_label(dataset, folder, args.max_rows)
    return data


# ---------------------------------------------------------------- the table

def _num(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _diff(ours, paper, spec: str) -> str:
    return "-" if ours is None or paper is None else format(ours - paper, "+" + spec)


def format_rows(rows: list[dict]) -> str:
    """One block per table, dataset and recipe (named in the block's title; careful when a row
    names none): paper / ours / difference (ours - paper) for each number."""
    cols = (("params_m", "Params (M)", ".2f"), ("s_per_epoch", "s/epoch", ".1f"),
            ("val_loss", "Val loss", ".3f"), ("ppl", "PPL", ".2f"))
    key_of = lambda r: (r["table"], r["dataset"], r.get("recipe", "careful"))  # noqa: E731
    first = list(dict.fromkeys(k[:2] for k in map(key_of, rows)))  # a table's recipes stand together
    lines = []
    for key in sorted(dict.fromkeys(map(key_of, rows)), key=lambda k: first.index(k[:2])):
        lines.append(f"Table {key[0]}, {DATASET_LABEL[key[1]]}, recipe {key[2]} ({RECIPE_LABEL[key[2]]})")
        head = f"{'model':<19}" + "".join(f"{title:>30}" for _, title, _ in cols)
        sub = f"{'':<19}" + "".join(f"{'paper':>10}{'ours':>10}{'diff':>10}" for _ in cols)
        lines += [head, sub, "-" * len(sub)]
        for r in (r for r in rows if key_of(r) == key):
            label = r["model"] + (" *" if r["fair"] else "")
            cells = "".join(f"{_num(r['paper'][k], s):>10}{_num(r['ours'][k], s):>10}"
                            f"{_diff(r['ours'][k], r['paper'][k], s):>10}" for k, _, s in cols)
            lines.append(f"{label:<19}{cells}")
        lines.append("")
    lines.append("* gamlab's variant, read against the paper's row: fused SDPA attention (transformer), "
                 "residuals and norms (mamba), a gated single path (gam-global, gam-local)")
    return "\n".join(lines)


# ---------------------------------------------------------------- the command

def train_one(exp: Experiment, data, mc: ModelConfig, tc, out: Path, progress: bool, recipe=None) -> dict:
    """Train (or resume, or reuse) one run the recipe's way (default careful); its summary for the table."""
    from ..recipes import get_recipe
    from ..stopping import Stopped
    from ..train import Trainer, run_meta

    recipe = recipe or get_recipe(tc.recipe)
    seed_everything(tc.seed)
    model = recipe.build(exp.model, mc.replace(vocab_size=data.vocab_size))  # its embedding init
    run_dir = run_folder(out, recipe.name, exp.run_name)
    trainer = Trainer(model, tc, data.get_batch, val_batches=data.val_batches, out=run_dir,
                      steps_per_epoch=data.steps_per_epoch, progress=progress,
                      meta=run_meta(model, data))
    if (run_dir / "checkpoint.pt").is_file():
        step = trainer.resume()
        print(f"  resumed {exp.run_name} at step {step} of {trainer.total}")
    print(f"{exp.run_name} ({recipe.name} recipe): {model.num_params():,} params, {trainer.total} steps "
          f"({data.steps_per_epoch} per epoch) of {tc.batch_size} x {mc.block_size} tokens", flush=True)
    try:
        trainer.fit()
    except Stopped as exc:
        raise Stopped(str(exc).replace("continue with --resume", "run the same command again to continue")) from None
    row = trainer.summary()
    row["history"] = trainer.history
    return row


def run(args) -> int:
    from ..recipes import get_recipe

    exps, mc, tcs, device, folders = check(args)  # every refusal happens here, before any file
    device = distributed.setup(device)
    out = Path(args.out)
    print(describe(device) + (f" | {distributed.world_size()} processes (DDP)" if distributed.is_distributed() else ""))
    t0 = time.perf_counter()
    datas, summaries = {}, {}  # keyed (recipe, dataset) and (recipe, run name)
    for name, tc in tcs.items():
        recipe = get_recipe(name)
        for exp in exps:
            if (name, exp.dataset) not in datas:
                d = datas[name, exp.dataset] = load_dataset_for(exp.dataset, folders[exp.dataset], args, mc, tc, recipe)
                print(f"data ({name} recipe): {DATASET_LABEL[exp.dataset]}, BPE vocab {d.vocab_size}, "
                      f"{d.train.numel():,} training / {d.val.numel():,} validation tokens", flush=True)
            if (name, exp.run_name) not in summaries:
                summaries[name, exp.run_name] = train_one(exp, datas[name, exp.dataset], mc, tc, out,
                                                          show_progress(args), recipe)
    rows = []
    for exp in exps:
        for name in tcs:
            s, p = summaries[name, exp.run_name], exp.paper
            ours = {"params_m": s["params"] / 1e6, "s_per_epoch": s["s_per_epoch"], "val_loss": s["val_loss"],
                    "ppl": s["ppl"]}
            paper = {"params_m": p.params / 1e6 if p.params else None, "s_per_epoch": p.s_per_epoch,
                     "val_loss": p.val_loss, "ppl": p.ppl}
            rows.append({"table": exp.table, "dataset": exp.dataset, "model": exp.model, "fair": exp.fair,
                         "recipe": name, "run": exp.run_name, "paper": paper, "ours": ours, "steps": s["steps"],
                         "tokens_per_s": s["tokens_per_s"]})
    table = format_rows(rows)
    print()
    print(table)
    if distributed.is_main():
        out.mkdir(parents=True, exist_ok=True)
        # Per recipe: its TrainConfig and data; histories keyed "<recipe>/<run name>".
        results = {"command": "gamlab reproduce", "device": str(device), "describe": describe(device),
                   "processes": distributed.world_size(), "max_rows": args.max_rows, "recipes": list(tcs),
                   "model_config": mc.to_dict(), "train_config": {n: tc.to_dict() for n, tc in tcs.items()},
                   "data": {n: {k: {"vocab_size": d.vocab_size, "tokenizer": d.tokenizer.kind,
                                    "train_tokens": d.train.numel(), "val_tokens": d.val.numel(),
                                    "steps_per_epoch": d.steps_per_epoch,
                                    "local_folder": str(folders[k]) if folders[k] else None}
                                for (n2, k), d in datas.items() if n2 == n} for n in tcs},
                   "rows": rows, "histories": {f"{n}/{k}": s["history"] for (n, k), s in summaries.items()},
                   "wall_seconds": time.perf_counter() - t0}
        (out / "results.json").write_text(json.dumps(results, indent=1))
        (out / "table.txt").write_text(f"{describe(device)}\n\n{table}\n")
        print(f"\nwrote {out / 'table.txt'} and {out / 'results.json'} ({time.perf_counter() - t0:.0f} s in all)")
    return 0
