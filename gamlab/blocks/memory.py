"""The global path: retrieval from a learnable memory bank.

The bank M holds S slots of width C. Each token's normalised state h scores every slot
(h @ M^T), a softmax over slots turns scores into weights w, and the token reads back the
weighted average of slots, w @ M. M is a parameter: the same for every sequence, so this
path mixes no information between tokens (the convolution is GAM's only token mixer).

The retrieval is attention with one fixed set of keys and values, the slots: gamlab.blocks.optimized's
FusedAssociativeMemory runs it through torch's fused `scaled_dot_product_attention`, which
never stores the (B, T, S) weights; this module computes them explicitly, as the paper writes
it and as the lessons and the probes need them. Both give the same numbers.

Glossary (paper -> code, shape; docs/naming.md):
    M        slots    (S, C)     the memory bank, a parameter
    h        h        (B, T, C)  LayerNorm1 of the residual stream x: the query
    h M^T    scores   (B, T, S)  one score per slot
    w        w        (B, T, S)  softmax over the S slots: the retrieval weights
    global   global_  (B, T, C)  w @ M (`global` is a Python keyword)

Taught in notebooks/02_global_path.ipynb.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class AssociativeMemory(nn.Module):
    """softmax(h M^T) M over S learnable slots. `slots` is M, shape (S, C)."""

    reads = "slots"  # what its read weights range over (gamlab.blocks.gam.GAMBlockInternals)

    def __init__(self, d_model: int, n_slots: int, scale_scores: bool = False):
        super().__init__()
        self.slots = nn.Parameter(torch.empty(n_slots, d_model))  # M: (S, C)
        nn.init.xavier_uniform_(self.slots)  # the paper's initialisation
        # The paper uses raw dot products; 1/sqrt(C) (as in attention) is an option.
        self.scale = 1.0 / math.sqrt(d_model) if scale_scores else 1.0

    def weights(self, h: torch.Tensor) -> torch.Tensor:
        """h: (B, T, C) -> retrieval weights w: (B, T, S), each row sums to 1."""
        return self.with_weights(h)[1]

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """h: (B, T, C) -> (retrieved (B, T, C), weights (B, T, S)): global = softmax(h M^T) M."""
        scores = (h @ self.slots.T) * self.scale  # (B, T, S): h M^T, one score per slot
        w = scores.softmax(dim=-1)  # (B, T, S): softmax over the S slots
        return w @ self.slots, w  # (B, T, C): the weighted average of slots

    def with_weights(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """forward's (retrieved, w) computed explicitly, whichever form forward takes (gamlab.blocks.optimized)."""
        return AssociativeMemory.forward(self, h)

    def flops_per_token(self, seq_len: int) -> float:
        """Forward FLOPs per token: scores 2*S*C, read-out 2*S*C (gamlab.blocks.block.Block)."""
        return 4 * self.slots.numel()
