"""A Mamba-style (version 1) selective state-space block in pure PyTorch.

Glossary (Mamba paper -> code). The paper's capitals A, B, C, D name the SSM's matrices and
its skip vector, so in this file the dimensions are lower-case (docs/naming.md): b batch,
t tokens, c = d_model, d = d_inner = expand * c, n = d_state, r = dt_rank.
    in_proj    c -> 2d        splits into the SSM input u and the gate z
    conv1d     causal depthwise convolution over u, width d_conv
    x_proj     d -> r + 2n    gives the input-dependent (selective) dt, B and C
    dt_proj    r -> d         dt = softplus(dt_proj(.)): the step size Δ, one per channel
    A_log      (d, n)         A = -exp(A_log): a stable, diagonal state matrix
    D          (d,)           skip connection from u to y
    out_proj   d -> c
    state      (b, d, n)      the paper's h_t (in gamlab, h is always LayerNorm1(x))

    h_t = exp(dt_t A) * h_{t-1} + dt_t B_t u_t      A_bar = exp(dt A), B_bar_u = dt B u
    y_t = h_t . C_t + D * u_t,   out = out_proj(y * silu(z))

Parameter names and shapes follow the reference implementation (mamba_ssm; mambapy uses
the same), so a state dict moves between them. The recurrence is a linear scan, written here
the readable way, one step at a time (`scan_sequential`, as mamba-minimal writes it); the
parallel (doubling) scan gives the same numbers in log2(t) vectorised steps over (b, t, d, n)
tensors. build_model's optimized forms compute the sequential scan chunk by chunk with a
hand-written backward instead (gamlab/blocks/optimized/mamba.py: the same function, faster
and leaner). On CUDA with mamba_ssm installed, mamba_scan="cuda" uses its fused kernel.

Used in notebooks/04_gam_block.ipynb (its parameter count), 05_showdown.ipynb and
07_beyond_the_paper.ipynb; no lesson builds it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from ..errors import GamlabError
from ..runtime import autocast_off
from .block import Block
from .conv import CausalConv1d


def scan_sequential(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """state_t = a_t * state_{t-1} + b_t with state_{-1} = 0, one step at a time.

    a, b: (batch, time, ...) -> every state, the same shape."""
    state = torch.zeros_like(b[:, 0])
    states = []
    for t in range(b.size(1)):
        state = a[:, t] * state + b[:, t]
        states.append(state)
    return torch.stack(states, dim=1)


def scan_parallel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The same recurrence in ceil(log2 t) vectorised steps (Hillis-Steele), any length t.

    Each position holds an affine map state -> a * state + b covering a window of steps that
    ends there. At offset s, a position absorbs the window of the position s steps before it,
    so windows double until they reach back to the start: then b holds the states.
    """
    seq_len, s = b.size(1), 1
    while s < seq_len:
        b = torch.cat([b[:, :s], a[:, s:] * b[:, :-s] + b[:, s:]], dim=1)
        a = torch.cat([a[:, :s], a[:, s:] * a[:, :-s]], dim=1)
        s *= 2
    return b


class MambaMixer(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        d_model, d_inner, d_state, dt_rank = config.d_model, config.d_inner, config.d_state, config.dt_rank_
        self.d_state, self.dt_rank, self.scan = d_state, dt_rank, config.mamba_scan
        if self.scan == "cuda":
            _require_mamba_ssm()
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv1d = CausalConv1d(d_inner, config.d_conv)
        self.x_proj = nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, d_inner, bias=True)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)
        self._init_dt(dt_min=1e-3, dt_max=1e-1)

    @torch.no_grad()
    def _init_dt(self, dt_min: float, dt_max: float) -> None:
        """As in Mamba: step sizes start log-uniform in [dt_min, dt_max]."""
        nn.init.uniform_(self.dt_proj.weight, -self.dt_rank ** -0.5, self.dt_rank ** -0.5)
        d_inner = self.dt_proj.bias.numel()
        dt = torch.exp(torch.rand(d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse of softplus

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (b, t, c) -> (b, t, c)."""
        u, z = self.in_proj(x).chunk(2, dim=-1)  # (b, t, d) each
        u = F.silu(self.conv1d(u))
        return self.out_proj(self.ssm(u) * F.silu(z))

    def ssm(self, u: torch.Tensor) -> torch.Tensor:
        """The selective SSM: its input-dependent dt, B, C, then the scan. u: (b, t, d) -> y: (b, t, d),
        in u's dtype.

        Under fp16 or bf16 autocast the projections run in that dtype, but the scan runs in float32
        (float64 stays float64): its state is a product of T decays and a sum of T inputs, which
        16-bit floats would round away step after step (fp16's range also ends at 65504).
        """
        A = -torch.exp(at_least_float32(self.A_log))  # (d, n), negative: the state decays
        # dt (b, t, r) before its projection; B, C (b, t, n): they depend on the input (selective)
        dt, B, C = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.softplus(self.dt_proj(dt))  # (b, t, d): the step size Δ
        if self.scan == "cuda":  # mamba_ssm's kernel keeps its state in float32 itself
            return _cuda_scan(u, dt, A, B, C, self.D)
        wide_u, dt, B, C = (at_least_float32(t) for t in (u, dt, B, C))  # float32 inside, whatever autocast chose
        with autocast_off(u.device):  # or autocast would run the scan's products in fp16/bf16 again
            y = self.selective_scan(wide_u, dt, A, B, C, self.D)
        return y.to(u.dtype)  # back in the dtype the projections gave (autocast's)

    def selective_scan(self, u, dt, A, B, C, D) -> torch.Tensor:
        """y_t = C_t . state_t + D * u_t, state_t = exp(dt_t A) * state_{t-1} + dt_t B_t u_t.

        u, dt: (b, t, d); A: (d, n); B, C: (b, t, n); D: (d,) -> y: (b, t, d)."""
        if self.scan == "cuda":
            return _cuda_scan(u, dt, A, B, C, D)
        A_bar = torch.exp(dt.unsqueeze(-1) * A)  # (b, t, d, n) discretised A
        B_bar_u = dt.unsqueeze(-1) * B.unsqueeze(2) * u.unsqueeze(-1)  # (b, t, d, n)
        scan = scan_parallel if self.scan == "parallel" else scan_sequential
        states = scan(A_bar, B_bar_u)  # (b, t, d, n)
        y = (states @ C.unsqueeze(-1)).squeeze(-1)  # (b, t, d): state_t . C_t
        return y + u * D

    def scan_copies(self, seq_len: int) -> int:
        """(b, t, d, n) tensors the scan keeps for the backward: about 4 per doubling step for
        the parallel scan, 4 for the sequential one, none with the fused CUDA scan."""
        if self.scan == "cuda":
            return 0
        return 4 * max(1, math.ceil(math.log2(seq_len))) if self.scan == "parallel" else 4


class MambaBlock(Block):
    """norm + mixer + residual by default; with mamba_residual=False the bare mixer (the paper's)."""

    budget_knob = "expand"  # d = expand * c sets its parameter count (runs.matched_config)

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.norm = nn.LayerNorm(config.d_model) if config.mamba_residual else None
        self.mixer = MambaMixer(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (b, t, c) -> (b, t, c)."""
        if self.norm is None:
            return self.mixer(x)
        return x + self.mixer(self.norm(x))

    def flops_per_token(self, seq_len: int) -> float:
        """in_proj 2*c*2d + x_proj 2*d*(r+2n) + dt_proj 2*r*d + out_proj 2*d*c + conv 2*d_conv*d
        + scan about 6*d*n (discretise, update, read out)."""
        cfg = self.config
        c, d, n, r = cfg.d_model, cfg.d_inner, cfg.d_state, cfg.dt_rank_
        return 4 * c * d + 2 * d * (r + 2 * n) + 2 * r * d + 2 * d * c + 2 * cfg.d_conv * d + 6 * d * n

    def memory_estimate(self, batch: int, seq_len: int) -> int:
        """The block's activations and the scan's (b, t, d, n) tensors (the mixer's scan_copies)."""
        cfg = self.config
        copies = self.mixer.scan_copies(seq_len)
        return super().memory_estimate(batch, seq_len) + 4 * copies * batch * seq_len * cfg.d_inner * cfg.d_state


def at_least_float32(t: torch.Tensor) -> torch.Tensor:
    """t in float32, or as it is when it is wider (float64 in the equivalence tests)."""
    return t.to(torch.promote_types(t.dtype, torch.float32))


def _require_mamba_ssm() -> None:
    try:
        import mamba_ssm.ops.selective_scan_interface  # noqa: F401
    except ImportError as exc:
        raise GamlabError("mamba_scan='cuda' needs the mamba_ssm package on a CUDA machine "
                          "(pip install mamba-ssm); use mamba_scan='sequential' elsewhere.") from exc


def _cuda_scan(u, dt, A, B, C, D):
    """mamba_ssm's fused kernel; it wants channels first: (b, d, t) and (b, n, t)."""
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn

    if not u.is_cuda:
        raise GamlabError("mamba_scan='cuda' runs on a CUDA device only; move the model with .to('cuda').")
    y = selective_scan_fn(u.transpose(1, 2).contiguous(), dt.transpose(1, 2).contiguous(), A,
                          B.transpose(1, 2).contiguous(), C.transpose(1, 2).contiguous(), D.float())
    return y.transpose(1, 2)
