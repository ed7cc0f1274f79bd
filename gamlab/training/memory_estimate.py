"""How many bytes training a model takes, estimated before any tensor is allocated.

    need = estimate_train_memory(model, batch_size=32)   # compared with runtime.available_memory

The run layer refuses a job that cannot fit before it starts (gamlab.experiments.runs.check_fits);
a model built with gamlab.model.shapes_only has the shapes and no storage, so it is cheap to ask.
"""

from __future__ import annotations

from torch import nn

from ..config import ModelConfig


def estimate_train_memory(model: nn.Module, batch_size: int, block_size: int | None = None) -> int:
    """A rough upper estimate, in bytes, of what training `model` takes.

    Weights, gradients and AdamW's two moments (4 copies, float32), plus the activations each
    block keeps for the backward pass, as the block estimates them (Block.memory_estimate:
    about 34 floats per (token, channel), and Mamba's scan and naive attention their larger
    tensors); the logits add (B, T, vocab) three times.
    """
    cfg: ModelConfig = model.config
    T = block_size or cfg.block_size
    B = batch_size
    weights = 4 * 4 * sum(p.numel() for p in model.parameters())
    if hasattr(model, "blocks"):
        blocks = sum(block.memory_estimate(B, T) for block in model.blocks)
    else:  # a model without gamlab blocks: Block.memory_estimate's 34 floats per (token, channel, layer)
        blocks = 4 * 34 * B * T * cfg.d_model * cfg.n_layer
    return weights + blocks + 4 * 3 * B * T * cfg.vocab_size
