"""A Mamba-style (version 1) selective state-space block in pure PyTorch.

Glossary (Mamba paper -> code), D = d_inner = expand * C, N = d_state, R = dt_rank:
    in_proj   C -> 2D      splits into the SSM input u and the gate z
    conv1d    causal depthwise convolution over u, width d_conv
    x_proj    D -> R + 2N  gives the input-dependent (selective) dt, B and C
    dt_proj   R -> D       dt = softplus(dt_proj(.)), one step size per channel
    A_log     (D, N)       A = -exp(A_log): a stable, diagonal state matrix
    D         (D,)         skip connection from u to y
    out_proj  D -> C

    h_t = exp(dt_t A) * h_{t-1} + dt_t B_t u_t      (B, D, N) state per step
    y_t = h_t . C_t + D * u_t,   out = out_proj(y * silu(z))

Parameter names and shapes follow the reference implementation (mamba_ssm; mambapy uses
the same), so a state dict moves between them. The recurrence is a linear scan: the
sequential loop is the readable reference; the parallel (doubling) scan gives the same
numbers in log2(T) vectorised steps over (B, T, D, N) tensors; the default, chunked
`SelectiveScan`, never builds those tensors whole: it walks the sequence a chunk at a time,
keeps one (B, D, N) state per chunk, recomputes the rest in its hand-written backward, and
is the fastest and leanest in pure PyTorch (docs/benchmark.md). On CUDA with
mamba_ssm installed, mamba_scan="cuda" uses its fused kernel.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .conv import CausalConv1d
from .errors import GamlabError


def scan_sequential(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h_t = a_t * h_{t-1} + b_t with h_{-1} = 0, one step at a time. a, b: (B, T, ...) -> h."""
    h = torch.zeros_like(b[:, 0])
    hs = []
    for t in range(b.size(1)):
        h = a[:, t] * h + b[:, t]
        hs.append(h)
    return torch.stack(hs, dim=1)


def scan_parallel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The same recurrence in ceil(log2 T) vectorised steps (Hillis-Steele), any length T.

    Each position holds an affine map h -> a * h + b covering a window of steps that ends
    there. At offset s, a position absorbs the window of the position s steps before it, so
    windows double until they reach back to the start: then b is h.
    """
    T, s = b.size(1), 1
    while s < T:
        b = torch.cat([b[:, :s], a[:, s:] * b[:, :-s] + b[:, s:]], dim=1)
        a = torch.cat([a[:, :s], a[:, s:] * a[:, :-s]], dim=1)
        s *= 2
    return b


def _scan_into(a: torch.Tensor, b: torch.Tensor, h: torch.Tensor, out: torch.Tensor) -> None:
    """out[:, i] = h_i = a[:, i] * h_{i-1} + b[:, i], starting from h; in place, no autograd."""
    for i in range(b.size(1)):
        h = torch.addcmul(b[:, i], a[:, i], h, out=out[:, i])


class SelectiveScan(torch.autograd.Function):
    """y_t = C_t . h_t with h_t = exp(dt_t A) * h_{t-1} + dt_t B_t u_t, chunk by chunk.

    Shapes: u, dt (B, T, D); A (D, N); Bm, Cm (B, T, N) -> y (B, T, D). The (B, T, D, N)
    tensors the plain form builds (discretised A, B u, states h) exist here one chunk of L
    steps at a time: the forward keeps only the state entering each chunk, (B, T/L, D, N)
    in all, and the backward recomputes a chunk's states from it, then runs the adjoint
    recurrence g_t = dL/dh_t backwards through the chunk. Per chunk the work is a few
    elementwise passes and batched contractions over N or D; the step-by-step loops touch
    (B, D, N) slices only.
    """

    @staticmethod
    def forward(ctx, u, dt, A, Bm, Cm, chunk: int):
        batch, T, D = u.shape
        N = A.size(1)
        y = u.new_empty(batch, T, D)
        starts = u.new_empty(batch, -(-T // chunk), D, N)  # the state entering each chunk
        h = u.new_zeros(batch, D, N)
        for c, t0 in enumerate(range(0, T, chunk)):
            sl = slice(t0, t0 + chunk)
            starts[:, c] = h
            dA, dBu = _discretise(u[:, sl], dt[:, sl], A, Bm[:, sl])  # (B, L, D, N)
            _scan_into(dA, dBu, h, out=dBu)  # states overwrite dBu
            h = dBu[:, -1]
            torch.matmul(dBu, Cm[:, sl].unsqueeze(-1), out=y[:, sl].unsqueeze(-1))  # h_t . C_t
        ctx.save_for_backward(u, dt, A, Bm, Cm, starts)
        ctx.chunk = chunk
        return y

    @staticmethod
    def backward(ctx, dy):
        u, dt, A, Bm, Cm, starts = ctx.saved_tensors
        chunk = ctx.chunk
        batch, T, D = u.shape
        du, ddt, dBm, dCm = torch.empty_like(u), torch.empty_like(dt), torch.empty_like(Bm), torch.empty_like(Cm)
        dA_total = torch.zeros_like(A)
        g_next = u.new_zeros(batch, D, A.size(1))  # dL/dh leaving the chunk, times the next decay
        for c in reversed(range(starts.size(1))):
            t0 = c * chunk
            sl = slice(t0, t0 + chunk)
            dA, dBu = _discretise(u[:, sl], dt[:, sl], A, Bm[:, sl])
            h = torch.empty_like(dBu)
            _scan_into(dA, dBu, starts[:, c], out=h)  # recompute the chunk's states
            g = dy[:, sl].unsqueeze(-1) * Cm[:, sl].unsqueeze(-2)  # (B, L, D, N): y's direct pull on h
            dCm[:, sl] = (dy[:, sl].unsqueeze(-2) @ h).squeeze(-2)  # sum over D of dy_t h_t
            # adjoint, backwards: g_t += exp(dt_{t+1} A) g_{t+1}; the last step takes g_next
            g[:, -1] += g_next
            for i in range(g.size(1) - 2, -1, -1):
                g[:, i].addcmul_(dA[:, i + 1], g[:, i + 1])
            g_next = dA[:, 0] * g[:, 0]
            # h_t = dA_t h_{t-1} + dBu_t; h_{t-1} of the first step is the chunk's start state
            h_prev = torch.cat([starts[:, c].unsqueeze(1), h[:, :-1]], dim=1)
            d_logA = g * h_prev * dA  # gradient of dt_t A (the exponent), (B, L, D, N)
            dtu = dt[:, sl] * u[:, sl]  # (B, L, D)
            d_dtu = (g @ Bm[:, sl].unsqueeze(-1)).squeeze(-1)  # sum over N of g B
            dBm[:, sl] = (dtu.unsqueeze(-2) @ g).squeeze(-2)  # sum over D of g dt u
            ddt[:, sl] = (d_logA * A).sum(-1) + d_dtu * u[:, sl]
            du[:, sl] = d_dtu * dt[:, sl]
            dA_total += (d_logA * dt[:, sl].unsqueeze(-1)).sum((0, 1))
        return du, ddt, dA_total, dBm, dCm, None


def _discretise(u, dt, A, Bm):
    """exp(dt A) and dt B u for one chunk: u, dt (B, L, D), A (D, N), Bm (B, L, N) -> (B, L, D, N) each."""
    dA = torch.exp(dt.unsqueeze(-1) * A)
    dBu = (dt * u).unsqueeze(-1) * Bm.unsqueeze(-2)
    return dA, dBu


class MambaMixer(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        C, D, N, R = config.d_model, config.d_inner, config.d_state, config.dt_rank_
        self.d_state, self.dt_rank, self.scan = N, R, config.mamba_scan
        self.chunk = 16  # steps per chunk of the chunked scan (measured: 16 to 64 all do well on CPU)
        if self.scan == "cuda":
            _require_mamba_ssm()
        self.in_proj = nn.Linear(C, 2 * D, bias=False)
        self.conv1d = CausalConv1d(D, config.d_conv)
        self.x_proj = nn.Linear(D, R + 2 * N, bias=False)
        self.dt_proj = nn.Linear(R, D, bias=True)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(D, 1))
        self.D = nn.Parameter(torch.ones(D))
        self.out_proj = nn.Linear(D, C, bias=False)
        self._init_dt(dt_min=1e-3, dt_max=1e-1)

    @torch.no_grad()
    def _init_dt(self, dt_min: float, dt_max: float) -> None:
        """As in Mamba: step sizes start log-uniform in [dt_min, dt_max]."""
        nn.init.uniform_(self.dt_proj.weight, -self.dt_rank ** -0.5, self.dt_rank ** -0.5)
        D = self.dt_proj.bias.numel()
        dt = torch.exp(torch.rand(D) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse of softplus

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        u, z = self.in_proj(x).chunk(2, dim=-1)  # (B, T, D) each
        u = F.silu(self.conv1d(u))
        return self.out_proj(self.ssm(u) * F.silu(z))

    def ssm(self, u: torch.Tensor) -> torch.Tensor:
        """The selective scan. u: (B, T, D) -> y: (B, T, D)."""
        A = -torch.exp(self.A_log.float())  # (D, N), negative: the state decays
        dt, B, C = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.softplus(self.dt_proj(dt))  # (B, T, D)
        if self.scan == "cuda":
            return _cuda_scan(u, dt, A, B, C, self.D)
        if self.scan == "chunked":  # float32 inside, whatever autocast chose for the projections
            y = SelectiveScan.apply(u.float(), dt.float(), A, B.float(), C.float(), self.chunk)
            return y.to(u.dtype) + u * self.D
        dA = torch.exp(dt.unsqueeze(-1) * A)  # (B, T, D, N) discretised A
        dBu = dt.unsqueeze(-1) * B.unsqueeze(2) * u.unsqueeze(-1)  # (B, T, D, N)
        scan = scan_parallel if self.scan == "parallel" else scan_sequential
        h = scan(dA, dBu)  # (B, T, D, N)
        y = (h @ C.unsqueeze(-1)).squeeze(-1)  # (B, T, D): h_t . C_t
        return y + u * self.D


class MambaBlock(nn.Module):
    """norm + mixer + residual by default; with mamba_residual=False the bare mixer (the paper's)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.norm = nn.LayerNorm(config.d_model) if config.mamba_residual else None
        self.mixer = MambaMixer(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        if self.norm is None:
            return self.mixer(x)
        return x + self.mixer(self.norm(x))


def _require_mamba_ssm() -> None:
    try:
        import mamba_ssm.ops.selective_scan_interface  # noqa: F401
    except ImportError as exc:
        raise GamlabError("mamba_scan='cuda' needs the mamba_ssm package on a CUDA machine "
                          "(pip install mamba-ssm); use mamba_scan='chunked' elsewhere.") from exc


def _cuda_scan(u, dt, A, B, C, D):
    """mamba_ssm's fused kernel; it wants channels first: (B, D, T) and (B, N, T)."""
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn

    if not u.is_cuda:
        raise GamlabError("mamba_scan='cuda' runs on a CUDA device only; move the model with .to('cuda').")
    y = selective_scan_fn(u.transpose(1, 2).contiguous(), dt.transpose(1, 2).contiguous(), A,
                          B.transpose(1, 2).contiguous(), C.transpose(1, 2).contiguous(), D.float())
    return y.transpose(1, 2)
