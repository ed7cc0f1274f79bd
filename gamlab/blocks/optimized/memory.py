"""The slot memory read through torch's fused attention kernel: the `retrieval` form of
gamlab.blocks.optimized (reference: gamlab/blocks/memory.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..memory import AssociativeMemory


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
