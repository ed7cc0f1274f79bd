"""The position-wise feed-forward network shared by every block: C -> 4C -> C.

Used in notebooks/04_gam_block.ipynb (the hand-built block takes it as it is); no lesson builds it.
"""

from __future__ import annotations

from torch import nn


def feed_forward(d_model: int, dropout: float) -> nn.Sequential:
    """Linear(C, 4C), GELU, Linear(4C, C), Dropout: indices 0 and 2 are the Linears.

    torch's own layers; gamlab.blocks.optimized swaps in its Dropout (same function).
    """
    return nn.Sequential(
        nn.Linear(d_model, 4 * d_model),
        nn.GELU(),
        nn.Linear(4 * d_model, d_model),
        nn.Dropout(dropout),
    )
