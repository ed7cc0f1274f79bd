"""The global path: retrieval from a learnable memory bank.

The bank M holds S slots of width C. Each token's normalised state h scores every slot
(h @ M^T), a softmax over slots turns scores into weights w, and the token reads back the
weighted average of slots, w @ M. M is a parameter: the same for every sequence, so this
path mixes no information between tokens (the convolution is GAM's only token mixer).

Taught in notebooks/02_global_path.ipynb.
"""

from __future__ import annotations

import math

import torch
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
