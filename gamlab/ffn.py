"""The position-wise feed-forward network shared by every block: C -> 4C -> C."""

from __future__ import annotations

from torch import nn

from .dropout import Dropout


def feed_forward(d_model: int, dropout: float) -> nn.Sequential:
    """Linear(C, 4C), GELU, Linear(4C, C), Dropout (gamlab.dropout): indices 0 and 2 are the Linears."""
    return nn.Sequential(
        nn.Linear(d_model, 4 * d_model),
        nn.GELU(),
        nn.Linear(4 * d_model, d_model),
        Dropout(dropout),
    )
