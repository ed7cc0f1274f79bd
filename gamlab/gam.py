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

Taught in notebooks/04_gam_block.ipynb (its parts in 01, 02 and 03).
"""

from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig
from .conv import CausalConv1d
from .ffn import feed_forward
from .gating import fuse, make_gate
from .memory import AssociativeMemory


class GAMBlock(nn.Module):
    """One GAM block. `config.fusion` picks the paper's gated fusion or an ablation.

    Retrieval runs through the fused attention kernel (AssociativeMemory.read), which keeps
    no (B, T, S) weights for the backward pass; when `capture` is set (gamlab.probes) it
    computes w explicitly instead, to record it. GAMBlockReference is the plain version;
    tests/test_perf_equivalence.py holds the two equal.
    """

    fused_retrieval = True  # GAMBlockReference turns it off
    weights_name = "weights"  # the capture key of what retrieve() returns beside the global path

    def __init__(self, config: ModelConfig):
        super().__init__()
        C, fusion = config.d_model, config.fusion
        self.fusion = fusion
        self.norm1 = nn.LayerNorm(C)
        # Ablations build only the parts they use, so every parameter gets a gradient.
        only = fusion.removesuffix("-nogate")  # "local" / "global": the one path an ablation keeps
        self.conv = CausalConv1d(C, config.conv_kernel) if only != "global" else None
        self.memory = self.global_path(config) if only != "local" else None
        self.gate = make_gate(C, fusion)
        self.norm2 = nn.LayerNorm(C)
        self.ffn = feed_forward(C, config.dropout)
        # Set to a dict by gamlab.probes to record this block's internals on the next forward.
        self.capture: dict[str, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        h = self.norm1(x)
        local = self.conv(h) if self.conv is not None else None  # (B, T, C)
        global_, w = self.retrieve(h)  # (B, T, C), (B, T, S) or None
        gate_logits = self.gate(h) if self.gate is not None else None  # (B, T, 2C) or (B, T, C)
        update, gates = fuse(self.fusion, gate_logits, local, global_)
        if self.capture is not None:
            self.capture.update(gates, local=local, global_=global_, update=update, **{self.weights_name: w})
        x = x + update
        return x + self.ffn(self.norm2(x))

    def global_path(self, config: ModelConfig) -> nn.Module:
        """The global path's module: the slot memory here (gamlab.fastweight swaps in its own)."""
        return AssociativeMemory(config.d_model, config.n_slots, config.scale_scores)

    def retrieve(self, h: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """h: (B, T, C) -> (global (B, T, C), w (B, T, S) when it was computed, else None)."""
        if self.memory is None:
            return None, None
        if self.fused_retrieval and self.capture is None:
            return self.memory.read(h), None  # fused kernel: w is never stored
        return self.memory(h)  # explicit w: the lessons and the probes want it


class GAMBlockReference(GAMBlock):
    """The same block (same parameters, same numbers) computed the plain way, for lessons and
    as the reference the fast `GAMBlock` is tested against: explicit weights w = softmax(h M^T),
    kept for the backward pass, then w @ M.
    """

    fused_retrieval = False
