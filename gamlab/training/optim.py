"""The optimizer and its schedule: AdamW with weight decay on matrices, warm-up then cosine.

    optimizer = make_optimizer(model, lr=3e-4, weight_decay=0.1)
    scheduler = make_scheduler(optimizer, warmup_steps=100, total_steps=5000)

The Trainer (gamlab/training/train.py) builds both from its TrainConfig and recipe
(gamlab/training/recipes.py: which parameters decay, where the warm-up starts).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import GamlabError


def make_optimizer(model: nn.Module, lr: float = 3e-4, weight_decay: float = 0.1,
                   betas: tuple[float, float] = (0.9, 0.95), decay: str = "matrices") -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (decay="matrices"), or on everything (decay="all").

    "matrices": decayed are the parameters with 2 or more dimensions (linear and conv weights,
    the embeddings, GAM's memory bank M); not decayed are biases, LayerNorm gains, 1-D vectors,
    and Mamba's A_log (a decay there would pull every state's timescale toward 1, as Mamba's
    authors note). "all": the paper author's AdamW(model.parameters(), weight_decay=0.1)
    (gamlab/training/recipes.py). Two groups either way: [decayed, not decayed].
    """
    if decay not in ("matrices", "all"):
        raise GamlabError(f"decay={decay!r}: choose 'matrices' or 'all'.")
    decay_all = decay == "all"
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if decay_all or (p.dim() >= 2 and not name.endswith("A_log")) else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas))


def make_scheduler(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                   min_lr_ratio: float = 0.1, warmup_from_zero: bool = False) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over `warmup_steps`, then cosine decay to lr * min_lr_ratio at `total_steps`.

    The first step's factor is 1 / warmup_steps, or 0 with warmup_from_zero (the paper author's
    step / warmup_steps: its first update has learning rate 0; gamlab/training/recipes.py).
    """
    start = 0 if warmup_from_zero else 1

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + start) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
