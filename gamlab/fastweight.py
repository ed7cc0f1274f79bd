"""GAM with a memory written by the sequence itself: a fast-weight (linear-attention) global path.

The paper's global path reads a bank M that training fixes: every sequence sees the same
slots, so no token can leave a note for a later one. Here the bank is rebuilt as the
sequence goes. Token s *writes* the association phi(k_s) v_s^T into a per-head state, and
token t *reads* with its query; everything else (norm1, the causal convolution, the gate
Linear(C, 2C), norm2, the FFN) is the paper's block unchanged.

Glossary (per head; H = n_head, D = C / H):
    q, k, v   (B, H, T, D)  Linear(C, 3C)(h), split into heads
    phi       elu(.) + 1    a positive feature map
    S_t       (B, H, D, D)  sum_{s<=t} phi(k_s) v_s^T       the fast-weight memory
    z_t       (B, H, D)     sum_{s<=t} phi(k_s)              what has been written, for normalising
    global_t  phi(q_t) S_t / (phi(q_t) . z_t)                then heads joined and Linear(C, C)
    a_ts      phi(q_t).phi(k_s) / (phi(q_t) . z_t), s <= t  the read weights: how much of token
                                                             s the query at t gets back

Why elu + 1 with the normaliser (and not normalised keys without one): every a_ts is
positive and each query's weights over s <= t sum to 1, so global_t is a weighted average
of earlier values, like attention's, and the read weights can be drawn and compared with
attention maps. The state per step is O(1) (D x D + D per head) and the work O(N).

Two forms that give the same numbers (a test holds them equal):
    sequential  one token at a time, the state carried: the definition, kept for tests
    chunked     inside a chunk of L tokens a masked (L x L) product; between chunks the state
                is carried: O(T L D) work, a few matrix products per chunk (the fast one)

Taught in notebooks/07_beyond_the_paper.ipynb.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .config import ModelConfig
from .gam import GAMBlock

CHUNK = 64  # tokens per chunk in the chunked form
EPS = 1e-6  # keeps the normaliser away from zero


def feature_map(x: torch.Tensor) -> torch.Tensor:
    """phi(x) = elu(x) + 1 > 0, elementwise."""
    return F.elu(x) + 1.0


def memory_sequential(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The definition, one step at a time. q, k, v: (B, H, T, D), already feature-mapped
    (q, k). Returns (B, H, T, D): phi(q_t) S_t / (phi(q_t) . z_t)."""
    B, H, T, D = q.shape
    S = q.new_zeros(B, H, D, D)  # fast weights
    z = q.new_zeros(B, H, D)  # sum of keys written so far
    out = []
    for t in range(T):
        S = S + k[:, :, t, :, None] * v[:, :, t, None, :]  # write phi(k_t) v_t^T
        z = z + k[:, :, t]
        num = (q[:, :, t, None, :] @ S).squeeze(-2)  # (B, H, D)
        den = (q[:, :, t] * z).sum(-1, keepdim=True)  # (B, H, 1)
        out.append(num / (den + EPS))
    return torch.stack(out, dim=2)


def memory_chunked(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, chunk: int = CHUNK) -> torch.Tensor:
    """Same result as memory_sequential, chunk tokens at a time. q, k, v: (B, H, T, D)."""
    B, H, T, D = q.shape
    S = q.new_zeros(B, H, D, D)
    z = q.new_zeros(B, H, 1, D)
    out = []
    for start in range(0, T, chunk):
        qc, kc, vc = (t[:, :, start:start + chunk] for t in (q, k, v))  # (B, H, L, D)
        L = qc.size(2)
        causal = torch.ones(L, L, dtype=torch.bool, device=q.device).tril()
        A = (qc @ kc.transpose(-2, -1)).masked_fill(~causal, 0.0)  # (B, H, L, L) within the chunk
        num = A @ vc + qc @ S  # this chunk's writes + everything before it
        den = A.sum(-1, keepdim=True) + (qc * z).sum(-1, keepdim=True)  # (B, H, L, 1)
        out.append(num / (den + EPS))
        S = S + kc.transpose(-2, -1) @ vc  # carry the state to the next chunk
        z = z + kc.sum(2, keepdim=True)
    return torch.cat(out, dim=2)


def read_weights(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """a_ts for every query t and earlier token s: (B, H, T, T), rows sum to 1, zero for s > t.
    O(T^2): computed only when asked for (probes, the notebook's widget)."""
    A = (q @ k.transpose(-2, -1)).tril()  # (B, H, T, T)
    return A / (A.sum(-1, keepdim=True) + EPS)


class FastWeightMemory(nn.Module):
    """Multi-head causal fast-weight memory: (B, T, C) -> (B, T, C)."""

    def __init__(self, d_model: int, n_head: int, chunk: int = CHUNK):
        super().__init__()
        self.n_head, self.chunk = n_head, chunk
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def qkv_heads(self, h: torch.Tensor):
        """h: (B, T, C) -> phi(q), phi(k), v, each (B, H, T, D)."""
        q, k, v = rearrange(self.qkv(h), "b t (three h d) -> three b h t d", three=3, h=self.n_head)
        return feature_map(q), feature_map(k), v

    def forward(self, h: torch.Tensor, sequential: bool = False,
                with_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """h: (B, T, C) -> (global (B, T, C), read weights (B, H, T, T) if with_weights else None)."""
        # float32 state: under bf16 autocast the D x D sums would otherwise grow in bf16 over the sequence
        q, k, v = (t.float() for t in self.qkv_heads(h))
        y = memory_sequential(q, k, v) if sequential else memory_chunked(q, k, v, self.chunk)
        y = rearrange(y, "b h t d -> b t (h d)")
        return self.proj(y), (read_weights(q, k) if with_weights else None)


class FastWeightGAMBlock(GAMBlock):
    """The paper's GAM block (gamlab.gam.GAMBlock) with FastWeightMemory as its global path,
    `config.n_head` heads; norm1, the convolution, the gates, norm2 and the FFN are inherited.

    Setting `capture` to a dict records, on the next forward, the gates, both paths, the update,
    and "read_weights" (B, H, T, T): which earlier tokens each query reads from.
    """

    weights_name = "read_weights"

    def __init__(self, config: ModelConfig, chunk: int = CHUNK):
        self.chunk = chunk  # read by global_path() during GAMBlock.__init__
        super().__init__(config)
        self.sequential = False  # True: the step-by-step reference (tests)

    def global_path(self, config: ModelConfig) -> nn.Module:
        return FastWeightMemory(config.d_model, config.n_head, self.chunk)

    def retrieve(self, h: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """h: (B, T, C) -> (global (B, T, C), read weights (B, H, T, T) when capturing, else None)."""
        if self.memory is None:
            return None, None
        return self.memory(h, self.sequential, with_weights=self.capture is not None)
