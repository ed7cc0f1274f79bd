"""Options that `gamlab compare` and `gamlab train` share, and how they map onto the run layer;
the types every command's numeric options are parsed with (range-checked where they are parsed)."""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys

from ..experiments.runs import PRESETS, train_config
from ..runtime import SEED_LIMIT

INT64 = 2**63 - 1  # a count beyond it overflows torch's int64 (and no run is that long)


def _parsed(text: str, kind, what: str):
    try:
        return kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


def count(text: str) -> int:
    """argparse type: a whole number from 1 to 2**63 - 1 (steps, batch sizes, widths, repeats...)."""
    value = _parsed(text, int, "a positive whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number (1 or more), got {text!r}")
    if value > INT64:
        raise argparse.ArgumentTypeError(f"must be at most 2**63 - 1, got {text!r}")
    return value


def positive(text: str) -> float:
    """argparse type: a finite number above 0 (learning rates, epochs); not nan, not inf."""
    value = _parsed(text, float, "a positive number")
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text!r}")
    return value


def seed_value(text: str) -> int:
    """argparse type: a seed, a whole number from 0 to 2**32 - 1 (gamlab.runtime.SEED_LIMIT)."""
    value = _parsed(text, int, "a whole number")
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {SEED_LIMIT - 1}, got {text!r}")
    return value


def thread_count(text: str) -> int:
    """argparse type: CPU threads, from 1 to the CPUs this process may use (more only slow it down)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    value = _parsed(text, int, "a positive whole number")
    if not 1 <= value <= cpus:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {cpus} (the CPUs here), got {text!r}")
    return value


def add_preset_arguments(p) -> None:
    """--preset NAME (a run preset, gamlab.experiments.runs.PRESETS: the same in every command),
    --fast (the same as --preset fast), --dataset and --tokenizer: what defines a run's model."""
    p.add_argument("--dataset", default="embedded",
                   help="embedded (default, offline), wikitext2, tinystories, or a path to a .txt file or folder")
    p.add_argument("--preset", default="tiny", choices=list(PRESETS),
                   help="model, training and data sizes, gamlab.experiments.runs.PRESETS (default: tiny, minutes "
                        "on a CPU; paper: the paper's; fast: seconds, for tests)")
    p.add_argument("--fast", action="store_true", help="the same as --preset fast: a tiny budget that runs in seconds")
    p.add_argument("--tokenizer", choices=("char", "bpe"), help="default: char for the preset tiny/small, bpe for paper")


def add_common_arguments(p) -> None:
    """Options shared by `gamlab compare`, `gamlab train` and `gamlab sweep`."""
    add_preset_arguments(p)
    p.add_argument("--steps", type=count, help="total optimizer steps of the run (overrides --epochs)")
    p.add_argument("--epochs", type=positive, help="epochs over the training split")
    p.add_argument("--batch-size", type=count, help="sequences per optimizer step (default: the preset's)")
    p.add_argument("--lr", type=positive, help="learning rate after warm-up (default: the preset's, or for compare each "
                                             "model's tuned rate, gamlab/experiments/tuned_lr.json)")
    add_device_argument(p)
    add_precision_argument(p)
    p.add_argument("--seed", type=seed_value, default=0, help="random seed, 0 to 2**32 - 1")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def preset_name(args) -> str:
    """The run preset the options name: --preset, or "fast" for --fast."""
    return "fast" if args.fast else args.preset


def add_device_argument(p) -> None:
    """--device, as every command has it (gamlab.runtime.pick_device)."""
    p.add_argument("--device", default="auto", help="auto (default: a GPU if there is one, else the CPU), cpu, cuda, "
                                                   "cuda:N, mps")


def add_precision_argument(p) -> None:
    """--precision, as every training command has it (gamlab.runtime.pick_precision)."""
    p.add_argument("--precision", default="auto",
                   help="auto (default): bf16 on a GPU with bf16 hardware, fp16 with loss scaling on an older one "
                        "such as a T4, fp32 on a CPU; or bf16, fp16, fp32")


def resolve_job(args):
    """(RunPreset, TrainConfig) from --preset/--fast and the options that change it."""
    preset = PRESETS[preset_name(args)]
    return preset, train_config(preset, steps=args.steps, epochs=args.epochs, batch_size=args.batch_size,
                                lr=args.lr, seed=args.seed, device=args.device, precision=args.precision,
                                checkpoint_every=getattr(args, "checkpoint_every", None))


def show_progress(args) -> bool:
    """Progress bars on a terminal only: in a log file every redraw would become a line."""
    return not args.no_progress and sys.stderr.isatty()


def command_line(command: str, args, options: dict) -> str:
    """The command line that makes a run again, as stored beside its results: `gamlab COMMAND`,
    the preset (or --fast), then `options` in order ({flag: value}; None leaves a flag out)."""
    parts = [f"gamlab {command}", "--fast" if preset_name(args) == "fast" else f"--preset {args.preset}"]
    parts += [f"--{flag} {shlex.quote(str(value))}" for flag, value in options.items() if value is not None]
    return " ".join(parts)
