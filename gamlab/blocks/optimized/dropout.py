"""Dropout with a cheaper random mask on CPU: the `dropout` form of gamlab.blocks.optimized.

torch's CPU dropout draws one random number per element with a single-threaded generator:
at B=8, T=1024, C=128 the mask alone takes about 10 ms, as long as the block's whole
convolution and gating together. One 64-bit draw holds four 16-bit lanes, so a quarter of
the draws make the same mask: a lane's low 15 bits are uniform on 0..32767, and an element
is dropped when they fall below round(p * 32768). The drop probability is that count over
32768 (0.100006 for p = 0.1), and the kept elements are scaled by the exact inverse of the
keep probability, so the expected output is still exactly the input.

On other devices (CUDA has a fused dropout kernel), in eval mode, and for a p that 15 bits
cannot resolve (below 1/65536 or above 1 - 1/65536) it is nn.Dropout.
"""

from __future__ import annotations

import math

import torch
from torch import nn

LANE = 1 << 15  # values a 15-bit lane can take


def keep_mask(shape: torch.Size | tuple[int, ...], p: float) -> tuple[torch.Tensor, float]:
    """A CPU boolean mask of `shape`, True where an element is kept, and the scale 1/P(keep)."""
    n = math.prod(shape)
    draws = torch.empty((n + 3) // 4, dtype=torch.int64).random_()  # 0 .. 2**63 - 1
    lanes = draws.view(torch.int16)[:n].view(shape) & (LANE - 1)  # four 15-bit uniforms per draw
    cut = round(p * LANE)
    return lanes >= cut, LANE / (LANE - cut)


class Dropout(nn.Dropout):
    """nn.Dropout (same argument, same behaviour in eval mode), with keep_mask on CPU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or x.device.type != "cpu" or self.inplace or round(self.p * LANE) in (0, LANE):
            return super().forward(x)
        keep, scale = keep_mask(x.shape, self.p)
        return x * keep.to(x.dtype).mul_(scale)
