"""GAM with a memory written by the sequence itself: a fast-weight (linear-attention) global path.

The paper's global path reads a bank M that training fixes: every sequence sees the same
slots, so no token can leave a note for a later one. Here the bank is rebuilt as the
sequence goes. Token s *writes* the association phi(k_s) v_s^T into a per-head state, and
token t *reads* with its query; everything else (norm1, the causal convolution, the gate
Linear(C, 2C), norm2, the FFN) is the paper's block unchanged.

Glossary (paper symbol -> code name, shape). Heads are nh = n_head, each hs = C / nh wide, as
nanoGPT names them (h is LayerNorm1(x) and D is Mamba's skip vector; see docs/naming.md):
    q, k, v   q, k, v  (B, nh, T, hs)   Linear(C, 3C)(h), split into heads
    phi       feature_map               elu(.) + 1, a positive feature map
    S_t       state    (B, nh, hs, hs)  sum_{s<=t} phi(k_s) v_s^T   the fast-weight memory (S is
                                        the slot count elsewhere in gamlab, so the code says state)
    z_t       z        (B, nh, hs)      sum_{s<=t} phi(k_s)         what has been written, for normalising
    global_t  phi(q_t) S_t / (phi(q_t) . z_t)                        then heads joined and Linear(C, C)
    a_ts      a        (B, nh, T, T)    phi(q_t).phi(k_s) / (phi(q_t) . z_t), s <= t: the read
                                        weights, how much of token s the query at t gets back
    tc        tokens in one chunk (the `chunk` knob, fewer at the end)

Why elu + 1 with the normaliser (and not normalised keys without one): every a_ts is
positive and each query's weights over s <= t sum to 1, so global_t is a weighted average
of earlier values, like attention's, and the read weights can be drawn and compared with
attention maps. The state per step is O(1) (hs x hs + hs per head) and the work O(N).

Two forms that give the same numbers (a test holds them equal):
    sequential  one token at a time, the state carried: the definition, kept for tests
    chunked     inside a chunk of tc tokens a masked (tc x tc) product; between chunks the state
                is carried: O(T tc hs) work, a few matrix products per chunk (the fast one)

Taught in notebooks/07_beyond_the_paper.ipynb.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..config import ModelConfig
from ..runtime import autocast_off
from .gam import GAMBlock

CHUNK = 64  # tokens per chunk in the chunked form
EPS = 1e-6  # keeps the normaliser away from zero


def feature_map(x: torch.Tensor) -> torch.Tensor:
    """phi(x) = elu(x) + 1 > 0, elementwise."""
    return F.elu(x) + 1.0


def memory_sequential(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The definition, one step at a time. q, k, v: (B, nh, T, hs), already feature-mapped
    (q, k). Returns (B, nh, T, hs): phi(q_t) S_t / (phi(q_t) . z_t)."""
    B, nh, T, hs = q.shape
    state = q.new_zeros(B, nh, hs, hs)  # S_t, the fast weights
    z = q.new_zeros(B, nh, hs)  # sum of keys written so far
    out = []
    for t in range(T):
        state = state + k[:, :, t, :, None] * v[:, :, t, None, :]  # write phi(k_t) v_t^T
        z = z + k[:, :, t]
        num = (q[:, :, t, None, :] @ state).squeeze(-2)  # (B, nh, hs)
        den = (q[:, :, t] * z).sum(-1, keepdim=True)  # (B, nh, 1)
        out.append(num / (den + EPS))
    return torch.stack(out, dim=2)


def memory_chunked(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, chunk: int = CHUNK) -> torch.Tensor:
    """Same result as memory_sequential, chunk tokens at a time. q, k, v: (B, nh, T, hs)."""
    B, nh, T, hs = q.shape
    state = q.new_zeros(B, nh, hs, hs)
    z = q.new_zeros(B, nh, 1, hs)
    out = []
    for start in range(0, T, chunk):
        qc, kc, vc = (m[:, :, start:start + chunk] for m in (q, k, v))  # (B, nh, tc, hs)
        tc = qc.size(2)
        causal = torch.ones(tc, tc, dtype=torch.bool, device=q.device).tril()
        a = (qc @ kc.transpose(-2, -1)).masked_fill(~causal, 0.0)  # (B, nh, tc, tc): unnormalised a_ts
        num = a @ vc + qc @ state  # this chunk's writes + everything before it
        den = a.sum(-1, keepdim=True) + (qc * z).sum(-1, keepdim=True)  # (B, nh, tc, 1)
        out.append(num / (den + EPS))
        state = state + kc.transpose(-2, -1) @ vc  # carry the state to the next chunk
        z = z + kc.sum(2, keepdim=True)
    return torch.cat(out, dim=2)


def read_weights(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """a_ts for every query t and earlier token s: (B, nh, T, T), rows sum to 1, zero for s > t.
    O(T^2): computed only when asked for (probes, the notebook's widget)."""
    a = (q @ k.transpose(-2, -1)).tril()  # (B, nh, T, T), unnormalised
    return a / (a.sum(-1, keepdim=True) + EPS)


class FastWeightMemory(nn.Module):
    """Multi-head causal fast-weight memory: h (B, T, C) -> (global (B, T, C), None).

    sequential: True runs the step-by-step definition (tests); False the chunked form.
    """

    reads = "tokens"  # its read weights range over earlier tokens (gamlab.blocks.gam.GAMBlockInternals)

    def __init__(self, d_model: int, n_head: int, chunk: int = CHUNK):
        super().__init__()
        self.n_head, self.chunk, self.sequential = n_head, chunk, False
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def qkv_heads(self, h: torch.Tensor):
        """h: (B, T, C) -> phi(q), phi(k), v, each (B, nh, T, hs)."""
        q, k, v = rearrange(self.qkv(h), "b t (three nh hs) -> three b nh t hs", three=3, nh=self.n_head)
        return feature_map(q), feature_map(k), v

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, None]:
        """h: (B, T, C) -> (global (B, T, C), None); `with_weights` gives the read weights too."""
        return self.with_weights(h, False)

    def with_weights(self, h: torch.Tensor, weights: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """h: (B, T, C) -> (global (B, T, C), read weights (B, nh, T, T), or None when not `weights`)."""
        # At least float32 inside, autocast off: under fp16/bf16 autocast the hs x hs state would
        # otherwise be summed from 16-bit products over the whole sequence. qkv and proj keep autocast's dtype.
        q, k, v = (m.to(torch.promote_types(m.dtype, torch.float32)) for m in self.qkv_heads(h))
        with autocast_off(h.device):
            y = memory_sequential(q, k, v) if self.sequential else memory_chunked(q, k, v, self.chunk)
            a = read_weights(q, k) if weights else None
        y = rearrange(y, "b nh t hs -> b t (nh hs)")
        return self.proj(y), a

    def flops_per_token(self, seq_len: int) -> float:
        """qkv 2*C*3C + proj 2*C*C, and per head of hs channels in chunks of tc = min(chunk, T)
        tokens: scores and their product with v 2 * 2*tc*hs, the state's read and write 2 * 2*hs*hs."""
        C = self.proj.in_features
        tc, hs = min(self.chunk, seq_len), C // self.n_head
        return 8 * C * C + 4 * tc * C + 4 * hs * C


class FastWeightGAMBlock(GAMBlock):
    """The paper's GAM block (gamlab.blocks.gam.GAMBlock) with FastWeightMemory as its global path,
    `config.n_head` heads; norm1, the convolution, the gates, norm2 and the FFN are inherited,
    forward and forward_with_internals too: its internals' `weights` are the read weights
    (B, nh, T, T), which earlier tokens each query reads from.
    """

    def __init__(self, config: ModelConfig, chunk: int = CHUNK):
        self.chunk = chunk  # read by global_path() during GAMBlock.__init__
        super().__init__(config)

    def global_path(self, config: ModelConfig) -> nn.Module:
        return FastWeightMemory(config.d_model, config.n_head, self.chunk)

    @property
    def sequential(self) -> bool:
        """True: the memory runs its step-by-step reference (tests)."""
        return self.memory.sequential

    @sequential.setter
    def sequential(self, value: bool) -> None:
        self.memory.sequential = value
