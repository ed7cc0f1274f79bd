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

from .config import ModelConfig
from .dropout import Dropout
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
        self.resid_dropout = Dropout(config.dropout)

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


class TransformerBlock(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(config.d_model)
        self.attn = CausalSelfAttention(config)
        self.norm2 = nn.LayerNorm(config.d_model)
        self.ffn = feed_forward(config.d_model, config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))
