"""Gated fusion of the local and global paths, and the paper's ablation variants.

gated  : sigmoid(g_l) * local + sigmoid(g_g) * global   (the paper's GAM; g_l, g_g from Linear(C, 2C))
sum    : local + global                                   (no gates)
local  : sigmoid(g_l) * local                             (no memory)
global : sigmoid(g_g) * global                            (no convolution)
local-nogate  : local                                     (no memory, no gate: the paper's "local only")
global-nogate : global                                    (no convolution, no gate: the paper's "global only")

The paper's own ablations (the author's README) have no gates: "sum", "local-nogate" and
"global-nogate". "local" and "global" keep a one-path sigmoid gate, a variant beyond the paper.

Gates are per token and per channel: each of the C features of each token decides how
much of each path to let through.

GAMBlock.forward (gamlab/blocks/gam.py) writes the paper's gated form out; `fuse` is the same
computation for every variant, the one lessons and GAMBlock's ablations call.

Taught in notebooks/03_gating.ipynb.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import FUSIONS


def make_gate(d_model: int, fusion: str) -> nn.Linear | None:
    """The gate projection a fusion mode needs: C -> 2C (gated), C -> C (one gated path), none (no gate)."""
    if fusion == "gated":
        return nn.Linear(d_model, 2 * d_model)
    if fusion in ("local", "global"):
        return nn.Linear(d_model, d_model)
    return None  # sum, local-nogate, global-nogate


def fuse(fusion: str, gate_logits: torch.Tensor | None, local: torch.Tensor | None,
         global_: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Combine the two paths. All tensors (B, T, C); gate_logits (B, T, 2C) when gated.

    Returns (update to add to the residual stream, {"gate_local": .., "gate_global": ..}
    with the sigmoid gate values that were used). Raises ValueError for an unknown fusion.
    """
    if fusion == "gated":
        g_l, g_g = gate_logits.sigmoid().chunk(2, dim=-1)  # first half gates local, second global
        return g_l * local + g_g * global_, {"gate_local": g_l, "gate_global": g_g}
    if fusion == "sum":
        return local + global_, {}
    if fusion == "local":
        g_l = gate_logits.sigmoid()
        return g_l * local, {"gate_local": g_l}
    if fusion == "global":
        g_g = gate_logits.sigmoid()
        return g_g * global_, {"gate_global": g_g}
    if fusion == "local-nogate":
        return local, {}
    if fusion == "global-nogate":
        return global_, {}
    raise ValueError(f"unknown fusion {fusion!r}; expected one of {FUSIONS}")
