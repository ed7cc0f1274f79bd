"""The benchmark's blocks and the step it measures: one block forward+backward on random input.

Blocks (all with the paper's dropout 0.1, in training mode, as in a training step), each in
the optimized forms build_model gives every model (gamlab.blocks.optimized.DEFAULT) unless said:
    gam                the library's GAMBlock (fused retrieval: no B x T x S kept)
    gam-reference      the same block in its reference forms, as gam.py writes it: the speed baseline
    transformer        pre-norm Transformer block, fused SDPA kernel, no attention dropout
    transformer-naive  the paper's baseline: full T x T score matrix, attention dropout 0.1
    mamba              Mamba-style block (norm + mixer + residual), chunked scan (the `scan` form)
Any other registry name (gamlab.model.MODELS, e.g. gam-fw) can be built and timed too.
gamlab.experiments.bench times them, gamlab.experiments.peak_memory measures their memory.
"""

from __future__ import annotations

import torch
from torch import nn

from ..blocks.optimized import use_optimized_forms
from ..config import ModelConfig
from ..errors import GamlabError
from ..model import MODELS
from ..runtime import autocast
from .timing import is_oom  # noqa: F401  (re-exported: peak_memory and bench catch with it)

# name -> (registry model whose block it is, config fields that make the variant, optimized forms)
BLOCKS: dict[str, tuple[str, dict, bool]] = {
    "gam": ("gam", {}, True),
    "gam-reference": ("gam", {}, False),
    "transformer": ("transformer", {"attn_dropout": 0.0}, True),
    "transformer-naive": ("transformer-naive", {}, True),  # attention dropout = dropout, 0.1
    "mamba": ("mamba", {}, True),
}


def entry(name: str) -> tuple[str, dict, bool]:
    """BLOCKS' entry for a name, or a registry model's plain entry; GamlabError for an unknown name."""
    if name in BLOCKS:
        return BLOCKS[name]
    if name in MODELS:
        return name, {}, True
    raise GamlabError(f"Unknown benchmark block {name!r}; choose from {', '.join(BLOCKS)} (or a model name).")


def block_config(name: str, d_model: int = 128, n_slots: int = 512) -> ModelConfig:
    """The config a benchmark block is built from: paper settings at width C = d_model."""
    model, changes, _ = entry(name)
    n_head = 8 if d_model % 8 == 0 else 1
    config = ModelConfig(d_model=d_model, n_slots=n_slots, n_head=n_head, dropout=0.1)
    return config.replace(**{**MODELS[model].changes(config), **changes})


def build_block(name: str, d_model: int = 128, n_slots: int = 512,
                optimized: bool | tuple[str, ...] | None = None) -> nn.Module:
    """One benchmark block in training mode (dropout on, as in a training step).

    optimized: the forms to use (gamlab.blocks.optimized.use_optimized_forms); None: the entry's (BLOCKS)."""
    model, _, default = entry(name)
    block = MODELS[model].block(block_config(name, d_model, n_slots))
    return use_optimized_forms(block, default if optimized is None else optimized).train()


def train_step(block: nn.Module, x: torch.Tensor, dy: torch.Tensor, device: torch.device) -> None:
    """One forward+backward; parameter gradients are dropped first, as zero_grad does."""
    for p in block.parameters():
        p.grad = None
    x.grad = None
    with autocast(device):
        y = block(x)
    y.backward(dy)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_inputs(batch, seq_len, d_model, device):
    """The benchmark's input x (B, T, C) and the gradient dy arriving from above, seeded."""
    torch.manual_seed(0)
    x = torch.randn(batch, seq_len, d_model, device=device, requires_grad=True)
    return x, torch.randn(batch, seq_len, d_model, device=device)
