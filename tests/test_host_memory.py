"""gamlab.host_memory: the memory guard reads a container's cgroup limit, not only the
host's /proc/meminfo (issue 16), and glibc keeps freed memory where it can.

Each test writes a fake cgroup tree (v2: memory.max, memory.current; v1: memory/memory.limit_in_bytes,
memory.usage_in_bytes) and a fake /proc/self/cgroup under tmp_path.
"""

import pytest
import torch

from gamlab import host_memory
from gamlab.errors import GamlabError
from gamlab.experiments import peak_memory, runs

GiB = 2**30


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def meminfo(tmp_path):
    """A host with 20 GiB available, as Binder's /proc/meminfo shows."""
    write(tmp_path / "meminfo", f"MemTotal: {32 * GiB // 1024} kB\nMemAvailable: {20 * GiB // 1024} kB\n")
    return str(tmp_path / "meminfo")


def v2(root, limit, used, inactive_file=0):
    write(root / "memory.max", f"{limit}\n")
    write(root / "memory.current", f"{used}\n")
    write(root / "memory.stat", f"anon {used}\ninactive_file {inactive_file}\nactive_file 0\n")


def test_v2_limit_and_usage(tmp_path, meminfo):
    v2(tmp_path / "cg", 2 * GiB, GiB // 2)
    assert host_memory.memory_limit(str(tmp_path / "cg"), proc_cgroup="/nonexistent") == (2 * GiB, GiB // 2)
    assert host_memory.available_memory("cpu", root=str(tmp_path / "cg"), meminfo=meminfo) == 2 * GiB - GiB // 2


def test_v2_inactive_file_cache_counts_as_free(tmp_path, meminfo):
    v2(tmp_path / "cg", 2 * GiB, GiB, inactive_file=GiB // 4)
    assert host_memory.memory_limit(str(tmp_path / "cg"), proc_cgroup="/nonexistent") == (2 * GiB, 3 * GiB // 4)


def test_v2_max_means_no_limit(tmp_path, meminfo):
    write(tmp_path / "cg" / "memory.max", "max\n")
    write(tmp_path / "cg" / "memory.current", "123\n")
    assert host_memory.memory_limit(str(tmp_path / "cg"), proc_cgroup="/nonexistent") is None
    assert host_memory.available_memory("cpu", root=str(tmp_path / "cg"), meminfo=meminfo) == 20 * GiB


def test_v1_limit_and_usage(tmp_path, meminfo):
    mem = tmp_path / "cg" / "memory"
    write(mem / "memory.limit_in_bytes", f"{2 * GiB}\n")
    write(mem / "memory.usage_in_bytes", f"{GiB}\n")
    write(mem / "memory.stat", f"cache 0\ntotal_inactive_file {GiB // 2}\n")
    assert host_memory.memory_limit(str(tmp_path / "cg"), proc_cgroup="/nonexistent") == (2 * GiB, GiB // 2)
    assert host_memory.available_memory("cpu", root=str(tmp_path / "cg"), meminfo=meminfo) == 3 * GiB // 2


def test_v1_unlimited_is_no_limit(tmp_path, meminfo):
    write(tmp_path / "cg" / "memory" / "memory.limit_in_bytes", "9223372036854771712\n")
    assert host_memory.memory_limit(str(tmp_path / "cg"), proc_cgroup="/nonexistent") is None
    assert host_memory.available_memory("cpu", root=str(tmp_path / "cg"), meminfo=meminfo) == 20 * GiB


def test_missing_files_fall_back_to_meminfo(tmp_path, meminfo):
    assert host_memory.memory_limit(str(tmp_path / "nothing"), proc_cgroup="/nonexistent") is None
    assert host_memory.available_memory("cpu", root=str(tmp_path / "nothing"), meminfo=meminfo) == 20 * GiB


def test_own_nested_cgroup_is_read(tmp_path, meminfo):
    """Without a cgroup namespace the process sits deeper in the tree (/proc/self/cgroup says where)."""
    mem = tmp_path / "cg" / "memory" / "kubepods" / "pod1"
    write(mem / "memory.limit_in_bytes", f"{2 * GiB}\n")
    write(mem / "memory.usage_in_bytes", f"{GiB}\n")
    write(tmp_path / "self_cgroup", "4:memory:/kubepods/pod1\n1:cpu:/\n")
    assert host_memory.memory_limit(str(tmp_path / "cg"), proc_cgroup=str(tmp_path / "self_cgroup")) == (2 * GiB, GiB)


def test_the_tightest_limit_wins_and_meminfo_can_be_it(tmp_path, meminfo):
    v2(tmp_path / "cg", 64 * GiB, GiB)  # a limit above what the host has free: the host's figure stands
    assert host_memory.available_memory("cpu", root=str(tmp_path / "cg"), meminfo=meminfo) == 20 * GiB


def test_proc_bytes_reads_kib_lines(tmp_path, meminfo):
    """One parser for /proc's `Key: N kB` lines serves bench's peak memory and available_memory."""
    write(tmp_path / "status", "Name:\tpython\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n")
    assert host_memory.proc_bytes("VmRSS", str(tmp_path / "status")) == 2**20
    assert host_memory.proc_bytes("VmHWM", str(tmp_path / "status")) == 2**21
    assert host_memory.proc_bytes("VmData", str(tmp_path / "status")) is None
    assert host_memory.proc_bytes("VmRSS", str(tmp_path / "missing")) is None
    assert host_memory.proc_bytes("MemAvailable", meminfo) == 20 * GiB


@pytest.fixture
def binder(tmp_path, monkeypatch, meminfo):
    """Binder as the guards see it: 2 GiB cgroup v2 limit, 0.5 GiB used, a host with 20 GiB free."""
    v2(tmp_path / "cg", 2 * GiB, GiB // 2)
    monkeypatch.setattr(host_memory, "CGROUP_ROOT", str(tmp_path / "cg"))
    real = host_memory.available_memory
    monkeypatch.setattr(host_memory, "available_memory", lambda device=None, root=None, meminfo_=meminfo:
                        real(device, root, meminfo_))
    monkeypatch.setattr(runs, "available_memory", host_memory.available_memory)  # what the run layer's guard reads


def test_compare_guard_sees_the_container_limit(binder):
    assert runs.available_memory(torch.device("cpu")) == 3 * GiB // 2

    class Big(torch.nn.Module):  # 40M float32 parameters: 4 copies for AdamW are 0.6 GiB, + activations
        name = "gam"

        def __init__(self):
            super().__init__()
            from gamlab.config import ModelConfig
            self.config = ModelConfig(d_model=512, n_layer=6, block_size=256, vocab_size=10_000)
            self.w = torch.nn.Parameter(torch.empty(40_000_000, device="meta"))

    with pytest.raises(GamlabError, match=r"only 1\.5 GiB is free; use a smaller --preset or --batch-size\.$"):
        runs.check_fits(Big(), 32, torch.device("cpu"), "paper")


def test_bench_guard_sees_the_container_limit(binder, monkeypatch):
    monkeypatch.setattr(peak_memory, "available_memory", host_memory.available_memory)
    assert peak_memory._available_mb() == 1536.0


def test_keep_freed_memory_applies_on_linux():
    import sys

    from gamlab.host_memory import keep_freed_memory

    assert keep_freed_memory() is (sys.platform.startswith("linux") and _glibc())


def _glibc() -> bool:
    import platform

    return platform.libc_ver()[0] == "glibc"
