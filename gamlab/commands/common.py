"""Options that `gamlab compare` and `gamlab train` share, and how they map onto the run layer."""

from __future__ import annotations

import shlex
import sys

from ..experiments.runs import PRESETS, train_config


def add_common_arguments(p) -> None:
    """Options shared by `gamlab compare` and `gamlab train`."""
    p.add_argument("--dataset", default="embedded",
                   help="embedded (default, offline), wikitext2, tinystories, or a path to a .txt file or folder")
    p.add_argument("--preset", default="tiny", choices=[k for k in PRESETS if k != "fast"],
                   help="model and training sizes (default: tiny, minutes on a CPU; paper: the paper's)")
    p.add_argument("--tokenizer", choices=("char", "bpe"), help="default: char for the preset tiny/small, bpe for paper")
    p.add_argument("--steps", type=int, help="total optimizer steps of the run (overrides --epochs)")
    p.add_argument("--epochs", type=float, help="epochs over the training split")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N, mps")
    add_precision_argument(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fast", action="store_true", help="a tiny budget that runs in seconds (CI, tests)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_precision_argument(p) -> None:
    """--precision, as every training command has it (gamlab.runtime.pick_precision)."""
    p.add_argument("--precision", default="auto",
                   help="auto (default): bf16 on a GPU with bf16 hardware, fp16 with loss scaling on an older one "
                        "such as a T4, fp32 on a CPU; or bf16, fp16, fp32")


def resolve_job(args):
    """(RunPreset, TrainConfig) from --preset/--fast and the options that change it."""
    preset = PRESETS["fast" if args.fast else args.preset]
    return preset, train_config(preset, steps=args.steps, epochs=args.epochs, batch_size=args.batch_size,
                                lr=args.lr, seed=args.seed, device=args.device, precision=args.precision,
                                checkpoint_every=getattr(args, "checkpoint_every", None))


def show_progress(args) -> bool:
    """Progress bars on a terminal only: in a log file every redraw would become a line."""
    return not args.no_progress and sys.stderr.isatty()


def command_line(command: str, args, options: dict) -> str:
    """The command line that makes a run again, as stored beside its results: `gamlab COMMAND`,
    the preset (or --fast), then `options` in order ({flag: value}; None leaves a flag out)."""
    parts = [f"gamlab {command}", "--fast" if args.fast else f"--preset {args.preset}"]
    parts += [f"--{flag} {shlex.quote(str(value))}" for flag, value in options.items() if value is not None]
    return " ".join(parts)
