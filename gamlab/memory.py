"""The global path: retrieval from a learnable memory bank.

The bank M holds S slots of width C. Each token's normalised state h scores every slot
(h @ M^T), a softmax over slots turns scores into weights w, and the token reads back the
weighted average of slots, w @ M. M is a parameter: the same for every sequence, so this
path mixes no information between tokens (the convolution is GAM's only token mixer).

The retrieval is attention with one fixed set of keys and values, the slots: `read` runs it
through torch's fused `scaled_dot_product_attention` (query h, keys = values = M, scale 1.0 as
in the paper), which never stores the (B, T, S) weights; `forward` computes them explicitly,
as the lessons and the probes need them. Both give the same numbers.

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
import torch.nn.functional as F
from torch import nn


class AssociativeMemory(nn.Module):
    """softmax(h M^T) M over S learnable slots. `slots` is M, shape (S, C)."""

    def __init__(self, d_model: int, n_slots: int, scale_scores: bool = False):
        super().__init__()
        self.slots = nn.Parameter(torch.empty(n_slots, d_model))  # M: (S, C)
        nn.init.xavier_uniform_(self.slots)  # the paper's initialisation
        # The paper uses raw dot products; 1/sqrt(C) (as in attention) is an option.
        self.scale = 1.0 / math.sqrt(d_model) if scale_scores else 1.0

    def weights(self, h: torch.Tensor) -> torch.Tensor:
        """h: (B, T, C) -> retrieval weights w: (B, T, S), each row sums to 1."""
        scores = (h @ self.slots.T) * self.scale  # (B, T, S)
        return scores.softmax(dim=-1)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """h: (B, T, C) -> (retrieved (B, T, C), weights (B, T, S))."""
        w = self.weights(h)
        return w @ self.slots, w  # (B, T, C), (B, T, S)

    def read(self, h: torch.Tensor) -> torch.Tensor:
        """h: (B, T, C) -> retrieved (B, T, C), the same as forward's, without keeping w.

        The bank is expanded to the batch size as a view (no copy): a bank of batch 1
        broadcast inside the call makes torch pick a slower kernel.
        """
        q = h.unsqueeze(1)  # (B, 1, T, C): one "head"
        kv = self.slots.expand(h.size(0), 1, *self.slots.shape)  # (B, 1, S, C), a view
        return F.scaled_dot_product_attention(q, kv.to(q.dtype), kv.to(q.dtype), scale=self.scale).squeeze(1)
