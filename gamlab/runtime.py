"""Device, precision and seeds: chosen once, printed by every notebook (describe).

Host memory (cgroups, glibc) is gamlab/host_memory.py's."""

from __future__ import annotations

import contextlib
import os
import platform
import random
import warnings

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


# ---------------------------------------------------------------- precision

PRECISIONS = ("auto", "bf16", "fp16", "fp32")  # what TrainConfig.precision and --precision accept
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


class PrecisionWarning(UserWarning):
    """A precision that runs, but slowly, on this device (bf16 emulated on a GPU without bf16 hardware)."""


_warned: set[str] = set()  # devices already warned about (pick_precision)


def native_bf16(device: torch.device | str) -> bool:
    """True on a CUDA GPU with bf16 hardware: compute capability 8.0 and up (A100, L4, RTX 30xx, H100)."""
    device = torch.device(device)
    return device.type == "cuda" and torch.cuda.get_device_capability(device) >= (8, 0)


def check_precision(precision: str) -> str:
    """`precision` if it is one of PRECISIONS; else GamlabError in one sentence."""
    if precision not in PRECISIONS:
        raise GamlabError(f"Unknown precision {precision!r}; choose auto, bf16, fp16 or fp32.")
    return precision


def pick_precision(device: torch.device | str, requested: str = "auto") -> str:
    """The precision a run on `device` computes in: "bf16", "fp16" or "fp32" (never "auto").

    requested="auto" is the policy, decided by what the device can do:
      - a CUDA GPU of compute capability 8.0 and up (native bf16): "bf16", autocast without loss scaling;
      - an older CUDA GPU (Colab's T4 is 7.5, a V100 7.0): "fp16", autocast with dynamic loss
        scaling (the Trainer's torch.amp.GradScaler). Their fp16 tensor cores are fast, while
        bf16 there is emulated: torch.cuda.is_bf16_supported() says True, and it runs slowly;
      - a CPU or MPS: "fp32" (CPU autocast supports bf16 and fp16, but it is not faster there).
    An explicit "bf16", "fp16" or "fp32" is taken as it is; "bf16" on a GPU without bf16 hardware
    runs, with one PrecisionWarning that it is emulated and slow. Raises GamlabError for any other
    value. runtime.autocast and the Trainer take their precision from here (DESIGN.md: chosen once).
    """
    check_precision(requested)
    device = torch.device(device)
    if requested == "auto":
        if device.type != "cuda":
            return "fp32"
        return "bf16" if native_bf16(device) else "fp16"
    if requested == "bf16" and device.type == "cuda" and not native_bf16(device) and str(device) not in _warned:
        _warned.add(str(device))  # once per device and process, not once per step or caller
        major, minor = torch.cuda.get_device_capability(device)
        warnings.warn(f"bf16 on {device} (compute capability {major}.{minor}, no bf16 hardware) is emulated and "
                      "slow; --precision fp16 (or auto) uses its fp16 tensor cores.", PrecisionWarning, stacklevel=2)
    return requested


def autocast(device: torch.device | str, precision: str = "auto"):
    """The autocast context of `precision` on `device` (pick_precision resolves "auto");
    nothing (float32 throughout) for "fp32". The paper trained in mixed precision on a GPU."""
    device = torch.device(device)
    precision = pick_precision(device, precision)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[precision])


def autocast_off(device: torch.device | str):
    """A context in which autocast is off on `device`: each op runs in its inputs' dtype.

    A block's float32 island (Mamba's scan, the fast-weight memory) widens its inputs to float32
    and runs inside this, since autocast would otherwise cast its matrix products back to fp16 or
    bf16; it hands the autocast dtype back after. Nothing for a device autocast does not know (meta).
    """
    try:
        return torch.autocast(torch.device(device).type, enabled=False)
    except RuntimeError:
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


SEED_LIMIT = 2**32  # seeds are 0 <= seed < 2**32: derived seeds (seed * 1_000_003 + epoch) stay in torch's range


def check_seed(seed, what: str = "seed") -> int:
    """`seed` if it is a whole number with 0 <= seed < SEED_LIMIT; GamlabError otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        raise GamlabError(f"{what} must be a whole number from 0 to {SEED_LIMIT - 1}, got {seed!r}.")
    return seed


def seed_everything(seed: int) -> None:
    """Seed Python, torch (CPU and CUDA): the same seed on CPU gives the same numbers.

    seed: 0 <= seed < 2**32 (SEED_LIMIT); GamlabError otherwise."""
    check_seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)


def fast_mode() -> bool:
    """True when GAMLAB_FAST=1 (CI): notebooks shrink data and steps to run in seconds."""
    return os.environ.get("GAMLAB_FAST", "0") not in ("", "0", "false", "False")


def describe(device: torch.device | None = None, precision: str = "auto") -> str:
    """One line for the top of a notebook: versions, the device it got and the precision it computes in
    (pick_precision(device, precision), e.g. "precision fp16 (loss scaling)" on a T4)."""
    device = device or pick_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        name += f", compute capability {major}.{minor}"
    threads = torch.get_num_threads()
    chosen = pick_precision(device, precision)
    how = {"fp16": "fp16 (loss scaling)", "bf16": "bf16 autocast", "fp32": "fp32"}[chosen]
    return (f"gamlab on {device} ({name}, {threads} CPU thread{'s' if threads != 1 else ''}) | precision {how}"
            f"{' (auto)' if precision == 'auto' else ''} | python {platform.python_version()}"
            f" | torch {torch.__version__} | fast mode {'on' if fast_mode() else 'off'}")
