"""`gamlab reproduce`: the paper's Tables 1 and 3, run the paper's way, read beside its numbers.

    gamlab reproduce                                   # everything, paper settings (a GPU job)
    gamlab reproduce --tables 3 --max-rows 2000        # the ablation on a slice of WikiText-2
    torchrun --nproc_per_node 4 -m gamlab reproduce    # the same on 4 GPUs (DDP)

Runs (gamlab/paper.py): Table 1 on WikiText-2 (GAM, the paper's naive-attention Transformer,
its bare Mamba stack) and TinyStories (GAM, Transformer), Table 3's four GAM fusions on
WikiText-2, and the fair variants (fused SDPA attention; Mamba with residuals and norms)
beside the paper's baselines. Settings: ModelConfig.preset("paper") and
TrainConfig.preset("paper") (BPE vocabulary 10,000 trained on the training split, block 256,
batch 32, AdamW 3e-4, 5 epochs), changed only by the options. Table 3's full GAM is Table 1's
GAM run (one run per dataset and model).

Output in --out: table.txt (paper / ours / difference for parameters, seconds per epoch,
validation loss and perplexity), results.json (the same, plus settings, device and each
run's history), and runs/<dataset>-<model>/checkpoint.pt. Running the same command again
resumes the unfinished runs from their checkpoints and reuses the finished ones, so a
session cut off (SIGTERM saves at the next step; SIGKILL keeps the last checkpoint) loses
at most --checkpoint-every steps.

Offline, --wikitext2 DIR / --tinystories DIR replace the Hugging Face downloads by a folder
holding train.txt and validation.txt, read through the same `datasets` machinery.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

from . import distributed
from .compare import show_progress
from .cli import out_folder
from .config import ModelConfig
from .errors import GamlabError
from .paper import EXPERIMENTS, Experiment
from .runtime import describe, pick_device, seed_everything

DATASET_LABEL = {"wikitext2": "WikiText-2", "tinystories": "TinyStories"}
# The paper gives no count of TinyStories stories; 671.6 / 131.9 s per epoch suggests about
# 5x WikiText-2's ~2.1M tokens, roughly 50,000 stories.
TINYSTORIES_ROWS = 50_000
SPLIT_FILES = {"train": "train.txt", "validation": "validation.txt"}
NOT_SETTABLE = {"device", "seed", "steps", "epochs", "betas", "checkpoint_every"}  # own options, or not a scalar


def add_parser(sub) -> None:
    p = sub.add_parser("reproduce", help="the paper's Tables 1 and 3 with its settings, beside its numbers")
    p.add_argument("--tables", default="1,3", help="comma-separated: 1, 3 or 1,3 (default)")
    p.add_argument("--models", help="only these gamlab models (comma-separated), e.g. gam,transformer-naive")
    p.add_argument("--no-fair", action="store_true", help="skip the fair variants (transformer, mamba)")
    p.add_argument("--epochs", type=float, help="epochs per run (default: the paper's 5)")
    p.add_argument("--steps", type=int, help="optimizer steps per run (overrides --epochs; for quick checks)")
    p.add_argument("--max-rows", type=int, help="at most N rows (lines / stories) of each split: quick runs")
    p.add_argument("--wikitext2", metavar="DIR", help="a folder with train.txt and validation.txt instead of the hub")
    p.add_argument("--tinystories", metavar="DIR", help="a folder with train.txt and validation.txt instead of the hub")
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
    from .train import TrainConfig

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


def check(args):
    """Every option checked, nothing written: (experiments, ModelConfig, TrainConfig, device, folders)."""
    from .compare import check_fits
    from .model import shapes_only
    from .train import TrainConfig

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
    tc = TrainConfig.preset("paper", **tchanges)
    tc = tc.replace(checkpoint_every=args.checkpoint_every or tc.eval_every)
    device = pick_device(args.device)
    distributed.check_batch(tc.batch_size)
    folders = {d: local_folder(d, getattr(args, d)) for d in DATASET_LABEL}
    out_folder(args.out)  # a file there is refused before any work
    for name in sorted({e.model for e in exps}):
        check_fits(shapes_only(name, mc), tc.batch_size, device, "paper")
    return exps, mc, tc, device, folders


# ---------------------------------------------------------------- data

def load_rows(dataset: str, folder: Path | None, max_rows: int | None) -> tuple[str, str]:
    """(train_text, val_text): the hub's splits, or the local folder's, at most `max_rows` rows each."""
    from .data import hub_rows, quiet_datasets

    if folder is not None:
        import datasets

        files = {split: str(folder / name) for split, name in SPLIT_FILES.items()}
        try:
            with quiet_datasets():
                ds = datasets.load_dataset("text", data_files=files)
        except Exception as exc:
            raise GamlabError(f"could not read {folder} as text ({type(exc).__name__}: {exc}).") from None
        splits = {s: ds[s]["text"][:max_rows] for s in SPLIT_FILES}
    else:
        n = max_rows or (TINYSTORIES_ROWS if dataset == "tinystories" else None)  # TinyStories is streamed
        splits = hub_rows(dataset, n, n)
    # WikiText rows end in "\n", the text loader's do not: one row per line either way.
    join = lambda rows: "\n".join(r.rstrip("\n") for r in rows)  # noqa: E731
    return join(splits["train"]), join(splits["validation"])


def _offline_hint(exc: GamlabError, dataset: str) -> GamlabError:
    return GamlabError(f"{str(exc).split(';')[0]}; give --{dataset} DIR (a folder with train.txt and "
                       f"validation.txt), or run where the Hugging Face hub is reachable.")


def data_label(dataset: str, folder: Path | None, max_rows: int | None) -> str:
    """What a run trained on, saved in its checkpoint: resuming on other data is refused."""
    return f"{dataset}{f' from {folder}' if folder else ''}{f', {max_rows} rows' if max_rows else ''}"


def saved_tokenizer(out: Path, dataset: str):
    """The tokenizer of an earlier run on `dataset` in `out` (None if there is none).

    BPE training is not reproducible id for id (Hugging Face numbers the first tokens in
    hash-map order), so a resumed reproduction must reuse the tokenizer it started with.
    """
    from .checkpoint import load_checkpoint
    from .tokenizer import tokenizer_from_dict

    for ckpt in sorted((out / "runs").glob(f"{dataset}-*/checkpoint.pt")):
        state = load_checkpoint(ckpt)
        if state.get("tokenizer"):
            return tokenizer_from_dict(state["tokenizer"])
    return None


def load_dataset_for(dataset: str, folder: Path | None, args, mc: ModelConfig, tc):
    """TextData for one dataset: BPE (the paper's, vocab_size target) trained on its training split.

    Under torchrun rank 0's tokenizer is used by every rank (distributed.broadcast).
    """
    from .data import TextData
    from .tokenizer import tokenizer_from_dict, train_tokenizer

    try:
        train_text, val_text = load_rows(dataset, folder, args.max_rows)
    except GamlabError as exc:
        raise _offline_hint(exc, dataset) if folder is None else exc from None
    tok = saved_tokenizer(Path(args.out), dataset) if distributed.is_main() else None
    if tok is None and distributed.is_main():
        tok = train_tokenizer("bpe", train_text, mc.vocab_size)
    tok = tokenizer_from_dict(distributed.broadcast(tok.to_dict() if tok is not None else None))
    import torch

    ids = [torch.tensor(tok.encode(t), dtype=torch.long) for t in (train_text, val_text)]
    data = TextData(ids[0], ids[1], tok, mc.block_size, tc.batch_size, tc.seed, dataset)
    data.label = data_label(dataset, folder, args.max_rows)
    return data


# ---------------------------------------------------------------- the table

def _num(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _diff(ours, paper, spec: str) -> str:
    return "-" if ours is None or paper is None else format(ours - paper, "+" + spec)


def format_rows(rows: list[dict]) -> str:
    """One block per table and dataset: paper / ours / difference (ours - paper) for each number."""
    cols = (("params_m", "Params (M)", ".2f"), ("s_per_epoch", "s/epoch", ".1f"),
            ("val_loss", "Val loss", ".3f"), ("ppl", "PPL", ".2f"))
    lines = []
    for key in dict.fromkeys((r["table"], r["dataset"]) for r in rows):
        lines.append(f"Table {key[0]}, {DATASET_LABEL[key[1]]}")
        head = f"{'model':<19}" + "".join(f"{title:>30}" for _, title, _ in cols)
        sub = f"{'':<19}" + "".join(f"{'paper':>10}{'ours':>10}{'diff':>10}" for _ in cols)
        lines += [head, sub, "-" * len(sub)]
        for r in (r for r in rows if (r["table"], r["dataset"]) == key):
            label = r["model"] + (" *" if r["fair"] else "")
            cells = "".join(f"{_num(r['paper'][k], s):>10}{_num(r['ours'][k], s):>10}"
                            f"{_diff(r['ours'][k], r['paper'][k], s):>10}" for k, _, s in cols)
            lines.append(f"{label:<19}{cells}")
        lines.append("")
    lines.append("* fair variant (fused SDPA attention / Mamba with residuals and norms), read against the "
                 "paper's baseline row")
    return "\n".join(lines)


# ---------------------------------------------------------------- the command

def train_one(exp: Experiment, data, mc: ModelConfig, tc, out: Path, progress: bool) -> dict:
    """Train (or resume, or reuse) one run; its summary for the table."""
    from .model import build_model
    from .stopping import Stopped
    from .train import Trainer

    seed_everything(tc.seed)
    model = build_model(exp.model, mc.replace(vocab_size=data.vocab_size))
    run_dir = out / "runs" / exp.run_name
    trainer = Trainer(model, tc, data.get_batch, val_batches=data.val_batches, out=run_dir,
                      steps_per_epoch=data.steps_per_epoch, progress=progress,
                      meta={"model_name": exp.model, "model_config": model.config.to_dict(),
                            "tokenizer": data.tokenizer.to_dict(), "dataset": data.label})
    if (run_dir / "checkpoint.pt").is_file():
        step = trainer.resume()
        print(f"  resumed {exp.run_name} at step {step} of {trainer.total}")
    print(f"{exp.run_name}: {model.num_params():,} params, {trainer.total} steps "
          f"({data.steps_per_epoch} per epoch) of {tc.batch_size} x {mc.block_size} tokens", flush=True)
    try:
        trainer.fit()
    except Stopped as exc:
        raise Stopped(str(exc).replace("continue with --resume", "run the same command again to continue")) from None
    row = trainer.summary()
    row["history"] = trainer.history
    return row


def run(args) -> int:
    exps, mc, tc, device, folders = check(args)  # every refusal happens here, before any file
    device = distributed.setup(device)
    out = Path(args.out)
    print(describe(device) + (f" | {distributed.world_size()} processes (DDP)" if distributed.is_distributed() else ""))
    t0 = time.perf_counter()
    datas, summaries = {}, {}
    for exp in exps:
        if exp.dataset not in datas:
            datas[exp.dataset] = load_dataset_for(exp.dataset, folders[exp.dataset], args, mc, tc)
            d = datas[exp.dataset]
            print(f"data: {DATASET_LABEL[exp.dataset]}, BPE vocab {d.vocab_size}, {d.train.numel():,} training / "
                  f"{d.val.numel():,} validation tokens", flush=True)
        if exp.run_name not in summaries:
            summaries[exp.run_name] = train_one(exp, datas[exp.dataset], mc, tc, out, show_progress(args))
    rows = []
    for exp in exps:
        s, p = summaries[exp.run_name], exp.paper
        ours = {"params_m": s["params"] / 1e6, "s_per_epoch": s["s_per_epoch"], "val_loss": s["val_loss"],
                "ppl": s["ppl"]}
        paper = {"params_m": p.params / 1e6 if p.params else None, "s_per_epoch": p.s_per_epoch,
                 "val_loss": p.val_loss, "ppl": p.ppl}
        rows.append({"table": exp.table, "dataset": exp.dataset, "model": exp.model, "fair": exp.fair,
                     "paper": paper, "ours": ours, "steps": s["steps"], "tokens_per_s": s["tokens_per_s"]})
    table = format_rows(rows)
    print()
    print(table)
    if distributed.is_main():
        out.mkdir(parents=True, exist_ok=True)
        results = {"command": "gamlab reproduce", "device": str(device), "describe": describe(device),
                   "processes": distributed.world_size(), "max_rows": args.max_rows,
                   "model_config": mc.to_dict(), "train_config": tc.to_dict(),
                   "data": {k: {"vocab_size": d.vocab_size, "train_tokens": d.train.numel(),
                                "val_tokens": d.val.numel(), "steps_per_epoch": d.steps_per_epoch,
                                "local_folder": str(folders[k]) if folders[k] else None}
                            for k, d in datas.items()},
                   "rows": rows, "histories": {k: s["history"] for k, s in summaries.items()},
                   "wall_seconds": time.perf_counter() - t0}
        (out / "results.json").write_text(json.dumps(results, indent=1))
        (out / "table.txt").write_text(f"{describe(device)}\n\n{table}\n")
        print(f"\nwrote {out / 'table.txt'} and {out / 'results.json'} ({time.perf_counter() - t0:.0f} s in all)")
    return 0
