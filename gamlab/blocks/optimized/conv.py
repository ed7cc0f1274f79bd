"""CausalConv1d computed by shift and add on CPU, with a hand-written backward.

The reference (gamlab/blocks/conv.py) transposes (B, T, C) to conv1d's (B, C, T) and pads a
copy; here each of the k taps is one broadcast multiply-add in the (B, T, C) layout the blocks
already have. The `conv` form of gamlab.blocks.optimized.

Used in notebooks/01_local_path.ipynb (it times ShiftAddCausalConv1d against conv1d).
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from ..conv import CausalConv1d


class ShiftAddConv(torch.autograd.Function):
    """y[:, t] = bias + sum_j weight[:, 0, j] * x[:, t - (k-1-j)]; x: (B, T, C), weight (C, 1, k), bias (C,) or None.

    Lesson 1's shift and add, with a hand-written backward: autograd's would keep a padded
    copy per tap and sum every gradient through fresh zero tensors.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        k, T = weight.size(-1), x.size(1)
        # taps[j] = weight[:, 0, j] as a contiguous (C,) row: a strided (C,) view of the weight
        # makes every broadcast product below about 3x slower on CPU
        taps = weight[:, 0].t().contiguous()  # (k, C)
        y = x * taps[k - 1] if bias is None else torch.addcmul(bias, x, taps[k - 1])  # tap k-1: now
        for back in range(1, min(k, T)):  # tap k-1-back: `back` steps ago (zeros before the start)
            y[:, back:].addcmul_(x[:, :T - back], taps[k - 1 - back])
        ctx.save_for_backward(x, taps)
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, dy: torch.Tensor):
        x, taps = ctx.saved_tensors
        k, T = taps.size(0), x.size(1)
        dx = dy * taps[k - 1]
        dtaps = torch.zeros_like(taps)  # (k, C)
        dtaps[k - 1] = (dy * x).sum((0, 1))
        for back in range(1, min(k, T)):
            dx[:, :T - back].addcmul_(dy[:, back:], taps[k - 1 - back])
            dtaps[k - 1 - back] = (dy[:, back:] * x[:, :T - back]).sum((0, 1))
        dbias = dy.sum((0, 1)) if ctx.has_bias else None
        return dx, dtaps.t().unsqueeze(1), dbias  # dweight in the weight's (C, 1, k) layout


class ShiftAddCausalConv1d(CausalConv1d):
    """CausalConv1d computed by ShiftAddConv on CPU, in the (B, T, C) layout the blocks already
    have: conv1d wants (B, C, T), and the transposes, the padded copy and oneDNN's depthwise
    backward cost more (benchmarks/parts.py). On other devices it is CausalConv1d."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        if x.device.type != "cpu":
            return super().forward(x)
        return ShiftAddConv.apply(x, self.weight, self.bias)
