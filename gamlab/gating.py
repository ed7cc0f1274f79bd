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

The gated form runs as one autograd Function (GatedSum) with a hand-written backward: the
same numbers as the four-line autograd version in `fuse`'s docstring, in about half the time
(fewer passes over (B, T, C) tensors, no concatenation of the two gate gradients).

Taught in notebooks/03_gating.ipynb.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import FUSIONS
from .linear import Linear


class GatedSum(torch.autograd.Function):
    """(logits (B, T, 2C), local, global_ (B, T, C)) -> (update (B, T, C), gates (B, T, 2C)).

    gates = sigmoid(logits) = [g_l | g_g]; update = g_l * local + g_g * global_. Both outputs
    are differentiable, so a loss on the gate values themselves trains them too.
    """

    @staticmethod
    def forward(ctx, logits, local, global_):
        gates = logits.sigmoid()
        g_l, g_g = gates.chunk(2, dim=-1)
        update = torch.addcmul(g_l * local, g_g, global_)
        ctx.save_for_backward(gates, local, global_)
        ctx.set_materialize_grads(False)  # a None gradient for an unused output stays None
        return update, gates

    @staticmethod
    def backward(ctx, d_update, d_gates):
        gates, local, global_ = ctx.saved_tensors
        if d_update is None:
            d_logits = None if d_gates is None else torch.ops.aten.sigmoid_backward(d_gates, gates)
            return d_logits, None, None
        C = local.size(-1)
        g_l, g_g = gates.chunk(2, dim=-1)
        d_sig = torch.empty_like(gates)  # d loss / d gates, both halves written in place
        torch.mul(d_update, local, out=d_sig[..., :C])
        torch.mul(d_update, global_, out=d_sig[..., C:])
        if d_gates is not None:
            d_sig += d_gates
        return torch.ops.aten.sigmoid_backward(d_sig, gates), d_update * g_l, d_update * g_g


def make_gate(d_model: int, fusion: str) -> nn.Linear | None:
    """The gate projection a fusion mode needs: C -> 2C (gated), C -> C (one gated path), none (no gate)."""
    if fusion == "gated":
        return Linear(d_model, 2 * d_model)
    if fusion in ("local", "global"):
        return Linear(d_model, d_model)
    return None  # sum, local-nogate, global-nogate


def fuse(fusion: str, gate_logits: torch.Tensor | None, local: torch.Tensor | None,
         global_: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Combine the two paths. All tensors (B, T, C); gate_logits (B, T, 2C) when gated.

    Returns (update to add to the residual stream, {"gate_local": .., "gate_global": ..}
    with the sigmoid gate values that were used). The gated form computes, through GatedSum:

        g_l, g_g = gate_logits.sigmoid().chunk(2, dim=-1)  # first half gates local, second global
        update = g_l * local + g_g * global_
    """
    if fusion == "gated":
        update, gates = GatedSum.apply(gate_logits, local, global_)
        g_l, g_g = gates.chunk(2, dim=-1)
        return update, {"gate_local": g_l, "gate_global": g_g}
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
