"""Wall time, slowest cell and peak memory of every lesson notebook, as a lecturer or Binder runs it.

    python benchmarks/lessons.py                       # default mode (no GAMLAB_FAST), every notebook
    python benchmarks/lessons.py --limit-gb 2          # the same inside a 2 GiB memory cgroup (Binder)
    python benchmarks/lessons.py 00_why_linear_time    # one lesson

Each notebook runs top to bottom in a fresh kernel (jupyter nbconvert --execute, per-cell
timing recorded). Peak memory is the largest resident set of the whole process tree (kernel
and any measuring subprocesses), sampled every 0.1 s. With --limit-gb the run goes into a new
cgroup v1 memory group with that limit (root, a writable /sys/fs/cgroup/memory): the kernel
then sees the limit as Binder's does, and an OOM kill shows as a failed run. Targets (issue
16): at most 60 s per notebook, 20 s per cell, 1.5 GB peak.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CGROUP = Path("/sys/fs/cgroup/memory")


def tree_rss(pid: int) -> int:
    """Resident bytes of pid and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(d.name))
            rss[int(d.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def run(notebook: Path, limit_gb: float | None) -> dict:
    out = Path(tempfile.mkdtemp()) / notebook.name
    cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output", str(out),
           "--ExecutePreprocessor.timeout=900", str(notebook)]
    group = None
    if limit_gb:
        group = CGROUP / f"gamlab-lesson-{os.getpid()}-{notebook.stem}"
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(int(limit_gb * 2**30)))
        cmd = ["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$@"', "sh", *cmd]
    env = {k: v for k, v in os.environ.items() if k != "GAMLAB_FAST"}
    t0, peak = time.perf_counter(), 0
    proc = subprocess.Popen(cmd, cwd=notebook.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    row = {"notebook": notebook.stem, "ok": proc.returncode == 0, "wall_s": round(wall, 1),
           "peak_mb": round(peak / 2**20)}
    if group is not None:
        row["cgroup_max_mb"] = round(int((group / "memory.max_usage_in_bytes").read_text()) / 2**20)
        row["oom_kills"] = int((group / "memory.failcnt").read_text())
        group.rmdir()
    if proc.returncode != 0:
        row["error"] = proc.stderr.strip().splitlines()[-1:] if proc.stderr else []
        return row
    cells = json.loads(out.read_text())["cells"]
    times = []
    for i, c in enumerate(cells):
        ex = c.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in ex and "shell.execute_reply" in ex:
            a = datetime.fromisoformat(ex["iopub.execute_input"].replace("Z", "+00:00"))
            b = datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
            times.append(((b - a).total_seconds(), i))
    slowest = max(times, default=(0.0, -1))
    row.update(cells_s=round(sum(t for t, _ in times), 1), slowest_cell_s=round(slowest[0], 1),
               slowest_cell=slowest[1])
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="notebook stems (default: every lesson)")
    ap.add_argument("--folder", default="notebooks", help="notebooks (student) or notebooks/solutions")
    ap.add_argument("--limit-gb", type=float, help="run inside a cgroup with this memory limit (needs root)")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    folder = ROOT / args.folder
    paths = [folder / f"{n}.ipynb" for n in args.names] or sorted(folder.glob("[0-9]*.ipynb"))
    rows = []
    print(f"{'notebook':<24}{'ok':>4}{'wall s':>9}{'cells s':>9}{'slowest cell s':>16}{'peak MB':>9}")
    for path in paths:
        r = run(path, args.limit_gb)
        rows.append(r)
        print(f"{r['notebook']:<24}{'yes' if r['ok'] else 'NO':>4}{r['wall_s']:>9}{r.get('cells_s', '-'):>9}"
              f"{r.get('slowest_cell_s', '-'):>16}{r['peak_mb']:>9}" + (f"  {r['error']}" if not r["ok"] else ""),
              flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
