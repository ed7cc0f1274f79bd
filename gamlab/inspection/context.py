"""The gradient reach (effective context): how far back a model's output depends on its input, by gradients.

For a position t and each earlier position s, the lag is t - s. The sensitivity at that lag is
the size of the Jacobian block d out_t / d x_s, where x is the input to the first block (token
+ position embedding) and out the final hidden state (the head is a fixed linear map of it, so
it would not move where the dependence lies). The profile over lags, normalised to sum to 1,
says where the model looks.

    theoretical reach of a GAM stack:  receptive_field(L, k) = L * (k - 1) + 1 tokens
    (its memory bank mixes nothing between tokens, so beyond that the gradient is exactly 0)

The Jacobian's Frobenius norm ||J||_F is estimated with random probes r ~ N(0, I):
E ||J^T r||^2 = ||J||_F^2, one backward pass per probe. Zero stays exactly zero.

Used in notebooks/07_beyond_the_paper.ipynb.
"""

from __future__ import annotations

import torch

from ..blocks.conv import receptive_field
from ..errors import GamlabError
from ..model import LanguageModel
from ..runtime import eval_mode

__all__ = ["context_profile", "effective_length", "receptive_field"]


def context_profile(model: LanguageModel, idx: torch.Tensor, t: int | None = None,
                    n_probes: int = 4, seed: int = 0) -> torch.Tensor:
    """Sensitivity of out_t to each earlier input, by lag. idx: (B, T) token ids; t defaults to T-1.

    Returns (t + 1,) float64: entry j is ||d out_t / d x_{t-j}||_F (averaged over the batch and
    probes in the squared sense), divided by the sum over j. Dropout is off while measuring.
    """
    model.check_input(idx)
    T = idx.size(1)
    t = T - 1 if t is None else t
    if not 0 <= t < T:
        raise GamlabError(f"position t={t} is outside the sequence of length {T}; pick 0 <= t < {T}.")
    with eval_mode(model):
        with torch.no_grad():
            x0 = model.embed(idx)  # (B, T, C): what the first block reads
        x0.requires_grad_(True)
        out_t = model.body(x0)[:, t]  # (B, C)
        g = torch.Generator(device="cpu").manual_seed(seed)
        sq = torch.zeros(T, dtype=torch.float64)
        for i in range(n_probes):
            r = torch.randn(out_t.shape, generator=g).to(out_t)
            (grad,) = torch.autograd.grad(out_t, x0, r, retain_graph=i < n_probes - 1)
            sq += grad.double().pow(2).sum(dim=(0, 2)).cpu()  # (T,): summed over batch and channels
    by_lag = sq[: t + 1].flip(0).sqrt()  # entry j: lag j, i.e. input position t - j
    total = by_lag.sum()
    return by_lag / total if total > 0 else by_lag


def effective_length(profile: torch.Tensor, mass: float = 0.9) -> int:
    """Fewest lags (counting lag 0) that hold `mass` of a context_profile's total."""
    if not 0 < mass <= 1:
        raise GamlabError(f"mass must be in (0, 1], got {mass}.")
    cum = profile.cumsum(0)
    return int((cum < mass * float(cum[-1]) - 1e-12).sum()) + 1
