"""What every mixer block says about itself.

A block (GAM, Transformer, Mamba-style, fast-weight GAM) answers these questions, so that the
registry, the benchmark, training's memory check and compare's parameter matching ask the
block instead of matching model names:

    flops(seq_len, batch)            floating-point operations of one forward+backward (bench)
    memory_estimate(batch, seq_len)  bytes of activations training keeps for the backward pass
                                     (train.estimate_train_memory)
    budget_knob                      the ModelConfig field that sets its parameter count when it
                                     is matched to another model's (runs.matched_config), or None
    forward_with_internals(x)        (y, a typed record of what it computed, or None) (probes)

A new mixer subclasses Block in its own file and adds one line to gamlab.model.MODELS.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig


class Block(nn.Module):
    """Base of gamlab's blocks: (B, T, C) -> (B, T, C), built from a ModelConfig it keeps."""

    budget_knob: str | None = None  # None: the block keeps the preset's sizes when matched

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config

    def flops_per_token(self, seq_len: int) -> float:
        """Forward FLOPs per token at sequence length seq_len (a matmul (m, k) @ (k, n) costs 2mkn)."""
        raise NotImplementedError(f"{type(self).__name__} does not count its FLOPs")

    def flops(self, seq_len: int, batch: int = 1) -> float:
        """Floating-point operations of one forward+backward over (batch, seq_len) tokens,
        counted analytically: the backward of a matmul costs twice its forward, so 3 x forward.
        Norms, activations and dropout are left out (a few operations per element)."""
        return 3.0 * batch * seq_len * self.flops_per_token(seq_len)

    def memory_estimate(self, batch: int, seq_len: int) -> int:
        """Bytes (float32) of the activations training keeps for the backward pass: about 34
        floats per (token, channel) for a block; blocks with larger tensors add theirs."""
        return 4 * 34 * batch * seq_len * self.config.d_model

    def forward_with_internals(self, x: torch.Tensor) -> tuple[torch.Tensor, object | None]:
        """x: (B, T, C) -> (the forward's output, a record of the block's internals or None)."""
        return self(x), None
