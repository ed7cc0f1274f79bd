"""The Gated Associative Memory (GAM) block, as in arXiv 2509.00605.

Glossary (paper -> code):
    x      (B, T, C)  the residual stream entering the block
    h      (B, T, C)  LayerNorm1(x), what both paths read
    local  (B, T, C)  causal depthwise convolution of h (kernel k)       -> self.conv
    M      (S, C)     the memory bank, S learnable slots                 -> self.memory.slots
    w      (B, T, S)  softmax(h @ M^T) over slots: retrieval weights
    global (B, T, C)  w @ M                                              -> self.memory
    g_l, g_g (B,T,C)  the two halves of Linear(C -> 2C)(h)               -> self.gate

    x = x + sigmoid(g_l) * local + sigmoid(g_g) * global
    x = x + FFN(LayerNorm2(x))

GAMBlock.forward is these lines. Optimized forms of its layers (fused retrieval, shift-add
convolution, ...) are applied by gamlab.blocks.optimized to every model alike; the block stays this code.

Taught in notebooks/04_gam_block.ipynb (its parts in 01, 02 and 03).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import ModelConfig
from .block import Block
from .conv import CausalConv1d
from .ffn import feed_forward
from .gating import fuse, make_gate
from .memory import AssociativeMemory


@dataclass
class GAMBlockInternals:
    """What one GAM block computed on one forward: (B, T, C) each unless said, None for a path
    (or gate) the block does not have (an ablation)."""

    local: torch.Tensor | None  # conv(h)
    global_: torch.Tensor | None  # the global path's output
    update: torch.Tensor  # what the mixer adds to x: sigmoid(g_l) * local + sigmoid(g_g) * global
    weights: torch.Tensor | None  # the global path's read weights: over slots (B, T, S), or over
    #                               earlier tokens (B, nh, T, T) for gam-fw; see `reads`
    reads: str | None  # "slots", "tokens" (what `weights` range over) or None: no global path
    gate_local: torch.Tensor | None = None  # sigmoid(g_l)
    gate_global: torch.Tensor | None = None  # sigmoid(g_g)


class GAMBlock(Block):
    """One GAM block. `config.fusion` picks the paper's gated fusion or an ablation (gamlab/blocks/gating.py).

    Ablations build only the parts they use, so every parameter gets a gradient.
    """

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        C, fusion = config.d_model, config.fusion
        self.fusion = fusion
        only = fusion.removesuffix("-nogate")  # "local" / "global": the one path an ablation keeps
        self.norm1 = nn.LayerNorm(C)
        self.conv = CausalConv1d(C, config.conv_kernel) if only != "global" else None
        self.memory = self.global_path(config) if only != "local" else None
        self.gate = make_gate(C, fusion)  # Linear(C, 2C) when gated
        self.norm2 = nn.LayerNorm(C)
        self.ffn = feed_forward(C, config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        h = self.norm1(x)
        local = self.conv(h) if self.conv is not None else None  # (B, T, C), causal
        global_ = self.memory(h)[0] if self.memory is not None else None  # (B, T, C): softmax(h M^T) M
        if self.fusion == "gated":  # the paper's block
            g_l, g_g = self.gate(h).chunk(2, dim=-1)  # (B, T, C) each
            x = x + torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_
        else:  # an ablation: one path, or no gates
            x = x + fuse(self.fusion, self.gate(h) if self.gate is not None else None, local, global_)[0]
        return x + self.ffn(self.norm2(x))

    def forward_with_internals(self, x: torch.Tensor) -> tuple[torch.Tensor, GAMBlockInternals]:
        """x: (B, T, C) -> (forward's output, GAMBlockInternals), to float rounding the same output:
        the read weights are computed explicitly, whatever form the memory takes (gamlab.blocks.optimized)."""
        h = self.norm1(x)
        local = self.conv(h) if self.conv is not None else None
        global_, w = self.memory.with_weights(h) if self.memory is not None else (None, None)
        update, gates = fuse(self.fusion, self.gate(h) if self.gate is not None else None, local, global_)
        x = x + update
        reads = self.memory.reads if self.memory is not None else None
        return x + self.ffn(self.norm2(x)), GAMBlockInternals(local, global_, update, w, reads, **gates)

    def global_path(self, config: ModelConfig) -> nn.Module:
        """The global path's module: the slot memory here (gamlab.blocks.fastweight swaps in its own).
        It maps h (B, T, C) to (global (B, T, C), weights or None); `with_weights` always gives the weights."""
        return AssociativeMemory(config.d_model, config.n_slots, config.scale_scores)

    def flops_per_token(self, seq_len: int) -> float:
        """gate 2*C*2C (gated) + FFN 2*2*C*4C + the global path's (slots: 2*S*C scores + 2*S*C
        read-out) + conv 2*k*C."""
        C = self.config.d_model
        gate = 2 * C * self.gate.out_features if self.gate is not None else 0
        memory = self.memory.flops_per_token(seq_len) if self.memory is not None else 0
        conv = 2 * self.config.conv_kernel * C if self.conv is not None else 0
        return gate + 16 * C * C + memory + conv
