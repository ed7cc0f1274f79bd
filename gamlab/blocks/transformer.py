"""A pre-norm causal Transformer block: the paper's baseline, done fairly.

Attention runs through torch's fused `scaled_dot_product_attention` by default. The naive
form builds the full (T x T) score matrix, as the paper's baseline did; it gives the same
numbers and shows where attention's quadratic cost comes from.

Dropout on the attention weights (attn_dropout) is off by default: on CPU any attention
dropout makes torch skip the fused kernel, which is then as slow and memory-hungry as the
naive form.

Shapes: B batch, T tokens, C channels, nh = n_head heads of hs = C / nh channels each (nanoGPT's
names; docs/naming.md).

Used in notebooks/02_global_path.ipynb (naive_attention, beside the memory read),
04_gam_block.ipynb (its parameter count), 05_showdown.ipynb and 07_beyond_the_paper.ipynb;
no lesson builds it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..config import ModelConfig
from .block import Block
from .ffn import feed_forward


def naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout_p: float = 0.0,
                    training: bool = False) -> torch.Tensor:
    """Causal softmax(q k^T / sqrt(hs)) v with the whole (T, T) matrix. q, k, v: (B, nh, T, hs) -> (B, nh, T, hs)."""
    T = q.size(-2)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))  # (B, nh, T, T)
    future = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    att = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
    att = F.dropout(att, dropout_p, training)
    return att @ v  # (B, nh, T, hs)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        C = config.d_model
        self.n_head = config.n_head
        self.mode = config.attention
        self.attn_dropout = config.attn_dropout
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        q, k, v = rearrange(self.qkv(x), "b t (three nh hs) -> three b nh t hs", three=3, nh=self.n_head)
        p = self.attn_dropout if self.training else 0.0
        if self.mode == "sdpa":
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            y = naive_attention(q, k, v, p, self.training)
        y = rearrange(y, "b nh t hs -> b t (nh hs)")  # heads side by side again
        return self.resid_dropout(self.proj(y))


class TransformerBlock(Block):
    """x = x + attn(norm1(x)); x = x + FFN(norm2(x)), nanoGPT's pre-norm block."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.norm1 = nn.LayerNorm(config.d_model)
        self.attn = CausalSelfAttention(config)
        self.norm2 = nn.LayerNorm(config.d_model)
        self.ffn = feed_forward(config.d_model, config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))

    def flops_per_token(self, seq_len: int) -> float:
        """qkv 2*C*3C + proj 2*C*C + FFN 16C^2 + attention 2 * 2*T'*C, where T' = T for the naive
        form (it computes the whole T x T matrix) and T/2 for the fused causal kernel (it skips
        the masked half)."""
        C = self.config.d_model
        span = seq_len if self.attn.mode == "naive" else seq_len / 2
        return 24 * C * C + 4 * span * C

    def memory_estimate(self, batch: int, seq_len: int) -> int:
        """The block's activations, and for the naive form the (B, nh, T, T) scores, weights and
        dropout mask it keeps."""
        extra = 3 * batch * self.config.n_head * seq_len * seq_len if self.attn.mode == "naive" else 0
        return super().memory_estimate(batch, seq_len) + 4 * extra
