"""The optimized forms of gamlab's layers, and the one policy that applies them to every model.

Every block file (gam.py, transformer.py, mamba.py, fastweight.py) is written the reference
way: torch's nn.Dropout, conv1d for the causal convolution, explicit softmax weights for the
slot memory, Mamba's scan one step at a time. This package holds the optimized forms of those
layers, one module each, each a subclass of its reference with the same parameters and the
same function:

    conv       CausalConv1d       -> conv.ShiftAddCausalConv1d      shift and add in (B, T, C) on CPU
    retrieval  AssociativeMemory  -> memory.FusedAssociativeMemory  fused SDPA kernel, no (B, T, S) kept
    dropout    nn.Dropout         -> dropout.Dropout                a quarter of the random draws on CPU
    scan       MambaMixer         -> mamba.ChunkedMambaMixer        the scan chunk by chunk, hand-written backward

`use_optimized_forms(model, forms)` swaps, in place, every module whose class is a form's
reference for its optimized class (and an optimized class whose form is not chosen back to its
reference), so one call treats the Transformer, Mamba, gam-fw and GAM alike. It changes a
module's class only: parameters, buffers, state dict and checkpoints stay as they are.
`build_model` applies DEFAULT, the forms measured to pay off (docs/benchmark.md,
`python benchmarks/targets.py`); `build_model(..., optimized=False)` keeps the reference forms.
tests/blocks/test_optimized.py holds every model's two forms equal (outputs and gradients,
float64) and each form equal to its reference. A form that measures no gain is removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from torch import nn

from ...errors import GamlabError
from ..conv import CausalConv1d
from ..mamba import MambaMixer
from ..memory import AssociativeMemory
from .conv import ShiftAddCausalConv1d
from .dropout import Dropout
from .mamba import ChunkedMambaMixer
from .memory import FusedAssociativeMemory


@dataclass(frozen=True)
class Form:
    """One optimized form: the reference class it replaces, and whether DEFAULT applies it."""

    reference: type[nn.Module]
    optimized: type[nn.Module]
    default: bool
    measured: str  # why it is (not) on by default, in one line; numbers in docs/benchmark.md


FORMS: dict[str, Form] = {
    "conv": Form(CausalConv1d, ShiftAddCausalConv1d, True, "alone 1.3-2.3x at GAM's size, 2.3-2.7x at Mamba's, Intel and AMD"),
    "retrieval": Form(AssociativeMemory, FusedAssociativeMemory, True,
                      "alone 1.05-1.17x Intel, 0.96x AMD; 16-20% less peak memory on both"),
    "dropout": Form(nn.Dropout, Dropout, True, "alone 2.1-2.5x Intel, 3.3x AMD: torch's CPU mask is single-threaded"),
    "scan": Form(MambaMixer, ChunkedMambaMixer, True,
                 "alone 20-26x at B=2, T=256 (Intel, 1 thread); one chunk's (b, t, d, n) tensors kept, not all"),
}
DEFAULT: tuple[str, ...] = tuple(name for name, form in FORMS.items() if form.default)


def use_optimized_forms(model: nn.Module, forms: Iterable[str] | bool = True) -> nn.Module:
    """Put `model`'s modules in the chosen optimized forms, in place; returns the model.

    forms: True (DEFAULT), False (none: every module in its reference form), or names from
    FORMS. A module whose class is exactly a chosen form's reference becomes its optimized
    class; one in the optimized class of a form not chosen goes back to the reference. Only
    classes change, never parameters. Raises GamlabError for an unknown form name.
    """
    chosen = set(DEFAULT if forms is True else () if forms is False else forms)
    unknown = chosen - set(FORMS)
    if unknown:
        raise GamlabError(f"unknown optimized form {', '.join(sorted(unknown))}; choose from {', '.join(FORMS)}.")
    swap = {}
    for name, form in FORMS.items():
        old, new = (form.reference, form.optimized) if name in chosen else (form.optimized, form.reference)
        swap[old] = new
    for module in model.modules():
        if type(module) in swap:
            module.__class__ = swap[type(module)]
    return model


def optimized_forms(model: nn.Module) -> tuple[str, ...]:
    """The FORMS names `model` has at least one module in (e.g. DEFAULT after build_model)."""
    classes = {type(m) for m in model.modules()}
    return tuple(name for name, form in FORMS.items() if form.optimized in classes)


__all__ = ["DEFAULT", "FORMS", "ChunkedMambaMixer", "Dropout", "Form", "FusedAssociativeMemory", "ShiftAddCausalConv1d",
           "optimized_forms", "use_optimized_forms"]
