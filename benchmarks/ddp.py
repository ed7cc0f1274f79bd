"""Time `gamlab train` in one process and under torchrun with 2 processes (DDP, gloo on CPU).

    .venv/bin/python benchmarks/ddp.py [--steps 60] [--preset tiny] [--model gam]

Both runs train the same model on the same global batches (each DDP process takes half of
every batch); the script prints each run's training seconds (the trainer's own clock, so
process start-up and data loading are left out), the final losses, and the ratio
one-process time / two-process time (> 1: DDP is faster). Not a test: the numbers depend on
the machine and on what else runs on it.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(args, out: Path, nproc: int, threads: int | None = None) -> tuple[float, float, dict]:
    cmd = [sys.executable, "-m", "gamlab", "train", "--model", args.model, "--preset", args.preset,
           "--steps", str(args.steps), "--device", "cpu", "--no-progress", "--out", str(out)]
    if nproc > 1:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd[1:3] = ["-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_addr", "127.0.0.1",
                    "--master_port", str(port), "-m", "gamlab"]
    t0 = time.perf_counter()
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if threads:  # torchrun sets OMP_NUM_THREADS=1 per process; a single process uses every core unless told
        env["OMP_NUM_THREADS"] = str(threads)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if r.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    history = json.loads((out / "history.json").read_text())
    return history[-1]["elapsed"], wall, history[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--model", default="gam")
    args = p.parse_args()
    import torch

    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores; {args.model}, preset {args.preset}, "
          f"{args.steps} steps")
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, nproc, threads in (("1 process, all threads", 1, None), ("1 process, 1 thread", 1, 1),
                                      ("2 processes (DDP), 1 thread each", 2, None)):
            runs[label] = run(args, Path(tmp) / str(len(runs)), nproc, threads)
            t, w, h = runs[label]
            print(f"{label:<34}: {t:7.1f} s training ({w:5.1f} s wall), last train loss {h['train_loss']:.4f}, "
                  f"val loss {h['val_loss']:.4f}", flush=True)
    (t1, *_), (t11, *_), (t2, *_) = runs.values()
    for label, t in (("all threads", t1), ("1 thread", t11)):
        print(f"ratio 1-process ({label}) / 2-process training time: {t / t2:.2f} "
              f"({'DDP faster' if t > t2 else 'DDP slower'})")


if __name__ == "__main__":
    main()
