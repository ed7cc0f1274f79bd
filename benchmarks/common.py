"""What the scripts in benchmarks/ share (they import it as `common`: run as scripts, their folder
is on the import path). The gamlab package keeps what `gamlab bench` and the lessons use."""

from __future__ import annotations

import argparse

import torch

from gamlab.experiments.timing import keep_freed_memory_once


def script_options(description: str, repeats: int) -> argparse.Namespace:
    """Parse and apply the options the scripts in benchmarks/ share: --threads, --repeats, and
    --glibc-default (without it, freed memory is kept for reuse as by the command line)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    ap.add_argument("--repeats", type=int, default=repeats, help="timed rounds")
    ap.add_argument("--glibc-default", action="store_true",
                    help="leave glibc's thresholds alone (freed blocks of 32 MiB or more go back to the system)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    # the process's one allocator choice (measure would otherwise make the notebooks' one)
    keep_freed_memory_once(say=None, limit_bytes=0 if args.glibc_default else 1 << 30)
    return args
