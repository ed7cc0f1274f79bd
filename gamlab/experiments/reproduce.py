"""The paper's Tables 1 and 3 reproduced: its experiments trained its way, read beside its numbers.

The library behind `gamlab reproduce` (gamlab/commands/reproduce.py turns the options into the
plain arguments here). The experiments are gamlab/experiments/paper.py's, the settings
ModelConfig.preset("paper") and TrainConfig.preset("paper") layered under a recipe
(gamlab/training/recipes.py: "careful", gamlab's, or "paper", the author's benchmark.py):
    train_configs   each recipe's TrainConfig, the caller's changes winning over the recipe's
    check_machine   every refusal that depends on the machine (processes, memory, --out), before any work
    load_splits     a dataset's rows from the Hugging Face hub or a local folder, as the recipe reads them
    reproduce       load each dataset once per recipe, train (or resume, or reuse) each run, then
                    the table (format_rows) and, on the main process, table.txt and results.json
Runs live in <out>/runs/<recipe>/<dataset>-<model>[-table3]/checkpoint.pt: the same call again
resumes the unfinished runs and reuses the finished ones (and their tokenizer).

Taught in docs/reproduce.md.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..config import ModelConfig
from ..errors import GamlabError
from ..runtime import describe, pick_precision
from ..training import distributed
from ..training.files import write_atomic
from .paper import Experiment
from .runs import check_fits, make_trainer, out_folder

DATASET_LABEL = {"wikitext2": "WikiText-2", "tinystories": "TinyStories"}
RECIPE_LABEL = {"careful": "gamlab's", "paper": "the author's benchmark.py"}
SPLIT_FILES = {"train": "train.txt", "validation": "validation.txt"}
TEST_FILE = "test.txt"  # optional in a local folder: the paper recipe's tokenizer learns from it too


# ---------------------------------------------------------------- settings and checks (before any work)

def train_configs(recipes, changes: dict, checkpoint_every: int | None = None) -> dict:
    """{recipe name: TrainConfig}: the paper preset, the recipe's fields (gamlab/training/recipes.py), then
    `changes` (so that a change such as min_lr_ratio still wins); checkpoints at every evaluation
    unless `checkpoint_every` steps are given."""
    from ..training.train_config import TrainConfig

    tcs = {r.name: TrainConfig.preset("paper", **{**r.train_changes(), **changes}) for r in recipes}
    return {name: tc.replace(checkpoint_every=checkpoint_every or tc.eval_every) for name, tc in tcs.items()}


def check_machine(exps: list[Experiment], mc: ModelConfig, tcs: dict, device, out) -> None:
    """Refuse, before anything is written, what this machine cannot run: the paper recipe under
    torchrun, a batch that does not split over the processes, a file at `out`, a model too big."""
    from ..model import shapes_only
    from ..training.recipes import get_recipe

    if distributed.is_distributed() and any(get_recipe(name).keep_partial for name in tcs):
        raise GamlabError("--recipe paper keeps each epoch's last, smaller batch, which does not split over "
                          "processes; run it as one process (no torchrun), as the author's script ran.")
    batch_size = next(iter(tcs.values())).batch_size  # the same in every recipe
    distributed.check_batch(batch_size)
    out_folder(out)  # a file there is refused before any work
    for name in sorted({e.model for e in exps}):
        check_fits(shapes_only(name, mc), batch_size, device, "paper")


# ---------------------------------------------------------------- data

def load_splits(dataset: str, folder: Path | None, max_rows: int | None, recipe=None) -> dict[str, str]:
    """{split: text} from the hub, or the local folder: "train" and "validation", the rows the
    recipe reads (gamlab/training/recipes.py; default careful) and at most `max_rows` of each; and "test"
    (WikiText-2 on the hub, test.txt in a folder) when the recipe's tokenizer learns from it."""
    from ..training.data import hub_rows
    from ..training.recipes import get_recipe
    from ..training.text import read_text_file, text_lines

    recipe = recipe or get_recipe("careful")
    n_train, n_val = recipe.rows(dataset, max_rows)
    want_test = "test" in recipe.tokenizer_splits
    if folder is not None:  # read as every local file is (gamlab/training/text.py): errors name the file
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
    from ..training.checkpoint import load_checkpoint
    from ..training.tokenizer import tokenizer_from_dict

    for ckpt in sorted(run_folder(out, recipe_name).glob(f"{dataset}-*/checkpoint.pt")):
        state = load_checkpoint(ckpt)
        if state.get("tokenizer"):
            return tokenizer_from_dict(state["tokenizer"])
    return None


def load_dataset_for(dataset: str, folder: Path | None, max_rows: int | None, out: Path, mc: ModelConfig, tc,
                     recipe=None):
    """TextData for one dataset, the recipe's way (default careful): its rows, its BPE
    (vocab_size target) trained on its splits, its last partial batch kept or dropped; the
    tokenizer of an earlier run in `out` when there is one (saved_tokenizer).

    Under torchrun rank 0's tokenizer is used by every rank (tokenizer.shared_tokenizer).
    """
    from ..training.recipes import get_recipe
    from ..training.tokenizer import encode_tensor, shared_tokenizer

    recipe = recipe or get_recipe("careful")
    try:
        splits = load_splits(dataset, folder, max_rows, recipe)
    except GamlabError as exc:
        raise _offline_hint(exc, dataset) if folder is None else exc from None
    def make():  # an earlier run's tokenizer when there is one, else a new one
        saved = saved_tokenizer(Path(out), dataset, recipe.name)
        return saved if saved is not None else recipe.tokenizer_for(splits, mc.vocab_size)

    tok = shared_tokenizer(make)  # rank 0's, on every rank
    train_idx, val_idx = (encode_tensor(tok, splits[s]) for s in ("train", "validation"))  # (N,) int64 each
    data = recipe.text_data(train_idx, val_idx, tok, mc.block_size, tc.batch_size, tc.seed, dataset)
    data.label = data_label(dataset, folder, max_rows)
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


def table_row(exp: Experiment, recipe_name: str, summary: dict) -> dict:
    """One row of the table: the paper's numbers and ours (a Trainer summary) for one run."""
    s, p = summary, exp.paper
    ours = {"params_m": s["params"] / 1e6, "s_per_epoch": s["s_per_epoch"], "val_loss": s["val_loss"],
            "ppl": s["ppl"]}
    paper = {"params_m": p.params / 1e6 if p.params else None, "s_per_epoch": p.s_per_epoch,
             "val_loss": p.val_loss, "ppl": p.ppl}
    return {"table": exp.table, "dataset": exp.dataset, "model": exp.model, "fair": exp.fair,
            "recipe": recipe_name, "run": exp.run_name, "paper": paper, "ours": ours, "steps": s["steps"],
            "tokens_per_s": s["tokens_per_s"]}


# ---------------------------------------------------------------- the runs

def train_one(exp: Experiment, data, mc: ModelConfig, tc, out: Path, progress: bool, recipe=None) -> dict:
    """Train (or resume, or reuse) one run the recipe's way (default careful); its summary for the table."""
    from ..training.recipes import get_recipe
    from ..training.stopping import Stopped

    recipe = recipe or get_recipe(tc.recipe)
    run_dir = run_folder(out, recipe.name, exp.run_name)
    trainer = make_trainer(exp.model, mc.replace(vocab_size=data.vocab_size), data, tc, out=run_dir,
                           progress=progress, init=recipe.init)  # the recipe's embedding init
    model = trainer.model
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


def reproduce(exps: list[Experiment], mc: ModelConfig, tcs: dict, device, folders: dict, out,
              max_rows: int | None = None, progress: bool = True) -> dict:
    """Every run of `exps` under every recipe of `tcs` ({recipe name: TrainConfig}, train_configs),
    on `folders` ({dataset: local folder or None for the hub}); prints the table and, on the main
    process, writes <out>/table.txt and <out>/results.json. Returns the results.

    Call check_machine first: it refuses what this machine cannot run before anything is written.
    """
    from ..training.recipes import get_recipe

    device = distributed.setup(device)
    out = Path(out)
    precision = next(iter(tcs.values())).precision  # the same in every recipe (--precision)
    print(describe(device, precision)
          + (f" | {distributed.world_size()} processes (DDP)" if distributed.is_distributed() else ""))
    t0 = time.perf_counter()
    datas, summaries = {}, {}  # keyed (recipe, dataset) and (recipe, run name)
    for name, tc in tcs.items():
        recipe = get_recipe(name)
        for exp in exps:
            if (name, exp.dataset) not in datas:
                d = datas[name, exp.dataset] = load_dataset_for(exp.dataset, folders[exp.dataset], max_rows, out,
                                                                mc, tc, recipe)
                print(f"data ({name} recipe): {DATASET_LABEL[exp.dataset]}, BPE vocab {d.vocab_size}, "
                      f"{d.train.numel():,} training / {d.val.numel():,} validation tokens", flush=True)
            if (name, exp.run_name) not in summaries:
                summaries[name, exp.run_name] = train_one(exp, datas[name, exp.dataset], mc, tc, out, progress, recipe)
    rows = [table_row(exp, name, summaries[name, exp.run_name]) for exp in exps for name in tcs]
    table = format_rows(rows)
    print()
    print(table)
    # Per recipe: its TrainConfig and data; histories keyed "<recipe>/<run name>".
    results = {"command": "gamlab reproduce", "device": str(device), "describe": describe(device, precision),
               "precision": pick_precision(device, precision),
               "processes": distributed.world_size(), "max_rows": max_rows, "recipes": list(tcs),
               "model_config": mc.to_dict(), "train_config": {n: tc.to_dict() for n, tc in tcs.items()},
               "data": {n: {k: {"vocab_size": d.vocab_size, "tokenizer": d.tokenizer.kind,
                                "train_tokens": d.train.numel(), "val_tokens": d.val.numel(),
                                "steps_per_epoch": d.steps_per_epoch,
                                "local_folder": str(folders[k]) if folders[k] else None}
                            for (n2, k), d in datas.items() if n2 == n} for n in tcs},
               "rows": rows, "histories": {f"{n}/{k}": s["history"] for (n, k), s in summaries.items()},
               "wall_seconds": time.perf_counter() - t0}
    if distributed.is_main():
        kept = f"every run's checkpoint in {out / 'runs'} is intact (the same command rebuilds the table from them)"
        write_atomic(out / "results.json", json.dumps(results, indent=1), kept=kept)
        write_atomic(out / "table.txt", f"{describe(device, precision)}\n\n{table}\n", kept=kept)
        print(f"\nwrote {out / 'table.txt'} and {out / 'results.json'} ({time.perf_counter() - t0:.0f} s in all)")
    return results
