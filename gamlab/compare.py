"""`gamlab compare`: GAM, a Transformer and a Mamba-style model on the same data, side by side.

Same tokens, same batches in the same order, same optimiser settings, a matched parameter
budget; the printed table has the layout of the paper's Table 1, and the run writes
results.json and loss_curves.html (plotly) to --out.

Parameter matching: GAM's block costs about 10 C^2 + S C, the Transformer's 12 C^2, Mamba's
about 3 * expand * C^2. GAM and the Transformer keep the preset's width; Mamba's expand is
chosen (1..8) to bring its count closest to GAM's. The table prints every count.

Taught in notebooks/05_showdown.ipynb.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field

import torch

from . import distributed
from .cli import out_folder
from .config import ModelConfig
from .errors import GamlabError
from .model import MODELS, build_model, shapes_only
from .runtime import describe, eval_mode, pick_device, seed_everything

DEFAULT_MODELS = ("gam", "transformer", "mamba")


@dataclass
class Job:
    """One comparison (or training) job's settings, from a preset plus command-line changes."""

    model_preset: str  # ModelConfig preset
    train_preset: str  # TrainConfig preset
    model_changes: dict = field(default_factory=dict)
    train_changes: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)  # keyword arguments of load_data


# Presets of the commands. "tiny" is the CPU default: block 128 (the stories' names come back
# within it), 2 layers of width 64, 480 steps of 16 x 128 characters.
JOBS: dict[str, Job] = {
    "tiny": Job("tiny", "tiny", dict(block_size=128, n_slots=64, d_state=8),
                dict(steps=480, eval_every=40, eval_batches=4, batch_size=16),
                dict(tokenizer="char", n_stories=2000)),
    "small": Job("small", "small", dict(block_size=128), dict(steps=1000, batch_size=32),
                 dict(tokenizer="char", n_stories=6000)),
    "paper": Job("paper", "paper", {}, {}, dict(tokenizer="bpe", vocab_size=10_000, n_stories=6000)),
    # --fast: seconds, for CI and tests (the numbers mean little).
    "fast": Job("tiny", "tiny", dict(block_size=32, d_model=32, n_layer=1, n_slots=32, d_state=4, n_head=2),
                dict(steps=12, eval_every=6, eval_batches=2, batch_size=8, warmup_steps=2),
                dict(tokenizer="char", n_stories=150)),
}


def add_common_arguments(p) -> None:
    """Options shared by `gamlab compare` and `gamlab train`."""
    p.add_argument("--dataset", default="embedded",
                   help="embedded (default, offline), wikitext2, tinystories, or a path to a .txt file or folder")
    p.add_argument("--preset", default="tiny", choices=[k for k in JOBS if k != "fast"],
                   help="model and training sizes (default: tiny, minutes on a CPU; paper: the paper's)")
    p.add_argument("--tokenizer", choices=("char", "bpe"), help="default: char for the preset tiny/small, bpe for paper")
    p.add_argument("--steps", type=int, help="total optimizer steps of the run (overrides --epochs)")
    p.add_argument("--epochs", type=float, help="epochs over the training split")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N, mps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fast", action="store_true", help="a tiny budget that runs in seconds (CI, tests)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="train GAM, Transformer and Mamba side by side; print a Table-1 style table")
    add_common_arguments(p)
    p.add_argument("--models", default=",".join(DEFAULT_MODELS),
                   help=f"comma-separated model names (default: {','.join(DEFAULT_MODELS)})")
    p.add_argument("--out", default="runs/compare", help="folder for results.json and loss_curves.html")
    p.set_defaults(run=run)


# ---------------------------------------------------------------- shared setup

def resolve_job(args):
    """(Job, TrainConfig) from a preset and the command line; checks the numbers."""
    from .train import TrainConfig

    job = JOBS["fast" if args.fast else args.preset]
    for name in ("steps", "batch_size", "lr"):
        value = getattr(args, name, None)
        if value is not None and value <= 0:
            raise GamlabError(f"--{name.replace('_', '-')} must be positive, got {value}.")
    if args.epochs is not None and args.epochs <= 0:
        raise GamlabError(f"--epochs must be positive, got {args.epochs}.")
    changes = dict(job.train_changes, seed=args.seed, device=args.device)
    if args.epochs is not None:
        changes["steps"], changes["epochs"] = None, args.epochs
    for name in ("steps", "batch_size", "lr"):
        if getattr(args, name, None) is not None:
            changes[name] = getattr(args, name)
    return job, TrainConfig.preset(job.train_preset, **changes)


def show_progress(args) -> bool:
    """Progress bars on a terminal only: in a log file every redraw would become a line."""
    return not args.no_progress and sys.stderr.isatty()


def load_job_data(job: Job, args, tc, tokenizer=None):
    """The job's TextData (tokenizer: the saved one of a resumed run, else trained here)."""
    from .data import load_data

    kwargs = dict(job.data)
    if args.tokenizer:
        kwargs["tokenizer"] = args.tokenizer
    if tokenizer is not None:
        kwargs["tokenizer"] = tokenizer
    block = ModelConfig.preset(job.model_preset, **job.model_changes).block_size

    def load():
        return load_data(args.dataset, block_size=block, batch_size=tc.batch_size, seed=tc.seed, **kwargs)

    if tokenizer is not None or not distributed.is_distributed():
        return load()
    # Under torchrun every rank takes rank 0's tokenizer: Hugging Face's BPE trainer numbers
    # tokens in hash-map order, so ranks training their own would disagree on token ids.
    from .tokenizer import tokenizer_from_dict

    data = load() if distributed.is_main() else None
    shared = distributed.broadcast(data.tokenizer.to_dict() if data is not None else None)
    if data is None:
        kwargs["tokenizer"] = tokenizer_from_dict(shared)
        data = load()
    return data


def model_config(job: Job, vocab_size: int) -> ModelConfig:
    return ModelConfig.preset(job.model_preset, **dict(job.model_changes, vocab_size=vocab_size))


def matched_config(name: str, config: ModelConfig, target: int | None) -> ModelConfig:
    """Mamba's expand chosen so that its parameter count is closest to `target` (GAM's)."""
    if target is None or not name.startswith("mamba"):
        return config
    counts = {e: shapes_only(name, config.replace(expand=e)).num_params() for e in range(1, 9)}
    return config.replace(expand=min(counts, key=lambda e: abs(counts[e] - target)))


def available_memory(device: torch.device) -> int | None:
    """Free bytes on the device (CUDA: free GPU memory; CPU: available RAM), None if unknown."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:  # MemAvailable counts reclaimable page cache; the sysconf fallback counts free pages only
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(model, batch_size: int, device: torch.device, preset: str) -> None:
    """Refuse, in one sentence, a preset whose training would not fit the device's memory."""
    from .train import estimate_train_memory

    need, free = estimate_train_memory(model, batch_size), available_memory(device)
    if free is not None and need > 0.9 * free:
        raise GamlabError(f"preset {preset!r} with batch size {batch_size} needs about {need / 2**30:.1f} GiB to train "
                          f"{model.name} on {device}, but only {free / 2**30:.1f} GiB is free; "
                          "use a smaller --preset or --batch-size.")


def guess_vocab(job: Job, args) -> int:
    """The vocabulary size before any tokenizer exists (for the memory check): BPE's target, or 256."""
    kind = args.tokenizer or job.data.get("tokenizer", "char")
    return job.data.get("vocab_size", 10_000) if kind == "bpe" else 256


def parse_models(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise GamlabError("--models is empty; give names such as gam,transformer,mamba.")
    for n in names:
        if n not in MODELS:
            raise GamlabError(f"Unknown model {n!r}; choose from {', '.join(MODELS)}.")
    if len(set(names)) != len(names):
        raise GamlabError("--models names a model twice; list each once.")
    return names


def sample(model, tokenizer, prompt: str = "Once upon a time", n: int = 160, seed: int = 0) -> str:
    """A short continuation of `prompt` (temperature 0.8), for a first look at what was learned."""
    device = next(model.parameters()).device
    ids = tokenizer.encode(prompt)
    idx = torch.tensor([ids], dtype=torch.long, device=device)
    g = torch.Generator(device=device).manual_seed(seed)
    with eval_mode(model):
        out = model.generate(idx, n, temperature=0.8, generator=g)
    return tokenizer.decode(out[0].tolist())


def format_table(rows: list[dict], unigram: float | None = None) -> str:
    """The paper's Table 1 layout: model, params, s/epoch, tokens/s, val loss, PPL."""
    head = f"{'Model':<14}{'Params':>10}{'Steps':>7}{'Time (s)':>10}{'s/epoch':>10}{'Tokens/s':>10}{'Val loss':>10}{'PPL':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        spe = f"{r['s_per_epoch']:.1f}" if r.get("s_per_epoch") else "-"
        lines.append(f"{r['model']:<14}{r['params'] / 1e6:>9.3f}M{r['steps']:>7d}{r['seconds']:>10.1f}{spe:>10}"
                     f"{r['tokens_per_s']:>10,.0f}{r['val_loss']:>10.3f}{r['ppl']:>9.2f}")
    if unigram is not None:
        lines.append(f"{'unigram':<14}{'-':>10}{'-':>7}{'-':>10}{'-':>10}{'-':>10}{unigram:>10.3f}{math.exp(unigram):>9.2f}")
    return "\n".join(lines)


# ---------------------------------------------------------------- the command

def run(args) -> int:
    from .plots import loss_curves
    from .train import Trainer

    names = parse_models(args.models)
    job, tc = resolve_job(args)
    device = distributed.setup(pick_device(args.device))  # under torchrun: join the group first
    out = out_folder(args.out)
    preset = "fast" if args.fast else args.preset
    guess = model_config(job, guess_vocab(job, args))
    guess_target = shapes_only("gam", guess).num_params()
    for name in names:  # refuse a preset too big for the device before any work
        check_fits(shapes_only(name, matched_config(name, guess, guess_target)), tc.batch_size, device, preset)
    print(describe(device))
    t0 = time.perf_counter()
    data = load_job_data(job, args, tc)
    unigram = data.unigram_loss()
    base = model_config(job, data.vocab_size)
    print(f"data: {data.name}, {data.tokenizer.kind} tokenizer (vocab {data.vocab_size}), "
          f"{data.train.numel():,} training / {data.val.numel():,} validation tokens; "
          f"unigram baseline: val loss {unigram:.3f} (PPL {math.exp(unigram):.2f})")
    seed_everything(tc.seed)
    target = shapes_only("gam", base).num_params() if any(n.startswith("mamba") for n in names) else None
    rows, histories, samples = [], {}, {}
    for name in names:
        config = matched_config(name, base, target)
        seed_everything(tc.seed)
        model = build_model(name, config)
        trainer = Trainer(model, tc, data.get_batch, val_batches=data.val_batches,
                          steps_per_epoch=data.steps_per_epoch, progress=show_progress(args),
                          meta={"model_name": name, "model_config": model.config.to_dict()})
        print(f"training {name} ({model.num_params():,} params, {trainer.total} steps of "
              f"{tc.batch_size} x {config.block_size} tokens) ...", flush=True)
        trainer.fit()
        row = trainer.summary()  # validation over the whole split
        row["config_changes"] = {"expand": config.expand} if name.startswith("mamba") else {}
        rows.append(row)
        histories[name] = trainer.history
        samples[name] = sample(trainer.model, data.tokenizer, seed=tc.seed)
    print()
    print(format_table(rows, unigram))
    for name, text in samples.items():
        print(f"\n[{name}] {text!r}")
    if not distributed.is_main():  # under torchrun only rank 0 writes
        return 0
    out.mkdir(parents=True, exist_ok=True)
    results = {"command": "gamlab compare", "dataset": data.name, "preset": "fast" if args.fast else args.preset,
               "device": str(device), "describe": describe(device), "tokenizer": data.tokenizer.kind,
               "vocab_size": data.vocab_size, "train_tokens": data.train.numel(), "val_tokens": data.val.numel(),
               "steps_per_epoch": data.steps_per_epoch, "train_config": tc.to_dict(),
               "model_config": base.to_dict(), "unigram_val_loss": unigram, "results": rows,
               "histories": histories, "samples": samples,
               "wall_seconds": time.perf_counter() - t0}
    (out / "results.json").write_text(json.dumps(results, indent=1))
    fig = loss_curves(histories, unigram=unigram, title=f"Validation loss on {data.name} ({data.tokenizer.kind} tokens)")
    fig.write_html(out / "loss_curves.html", include_plotlyjs=True)  # self-contained: opens offline
    print(f"\nwrote {out / 'results.json'} and {out / 'loss_curves.html'} "
          f"({time.perf_counter() - t0:.0f} s in all)")
    return 0
