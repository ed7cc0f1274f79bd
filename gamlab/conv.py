"""The local path: a causal depthwise convolution.

Each channel c has its own k weights; output t is a weighted sum of inputs t-k+1 .. t of
that channel, and never of a later input. Padding k-1 zeros on the left (only) keeps the
length T and makes the convolution causal without computing outputs that are thrown away.

On CPU the module computes it as lesson 1 builds it, shift and add, in the (B, T, C) layout
the block already has: conv1d wants (B, C, T), and the transposes, the padded copy and
oneDNN's depthwise backward cost about twice as much at B=8, T=1024, C=128 (see
benchmarks/targets.py). On other devices it calls conv1d.

Taught in notebooks/01_local_path.ipynb.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable


class ShiftAddConv(torch.autograd.Function):
    """y[:, t] = bias + sum_j weight[:, 0, j] * x[:, t - (k-1-j)]; x: (B, T, C), weight (C, 1, k), bias (C,) or None.

    A hand-written backward: autograd's would keep a padded copy per tap and sum every
    gradient through fresh zero tensors.
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


class CausalConv1d(nn.Conv1d):
    """Depthwise causal convolution over the time axis of a (B, T, C) tensor.

    Parameters keep nn.Conv1d's layout: weight (C, 1, k), bias (C,), so the same module
    serves GAM's local path and Mamba's `conv1d` (whose reference checkpoints use it).
    """

    def __init__(self, channels: int, kernel_size: int, bias: bool = True):
        super().__init__(channels, channels, kernel_size, groups=channels, padding=0, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C); output t depends on x[:, t-k+1 : t+1] only."""
        if x.device.type == "cpu":
            return ShiftAddConv.apply(x, self.weight, self.bias)
        k = self.kernel_size[0]
        x = x.transpose(1, 2)  # (B, C, T): conv1d wants channels first
        x = F.pad(x, (k - 1, 0))  # (B, C, T + k - 1): zeros before the first token
        return super().forward(x).transpose(1, 2)  # (B, T, C)


def receptive_field(n_layer: int, kernel_size: int) -> int:
    """How many tokens back (itself included) a stack of causal convolutions can see.

    Each layer adds k - 1 tokens of reach: L * (k - 1) + 1 (13 for the paper's 6 layers, k=3).
    """
    return n_layer * (kernel_size - 1) + 1
