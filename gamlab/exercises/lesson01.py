"""Checks for the exercises of notebooks/01_local_path.ipynb (the causal convolution)."""

from __future__ import annotations

import torch

from ..blocks.conv import receptive_field
from . import Wrong, call, close, exercise, whole_number


@exercise("1.1", "The reach of a stack", hints=(
    "One layer of kernel k sees itself and k-1 tokens before it.",
    "Each further layer adds k-1 tokens, not k: the window it reads already includes the current token.",
))
def reach_of_a_stack(answer) -> str | None:
    """answer: how many tokens (the current one included) a stack of L = 4 layers with k = 5 sees."""
    right = receptive_field(4, 5)
    answer = whole_number(answer, "give a whole number of tokens")
    if answer == right:
        return None
    if answer == 4 * 5:
        return "4 x 5 counts the current token once per layer; each layer adds k-1 = 4 new tokens, and the current one once."
    if answer == 4 * 4:
        return "4 x (k-1) = 16 counts the tokens before t; the current token is seen too."
    return f"{answer} is not the reach; try the formula with L = 4, k = 5, or measure it as section 4 does."


def dependence(fn, T: int = 12, C: int = 3, k: int = 3, **kwargs):
    """((T, T) bool, (x, w, b, y)): seen[t, s] is True when output t of fn(x, w, b) changes with input s.

    Measured with the gradient of each output with respect to the input (random weights, so no
    path cancels by accident): the same test as the lesson's "no peeking" section.
    """
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, T, C, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(C, k, generator=g, dtype=torch.float64)
    b = torch.randn(C, generator=g, dtype=torch.float64)
    y = call(fn, x, w, b, **kwargs)
    if not isinstance(y, torch.Tensor) or y.shape != (1, T, C):
        raise Wrong(f"your function should return a (B, T, C) = (1, {T}, {C}) tensor, not "
                    f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}.")
    if not y.is_floating_point():
        raise Wrong(f"your function returns {y.dtype} numbers; a convolution of x gives floating-point ones "
                    "(leave out the conversion).")
    if not y.requires_grad:  # the check follows x's gradient to see which inputs each output reads
        raise Wrong("your output is not computed from x by torch operations (it was rebuilt from plain numbers, "
                    "e.g. with .item(), .tolist() or torch.tensor(...)); build it from slices of x.")
    rows = []
    for t in range(T):
        (grad,) = torch.autograd.grad(y[0, t].sum(), x, retain_graph=True, allow_unused=True)
        rows.append(torch.zeros(T, dtype=torch.bool) if grad is None else grad[0].abs().sum(-1) > 0)
    return torch.stack(rows), (x, w, b, y)


def _explain(seen: torch.Tensor, want: torch.Tensor) -> str | None:
    """The first position whose reach differs, in words."""
    for t in range(seen.size(0)):
        extra = (seen[t] & ~want[t]).nonzero().flatten().tolist()
        missing = (want[t] & ~seen[t]).nonzero().flatten().tolist()
        if extra:
            s = extra[-1]
            where = "the future" if s > t else "further back than its taps reach"
            return f"your convolution's output {t} sees input {s} ({where})."
        if missing:
            return f"your convolution's output {t} does not see input {missing[0]}, which its taps should reach."
    return None


@exercise("1.2", "A causal convolution, one output at a time", hints=(
    "Output t is b[c] + sum over j of w[c, j] * x[:, t - (k-1) + j, c], for the j where that index is >= 0.",
    "Loop over t, build y[:, t] from x[:, max(0, t-k+1) : t+1], and match the taps to the right end of w.",
    "torch.stack(outputs, dim=1) turns a list of (B, C) rows into (B, T, C).",
))
def causal_conv_loop(fn) -> str | None:
    """fn(x (B, T, C), w (C, k), b (C,)) -> y (B, T, C), computed with a loop over t."""
    seen, (x, w, b, y) = dependence(fn)
    T, k = x.size(1), w.size(1)
    t = torch.arange(T)
    want = (t[None, :] <= t[:, None]) & (t[None, :] > t[:, None] - k)  # inputs t-k+1 .. t
    problem = _explain(seen, want)
    if problem:
        return problem
    from ..blocks.conv import CausalConv1d

    conv = CausalConv1d(x.size(2), k).double()
    with torch.no_grad():
        conv.weight.copy_(w.unsqueeze(1))
        conv.bias.copy_(b)
        right = conv(x)
    if not close(y, right, atol=1e-9):
        err = (y - right).detach().abs().amax(dim=(0, 2))
        t_bad = int(err.argmax())
        return (f"the right inputs, the wrong numbers: output {t_bad} is off by {float(err[t_bad]):.3g}; "
                "check which tap multiplies which input (tap k-1 multiplies the current token) and the bias.")
    return None


@exercise("1.3", "A dilated causal convolution", hints=(
    "With dilation d, tap j looks (k-1-j)*d steps back instead of k-1-j.",
    "Shift-and-add still works: shift by (k-1-j)*d, multiply by w[:, j], add.",
))
def dilated_causal_conv(fn) -> str | None:
    """fn(x (B, T, C), w (C, k), b (C,), dilation) -> (B, T, C): taps at t, t-d, ..., t-(k-1)d."""
    for d in (1, 2, 3):
        seen, (x, w, b, y) = dependence(fn, dilation=d)
        T, k = x.size(1), w.size(1)
        t = torch.arange(T)
        back = t[:, None] - t[None, :]  # (T, T): how far input s lies behind output t
        want = (back >= 0) & (back % d == 0) & (back <= (k - 1) * d)
        problem = _explain(seen, want)
        if problem:
            return f"with dilation {d}, {problem}"
    return None
