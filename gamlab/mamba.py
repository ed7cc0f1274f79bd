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
sequential loop is the readable reference; the parallel scan gives the same numbers in
log2(T) vectorised steps; on CUDA with mamba_ssm installed, mamba_scan="cuda" uses its
fused kernel.
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


class MambaMixer(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        C, D, N, R = config.d_model, config.d_inner, config.d_state, config.dt_rank_
        self.d_state, self.dt_rank, self.scan = N, R, config.mamba_scan
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
                          "(pip install mamba-ssm); use mamba_scan='parallel' elsewhere.") from exc


def _cuda_scan(u, dt, A, B, C, D):
    """mamba_ssm's fused kernel; it wants channels first: (B, D, T) and (B, N, T)."""
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn

    if not u.is_cuda:
        raise GamlabError("mamba_scan='cuda' runs on a CUDA device only; move the model with .to('cuda').")
    y = selective_scan_fn(u.transpose(1, 2).contiguous(), dt.transpose(1, 2).contiguous(), A,
                          B.transpose(1, 2).contiguous(), C.transpose(1, 2).contiguous(), D.float())
    return y.transpose(1, 2)
