"""Mamba's selective scan chunk by chunk, with a hand-written backward: the `scan` form of
gamlab.blocks.optimized (reference: the sequential scan in gamlab/blocks/mamba.py).

The reference builds (b, t, d, n) tensors whole (A_bar, B_bar_u, every state) and autograd
keeps them for the backward. `SelectiveScan` walks the sequence a chunk of tc steps at a time,
keeps one (b, d, n) state per chunk, and recomputes the rest in its backward: the fastest and
leanest scan in pure PyTorch (docs/benchmark.md). Shapes and letters as in mamba.py: b batch,
t tokens, d = d_inner, n = d_state; a `d` prefix on a tensor means a gradient (dA is dL/dA).
"""

from __future__ import annotations

import torch

from ..mamba import MambaMixer, at_least_float32

# steps per chunk: fewer chunks, fewer small ops (measured on a 2-core CPU at B=4, T=512:
# 182 ms a training step with 16, 137 with 32, 139 with 64, 176 with 128)
CHUNK = 32


def _scan_into(a: torch.Tensor, b: torch.Tensor, state: torch.Tensor, out: torch.Tensor) -> None:
    """out[:, i] = state_i = a[:, i] * state_{i-1} + b[:, i], starting from state; in place, no autograd."""
    for i in range(b.size(1)):
        state = torch.addcmul(b[:, i], a[:, i], state, out=out[:, i])


def _discretise(u, dt, A, B):
    """A_bar = exp(dt A) and B_bar_u = dt B u for one chunk: u, dt (b, tc, d), A (d, n), B (b, tc, n)
    -> (b, tc, d, n) each."""
    A_bar = torch.exp(dt.unsqueeze(-1) * A)
    B_bar_u = (dt * u).unsqueeze(-1) * B.unsqueeze(-2)
    return A_bar, B_bar_u


class SelectiveScan(torch.autograd.Function):
    """y_t = C_t . h_t with h_t = exp(dt_t A) * h_{t-1} + dt_t B_t u_t, chunk by chunk.

    Shapes: u, dt (b, t, d); A (d, n); B, C (b, t, n) -> y (b, t, d). The (b, t, d, n)
    tensors the plain form builds (A_bar, B_bar_u, the states) exist here one chunk of tc
    steps at a time (tc = chunk, fewer at the end): the forward keeps only the state entering
    each chunk, (b, t/chunk, d, n) in all, and the backward recomputes a chunk's states from
    it, then runs the adjoint recurrence adj_t = dL/dstate_t backwards through the chunk. Per
    chunk the work is a few elementwise passes and batched contractions over n or d; the
    step-by-step loops touch (b, d, n) slices only.
    """

    @staticmethod
    def forward(ctx, u, dt, A, B, C, chunk: int):
        batch, seq_len, d_inner = u.shape
        d_state = A.size(1)
        y = u.new_empty(batch, seq_len, d_inner)
        starts = u.new_empty(batch, -(-seq_len // chunk), d_inner, d_state)  # the state entering each chunk
        state = u.new_zeros(batch, d_inner, d_state)
        for j, t0 in enumerate(range(0, seq_len, chunk)):
            sl = slice(t0, t0 + chunk)
            starts[:, j] = state
            A_bar, B_bar_u = _discretise(u[:, sl], dt[:, sl], A, B[:, sl])  # (b, tc, d, n) each
            states = B_bar_u  # the scan writes the states over B_bar_u: no new memory
            _scan_into(A_bar, B_bar_u, state, out=states)
            state = states[:, -1]
            torch.matmul(states, C[:, sl].unsqueeze(-1), out=y[:, sl].unsqueeze(-1))  # state_t . C_t
        ctx.save_for_backward(u, dt, A, B, C, starts)
        ctx.chunk = chunk
        return y

    @staticmethod
    def backward(ctx, dy):
        u, dt, A, B, C, starts = ctx.saved_tensors
        chunk = ctx.chunk
        batch, seq_len, d_inner = u.shape
        du, ddt, dB, dC = torch.empty_like(u), torch.empty_like(dt), torch.empty_like(B), torch.empty_like(C)
        dA = torch.zeros_like(A)
        adj_next = u.new_zeros(batch, d_inner, A.size(1))  # dL/dstate leaving the chunk, times the next decay
        for j in reversed(range(starts.size(1))):
            t0 = j * chunk
            sl = slice(t0, t0 + chunk)
            A_bar, B_bar_u = _discretise(u[:, sl], dt[:, sl], A, B[:, sl])
            states = torch.empty_like(B_bar_u)
            _scan_into(A_bar, B_bar_u, starts[:, j], out=states)  # recompute the chunk's states
            adj = dy[:, sl].unsqueeze(-1) * C[:, sl].unsqueeze(-2)  # (b, tc, d, n): y's direct pull on the state
            dC[:, sl] = (dy[:, sl].unsqueeze(-2) @ states).squeeze(-2)  # sum over d of dy_t state_t
            # adjoint, backwards: adj_t += A_bar_{t+1} adj_{t+1}; the last step takes adj_next
            adj[:, -1] += adj_next
            for s in range(adj.size(1) - 2, -1, -1):
                adj[:, s].addcmul_(A_bar[:, s + 1], adj[:, s + 1])
            adj_next = A_bar[:, 0] * adj[:, 0]
            # state_t = A_bar_t state_{t-1} + B_bar_u_t; the first step's state_{t-1} is the chunk's start
            states_prev = torch.cat([starts[:, j].unsqueeze(1), states[:, :-1]], dim=1)
            d_dtA = adj * states_prev * A_bar  # gradient of dt_t A (the exponent), (b, tc, d, n)
            dtu = dt[:, sl] * u[:, sl]  # (b, tc, d)
            d_dtu = (adj @ B[:, sl].unsqueeze(-1)).squeeze(-1)  # sum over n of adj B
            dB[:, sl] = (dtu.unsqueeze(-2) @ adj).squeeze(-2)  # sum over d of adj dt u
            ddt[:, sl] = (d_dtA * A).sum(-1) + d_dtu * u[:, sl]
            du[:, sl] = d_dtu * dt[:, sl]
            dA += (d_dtA * dt[:, sl].unsqueeze(-1)).sum((0, 1))
        return du, ddt, dA, dB, dC, None


class ChunkedMambaMixer(MambaMixer):
    """MambaMixer whose sequential scan runs as SelectiveScan, in float32 (or float64) inside,
    whatever autocast chose for the projections. A mixer configured for the parallel or the
    CUDA scan keeps it: this form replaces the reference scan only."""

    chunk = CHUNK

    def selective_scan(self, u, dt, A, B, C, D) -> torch.Tensor:
        """As MambaMixer.selective_scan: u, dt (b, t, d); A (d, n); B, C (b, t, n); D (d,) -> (b, t, d)."""
        if self.scan != "sequential":
            return super().selective_scan(u, dt, A, B, C, D)
        y = SelectiveScan.apply(*[at_least_float32(t) for t in (u, dt, A, B, C)], self.chunk)
        return y.to(u.dtype) + u * D

    def scan_copies(self, seq_len: int) -> int:
        """One chunk's (b, tc, d, n) tensors alive at a time plus a state per chunk: about 1."""
        return 1 if self.scan == "sequential" else super().scan_copies(seq_len)
