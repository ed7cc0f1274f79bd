"""Device, precision and seeds: chosen once, printed by every notebook."""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import random
import sys

import torch

from .errors import GamlabError


def pick_device(requested: str | None = None) -> torch.device:
    """`requested` ("cpu", "cuda", "cuda:1", "mps") or the best available: cuda, else cpu."""
    if requested in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise GamlabError(f"Unknown device {requested!r}; use cpu, cuda, cuda:N, mps or auto.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GamlabError("CUDA was requested but no CUDA GPU is visible; use --device cpu (or auto).")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise GamlabError("MPS was requested but is not available here; use --device cpu (or auto).")
    return device


def autocast(device: torch.device):
    """bf16 autocast on CUDA (the paper trained in mixed precision); plain float32 elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module):
    """Dropout off inside (the model as it runs at inference); the model's own mode comes back after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def keep_freed_memory(limit_bytes: int = 1 << 30) -> bool:
    """Let glibc keep freed blocks of up to `limit_bytes` for reuse; True if it was applied (Linux, glibc).

    By default glibc hands a freed block of 32 MiB or more straight back to the system, so a
    training step whose tensors are that large faults every page in again, zeroed, on the next
    step: a GAM block at B=8, T=2048, C=128 takes about 25,000 page faults a step and runs
    10-20% slower, which bends its time-against-length line upwards. Caching allocators (CUDA's,
    jemalloc) avoid this the same way. It sets process-wide thresholds, so it belongs in a
    process that is gamlab's own: the command line calls it, notebooks and imports do not.
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None) if sys.platform.startswith("linux") else None
    if mallopt is None:
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
    # Both: setting either one alone turns off glibc's adaptive threshold, which is worse.
    return bool(mallopt(M_MMAP_THRESHOLD, limit_bytes)) and bool(mallopt(M_TRIM_THRESHOLD, limit_bytes))


def seed_everything(seed: int) -> None:
    """Seed Python, torch (CPU and CUDA): the same seed on CPU gives the same numbers."""
    random.seed(seed)
    torch.manual_seed(seed)


def fast_mode() -> bool:
    """True when GAMLAB_FAST=1 (CI): notebooks shrink data and steps to run in seconds."""
    return os.environ.get("GAMLAB_FAST", "0") not in ("", "0", "false", "False")


def describe(device: torch.device | None = None) -> str:
    """One line for the top of a notebook: versions and the device it got."""
    device = device or pick_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    threads = torch.get_num_threads()
    return (f"gamlab on {device} ({name}, {threads} CPU threads) | python {platform.python_version()}"
            f" | torch {torch.__version__} | fast mode {'on' if fast_mode() else 'off'}")
