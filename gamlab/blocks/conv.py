"""The local path: a causal depthwise convolution.

Each channel c has its own k weights; output t is a weighted sum of inputs t-k+1 .. t of
that channel, and never of a later input. Padding k-1 zeros on the left (only) keeps the
length T and makes the convolution causal without computing outputs that are thrown away.

gamlab.blocks.optimized.ShiftAddCausalConv1d computes the same on CPU by shift and add, as lesson 1
builds it, in the (B, T, C) layout the blocks already have (faster there: docs/benchmark.md).

Taught in notebooks/01_local_path.ipynb.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CausalConv1d(nn.Conv1d):
    """Depthwise causal convolution over the time axis of a (B, T, C) tensor.

    Parameters keep nn.Conv1d's layout: weight (C, 1, k), bias (C,), so the same module
    serves GAM's local path and Mamba's `conv1d` (whose reference checkpoints use it).
    """

    def __init__(self, channels: int, kernel_size: int, bias: bool = True):
        super().__init__(channels, channels, kernel_size, groups=channels, padding=0, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C); output t depends on x[:, t-k+1 : t+1] only."""
        k = self.kernel_size[0]
        x = x.transpose(1, 2)  # (B, C, T): conv1d wants channels first
        x = F.pad(x, (k - 1, 0))  # (B, C, T + k - 1): zeros before the first token
        return super().forward(x).transpose(1, 2)  # (B, T, C)


def receptive_field(n_layer: int, kernel_size: int) -> int:
    """How many tokens back (itself included) a stack of causal convolutions can see.

    Each layer adds k - 1 tokens of reach: L * (k - 1) + 1 (13 for the paper's 6 layers, k=3).
    """
    return n_layer * (kernel_size - 1) + 1
