"""The position-wise feed-forward network shared by every block: C -> 4C -> C.

Used in notebooks/04_gam_block.ipynb (the hand-built block takes it as it is); no lesson builds it.
"""

from __future__ import annotations

from torch import nn

from .dropout import Dropout
from .linear import Linear


def feed_forward(d_model: int, dropout: float) -> nn.Sequential:
    """Linear(C, 4C), GELU, Linear(4C, C), Dropout: indices 0 and 2 are the Linears.

    Linear and Dropout are gamlab's (gamlab.linear, gamlab.dropout): nn.Linear and nn.Dropout
    with cheaper CPU paths that compute the same function.
    """
    return nn.Sequential(
        Linear(d_model, 4 * d_model),
        nn.GELU(),
        Linear(4 * d_model, d_model),
        Dropout(dropout),
    )
