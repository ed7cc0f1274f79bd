"""Faster forms of gamlab's layers, and the one policy that applies them to every model.

Every block file (gam.py, transformer.py, mamba.py, fastweight.py) is written the reference
way: torch's nn.Linear and nn.Dropout, conv1d for the causal convolution, explicit softmax
weights for the slot memory. This module holds the faster forms of those layers, each a
subclass of its reference with the same parameters and the same function:

    linear     nn.Linear          -> Linear                    bias added after the product on CPU
    conv       CausalConv1d       -> ShiftAddCausalConv1d      shift and add in (B, T, C) on CPU
    retrieval  AssociativeMemory  -> FusedAssociativeMemory    fused SDPA kernel, no (B, T, S) kept
    dropout    nn.Dropout         -> gamlab.blocks.dropout.Dropout    a quarter of the random draws on CPU

`use_fast_forms(model, forms)` swaps, in place, every module whose class is a form's reference
for its fast class (and a fast class whose form is not chosen back to its reference), so one
call treats the Transformer, Mamba, gam-fw and GAM alike. It changes a module's class only:
parameters, buffers, state dict and checkpoints stay as they are. `build_model` applies
DEFAULT, the forms measured to pay off (docs/benchmark.md, `python benchmarks/targets.py`);
`build_model(..., fast=False)` keeps the reference forms. tests/blocks/test_perf_equivalence.py holds
every model's two forms equal (outputs and gradients, float64) and each form equal to its
reference.

Used in notebooks/01_local_path.ipynb (it times ShiftAddCausalConv1d against conv1d).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from ..errors import GamlabError
from .conv import CausalConv1d
from .dropout import Dropout
from .memory import AssociativeMemory


class Linear(nn.Linear):
    """nn.Linear (same parameters, same function); on CPU the bias is added after the product.

    torch's CPU addmm first copies the bias, broadcast, into every row of the output and then
    accumulates the product onto it; the copy costs more than an add over the same output
    (at (8192, 128) @ (128, 512), the FFN's widest: addmm 4.5 ms, product then add 4.0 ms,
    forward only). The gradients are the same: the add passes its gradient through, and the
    bias gradient is its sum over rows, as in addmm's backward. In float32 the output equals
    nn.Linear's to rounding. Under CPU fp16 or bf16 autocast (an explicit --precision; the policy
    keeps a CPU in fp32) the product comes in the autocast dtype and the float32 bias is added into
    it in place, so the output keeps that dtype and equals nn.Linear's to its rounding.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None or x.device.type != "cpu":
            return super().forward(x)
        return torch.matmul(x, self.weight.t()).add_(self.bias)


class ShiftAddConv(torch.autograd.Function):
    """y[:, t] = bias + sum_j weight[:, 0, j] * x[:, t - (k-1-j)]; x: (B, T, C), weight (C, 1, k), bias (C,) or None.

    Lesson 1's shift and add, with a hand-written backward: autograd's would keep a padded
    copy per tap and sum every gradient through fresh zero tensors.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        k, T = weight.size(-1), x.size(1)
        # taps[j] = weight[:, 0, j] as a contiguous (C,) row: a strided (C,) view of the weight
        # makes every broadcast product below about 3x slower on CPU
        taps = weight[:, 0].t().contiguous()  # (k, C)
        y = x * taps[k - 1] if bias is None else torch.addcmul(bias, x, taps[k - 1])  # tap k-1: now
        for back in range(1, min(k, T)):  # tap k-1-back: `back` steps ago (zeros before the start)
            y[:, back:].addcmul_(x[:, :T - back], taps[k - 1 - back])
        ctx.save_for_backward(x, taps)
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, dy: torch.Tensor):
        x, taps = ctx.saved_tensors
        k, T = taps.size(0), x.size(1)
        dx = dy * taps[k - 1]
        dtaps = torch.zeros_like(taps)  # (k, C)
        dtaps[k - 1] = (dy * x).sum((0, 1))
        for back in range(1, min(k, T)):
            dx[:, :T - back].addcmul_(dy[:, back:], taps[k - 1 - back])
            dtaps[k - 1 - back] = (dy[:, back:] * x[:, :T - back]).sum((0, 1))
        dbias = dy.sum((0, 1)) if ctx.has_bias else None
        return dx, dtaps.t().unsqueeze(1), dbias  # dweight in the weight's (C, 1, k) layout


class ShiftAddCausalConv1d(CausalConv1d):
    """CausalConv1d computed by ShiftAddConv on CPU, in the (B, T, C) layout the blocks already
    have: conv1d wants (B, C, T), and the transposes, the padded copy and oneDNN's depthwise
    backward cost more (benchmarks/parts.py). On other devices it is CausalConv1d."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        if x.device.type != "cpu":
            return super().forward(x)
        return ShiftAddConv.apply(x, self.weight, self.bias)


class FusedAssociativeMemory(AssociativeMemory):
    """The slot memory read through torch's fused `scaled_dot_product_attention` (query h, keys =
    values = the slots M, scale as in the reference): the (B, T, S) weights are never stored,
    so training keeps less memory. forward returns (retrieved, None); `with_weights` still
    computes w explicitly, for the probes.

    Under fp16/bf16 autocast the call takes h and M in the autocast dtype and hands back that
    dtype; the fused kernels (CPU's and CUDA's) keep the scores, the softmax over slots and the
    weighted sum in float32 inside, so nothing here needs widening (a test holds it to float32).
    """

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, None]:
        """h: (B, T, C) -> (retrieved (B, T, C), None)."""
        q = h.unsqueeze(1)  # (B, 1, T, C): one "head"
        # the bank expanded to the batch as a view (no copy): a bank of batch 1 broadcast inside
        # the call makes torch pick a slower kernel
        kv = self.slots.expand(h.size(0), 1, *self.slots.shape).to(q.dtype)  # (B, 1, S, C)
        return F.scaled_dot_product_attention(q, kv, kv, scale=self.scale).squeeze(1), None


@dataclass(frozen=True)
class Form:
    """One faster form: the reference class it replaces, and whether DEFAULT applies it."""

    reference: type[nn.Module]
    fast: type[nn.Module]
    default: bool
    measured: str  # why it is (not) on by default, in one line; numbers in docs/benchmark.md


FORMS: dict[str, Form] = {
    "linear": Form(nn.Linear, Linear, False, "alone 0.97-1.01x Intel, 0.97x AMD; blocks within noise: opt-in"),
    "conv": Form(CausalConv1d, ShiftAddCausalConv1d, True, "alone 1.3-2.3x at GAM's size, 2.3-2.7x at Mamba's, Intel and AMD"),
    "retrieval": Form(AssociativeMemory, FusedAssociativeMemory, True,
                      "alone 1.05-1.17x Intel, 0.96x AMD; 16-20% less peak memory on both"),
    "dropout": Form(nn.Dropout, Dropout, True, "alone 2.1-2.5x Intel, 3.3x AMD: torch's CPU mask is single-threaded"),
}
DEFAULT: tuple[str, ...] = tuple(name for name, form in FORMS.items() if form.default)


def use_fast_forms(model: nn.Module, forms: Iterable[str] | bool = True) -> nn.Module:
    """Put `model`'s modules in the chosen fast forms, in place; returns the model.

    forms: True (DEFAULT), False (none: every module in its reference form), or names from
    FORMS. A module whose class is exactly a chosen form's reference becomes its fast class;
    one in the fast class of a form not chosen goes back to the reference. Only classes
    change, never parameters. Raises GamlabError for an unknown form name.
    """
    chosen = set(DEFAULT if forms is True else () if forms is False else forms)
    unknown = chosen - set(FORMS)
    if unknown:
        raise GamlabError(f"unknown fast form {', '.join(sorted(unknown))}; choose from {', '.join(FORMS)}.")
    swap = {}
    for name, form in FORMS.items():
        old, new = (form.reference, form.fast) if name in chosen else (form.fast, form.reference)
        swap[old] = new
    for module in model.modules():
        if type(module) in swap:
            module.__class__ = swap[type(module)]
    return model


def fast_forms(model: nn.Module) -> tuple[str, ...]:
    """The FORMS names `model` has at least one module in (e.g. DEFAULT after build_model)."""
    classes = {type(m) for m in model.modules()}
    return tuple(name for name, form in FORMS.items() if form.fast in classes)
