"""Device, precision and seeds: chosen once, printed by every notebook."""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import random
import sys
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


CGROUP_ROOT = "/sys/fs/cgroup"
_UNLIMITED = 1 << 60  # cgroup v1 writes "no limit" as about 2**63; nothing real is this large


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # v2 writes "max" for no limit


def _stat(path: str, key: str) -> int:
    """One counter of a cgroup's memory.stat, 0 if absent."""
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _own_cgroups(proc_cgroup: str) -> list[str]:
    """This process's cgroup paths, from /proc/self/cgroup: v2's ("0::/path") and v1's memory one."""
    paths = []
    try:
        with open(proc_cgroup) as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if controllers in ("", "memory") or "memory" in controllers.split(","):
                    paths.append(path.strip("/"))
    except (OSError, ValueError):
        pass
    return paths


def proc_bytes(key: str, path: str = "/proc/self/status") -> int | None:
    """The byte count of a `Key: N kB` line of a Linux /proc file, None where there is none (macOS).

    e.g. VmRSS, VmHWM or VmData of /proc/self/status (gamlab.experiments.bench's peak memory), or
    MemAvailable of /proc/meminfo (available_memory).
    """
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def memory_limit(root: str | None = None, proc_cgroup: str = "/proc/self/cgroup") -> tuple[int, int] | None:
    """(limit, used) in bytes of the memory cgroup this process lives in, None where there is no limit.

    A container (Binder, Docker, Kubernetes) caps memory with a cgroup, while /proc/meminfo shows
    the host's: Binder gives 2 GB on a host whose meminfo says 20. Reads cgroup v2
    (memory.max, memory.current) and v1 (memory/memory.limit_in_bytes, memory.usage_in_bytes), at
    the root of the cgroup tree (what a container sees) and at this process's own cgroup; of
    several limits, the one with the least room left. `used` leaves out inactive file cache,
    which the kernel reclaims before it kills anything (as Kubernetes' "working set" does).
    """
    root, found = root or CGROUP_ROOT, []
    for sub in ["", *_own_cgroups(proc_cgroup)]:
        for folder, limit_file, used_file, cache in (
                (os.path.join(root, sub), "memory.max", "memory.current", "inactive_file"),
                (os.path.join(root, "memory", sub), "memory.limit_in_bytes", "memory.usage_in_bytes",
                 "total_inactive_file")):
            limit = _read_int(os.path.join(folder, limit_file))
            if limit is None or limit >= _UNLIMITED:
                continue
            used = _read_int(os.path.join(folder, used_file)) or 0
            used = max(used - _stat(os.path.join(folder, "memory.stat"), cache), 0)
            found.append((limit, used))
    return min(found, key=lambda lu: lu[0] - lu[1]) if found else None


def address_space_room() -> int | None:
    """Bytes this process may still map under its address-space limit (`ulimit -v`, RLIMIT_AS),
    None where there is no such limit (the usual case) or no way to read it."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    return max(soft - (proc_bytes("VmSize") or 0), 0)


def available_memory(device: torch.device | str | None = None, root: str | None = None,
                     meminfo: str = "/proc/meminfo") -> int | None:
    """Bytes that a new allocation on `device` can still take, None if unknown.

    CUDA: free GPU memory. CPU (and MPS, which shares it): the smaller of the machine's MemAvailable (which counts
    reclaimable page cache) and the room left under the container's cgroup limit
    (memory_limit), and the room under an address-space limit (`ulimit -v`, address_space_room).
    `gamlab compare`'s memory check, the text loader's (gamlab.training.data.check_text_fits),
    `gamlab bench` and lesson 0 size their work by it. Used in notebooks/00_why_linear_time.ipynb.
    """
    device = torch.device(device or "cpu")
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    free = proc_bytes("MemAvailable", meminfo)
    if free is None:  # no /proc (macOS): free pages only, which undercounts page cache
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            pass
    cgroup = memory_limit(root)
    if cgroup is not None:
        room = max(cgroup[0] - cgroup[1], 0)
        free = room if free is None else min(free, room)
    room = address_space_room()
    if room is not None:
        free = room if free is None else min(free, room)
    return free


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
    return (f"gamlab on {device} ({name}, {threads} CPU threads) | precision {how}"
            f"{' (auto)' if precision == 'auto' else ''} | python {platform.python_version()}"
            f" | torch {torch.__version__} | fast mode {'on' if fast_mode() else 'off'}")
