"""Host memory: what this machine (and the container around it) lets a run allocate, and how
glibc hands freed memory back.

available_memory sizes every memory check (gamlab compare's and gamlab train's `check_fits`, the
data's `check_text_fits`, `gamlab bench`): the machine's MemAvailable, the container's
cgroup limit (Binder's 2 GB is one), and an address-space limit (ulimit -v), whichever leaves
the least room. keep_freed_memory is the allocator setting a measurement applies (page faults
bend a time-against-length curve). Device, precision and seeds are gamlab/runtime.py's.
"""

from __future__ import annotations

import ctypes
import os
import sys

import torch


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
    and `gamlab bench` (lesson 0's memory measurement through it) size their work by it.
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
