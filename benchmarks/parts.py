"""Each optimized form (gamlab.blocks.optimized.FORMS) against the reference layer it replaces, side by side.

    .venv/bin/python benchmarks/parts.py [--threads 1] [--repeats 15] [--glibc-default]

Forward+backward at B=8, T=1024, C=128, S=512 (the size of benchmarks/targets.py), on CPU:
    convolution  CausalConv1d (left-padded conv1d)  vs  ShiftAddCausalConv1d (shift and add)
    mamba conv   the same at Mamba's d = 2C channels and kernel 4
    dropout      nn.Dropout(0.1)                    vs  gamlab.blocks.optimized.Dropout(0.1)
    retrieval    AssociativeMemory: softmax(h M^T) M, w kept  vs  FusedAssociativeMemory (fused SDPA kernel)
    scan         MambaMixer (sequential scan)       vs  ChunkedMambaMixer (chunked, hand-written backward),
                 at B=2, T=256: the reference takes about a second a step there
Steps of the two forms alternate; the best step is reported, the median beside it.
"""

from __future__ import annotations

import statistics
import time

import torch
from common import script_options
from torch import nn

from gamlab.blocks.conv import CausalConv1d
from gamlab.blocks.mamba import MambaMixer
from gamlab.blocks.memory import AssociativeMemory
from gamlab.blocks.optimized import ChunkedMambaMixer, Dropout, FusedAssociativeMemory, ShiftAddCausalConv1d
from gamlab.config import ModelConfig

B, T, C, S, K = 8, 1024, 128, 512, 3


def timed(fn, inputs, repeats: int) -> list[float]:
    """ms of fn(*inputs) forward and backward (a random upstream gradient), `repeats` times."""
    out = fn(*inputs)
    dy = torch.randn_like(out)
    times = []
    for _ in range(repeats + 1):  # the first is a warm-up
        for t in inputs:
            t.grad = None
        t0 = time.perf_counter()
        fn(*inputs).backward(dy)
        times.append((time.perf_counter() - t0) * 1e3)
    return times[1:]


def conv_pair(channels: int, k: int):
    """(reference, optimized, inputs) for a causal depthwise convolution of `channels` and kernel k."""
    x = torch.randn(B, T, channels, requires_grad=True)
    ref = CausalConv1d(channels, k)
    opt = ShiftAddCausalConv1d(channels, k)
    opt.load_state_dict(ref.state_dict())
    return ref, opt, (x,)


def pairs():
    """name -> (reference form, optimized form, inputs): the two forms compute the same function."""
    h = torch.randn(B, T, C, requires_grad=True)
    memory, fused = AssociativeMemory(C, S), FusedAssociativeMemory(C, S)
    fused.load_state_dict(memory.state_dict())
    config = ModelConfig(d_model=C, d_state=16, expand=2)  # Mamba's mixer at the block size: d = 2C, n = 16
    mixer, chunked = MambaMixer(config), ChunkedMambaMixer(config)
    chunked.load_state_dict(mixer.state_dict())
    return {
        "convolution": conv_pair(C, K),
        "mamba conv": conv_pair(2 * C, 4),  # Mamba's conv1d: d = 2C channels, kernel 4
        "dropout": (nn.Dropout(0.1), Dropout(0.1), (h,)),
        "retrieval": (lambda x: memory(x)[0], lambda x: fused(x)[0], (h,)),
        "scan": (mixer, chunked, (torch.randn(2, 256, C, requires_grad=True),)),
    }


def main() -> None:
    args = script_options(__doc__.splitlines()[0], repeats=15)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, float32, B={B} T={T} C={C} S={S}")
    print(f"{'part':12} {'reference ms':>20} {'optimized ms':>20} {'speed-up':>20}")
    for name, (plain, opt, inputs) in pairs().items():
        rounds = [(timed(plain, inputs, 1)[0], timed(opt, inputs, 1)[0]) for _ in range(args.repeats)]
        p, f = [r[0] for r in rounds], [r[1] for r in rounds]
        print(f"{name:12} {min(p):8.2f} (med {statistics.median(p):6.2f}) {min(f):8.2f} (med {statistics.median(f):6.2f})"
              f" {min(p) / min(f):8.2f}x (med {statistics.median(p) / statistics.median(f):4.2f}x)")


if __name__ == "__main__":
    main()
