"""Checks for the exercises of notebooks/03_gating.ipynb (gated fusion of the two paths).

3.1 predicts one channel's update from its two gate logits (two independent sigmoids, not a
softmax); 3.2 writes the whole gate, logits and fusion, from plain tensor operations; 3.3 reads
the gate's parameter count off the lesson's ablation table. Symbols as in gamlab/blocks/gating.py:
h the normalised state (B, T, C), W (2C, C) and b (2C,) the gate's Linear, g_l and g_g the two
halves of its logits, σ the sigmoid.
"""

from __future__ import annotations

import math

import torch

from . import Wrong, call, close, exercise, one_number, whole_number

# 3.1's channel: the local path says 2, the global path says 6; g_l = 0 (undecided), g_g = 10 (wide open)
LOCAL_31, GLOBAL_31, G_L_31, G_G_31 = 2.0, 6.0, 0.0, 10.0


@exercise("3.1", "One channel's update", hints=(
    "Each path has its own gate: σ(g_l) multiplies local, σ(g_g) multiplies global; nothing makes them add up to 1.",
    "σ(0) = 1/2 and σ(10) ≈ 0.99995 (section 1's table); then add the two gated paths.",
))
def one_channel_update(answer) -> str | None:
    """answer: σ(g_l)·local + σ(g_g)·global for local = 2, global = 6, g_l = 0, g_g = 10 (about 7.00)."""
    value = one_number(answer, "give one number (the update added to this channel)")
    s = torch.sigmoid(torch.tensor([G_L_31, G_G_31], dtype=torch.float64)).tolist()  # [σ(g_l), σ(g_g)]
    right = s[0] * LOCAL_31 + s[1] * GLOBAL_31
    softmax = torch.softmax(torch.tensor([G_L_31, G_G_31], dtype=torch.float64), 0).tolist()

    def near(x: float) -> bool:
        return math.isclose(value, x, abs_tol=0.01)

    if near(right):
        return None
    if near(softmax[0] * LOCAL_31 + softmax[1] * GLOBAL_31):  # also global alone, or σ(0) taken as 0
        return (f"{value:g} is the global path alone, as a softmax over the two paths would give (the large g_g "
                f"takes the weight from local); GAM's gates are two independent sigmoids, and σ(g_l) = σ(0) = 1/2, "
                f"so half of local = {LOCAL_31:g} still passes.")
    if near(s[1] * LOCAL_31 + s[0] * GLOBAL_31):
        return (f"you gated local with σ(g_g) and global with σ(g_l); g_l gates the local path and g_g the global "
                f"one, so σ(10) ≈ 1 multiplies global = {GLOBAL_31:g}.")
    if near(LOCAL_31 + GLOBAL_31):
        return (f"{value:g} = local + global is the 'sum' ablation, with no gates; GAM multiplies each path by "
                f"its gate first, and σ(g_l) = σ(0) = 1/2.")
    if near(G_L_31 * LOCAL_31 + G_G_31 * GLOBAL_31):
        return "you used the logits as the weights; a gate is σ(logit), a number in (0, 1): σ(0) = 1/2, σ(10) ≈ 1."
    if near(0.5 * (LOCAL_31 + GLOBAL_31)):
        return (f"{value:g} gives both paths the weight 1/2; σ(g_l) = σ(0) = 1/2 is right, but g_g = 10 opens "
                f"the global gate almost fully: σ(10) ≈ 0.99995.")
    if near(s[0] * LOCAL_31):
        return f"{value:g} = σ(g_l)·local is only the local path; add σ(g_g)·global ≈ {s[1] * GLOBAL_31:.2f}."
    if near(s[1] * GLOBAL_31):
        return f"{value:g} = σ(g_g)·global is only the global path; add σ(g_l)·local = {s[0] * LOCAL_31:g}."
    return f"{value:g} is not it; compute σ(g_l)·local + σ(g_g)·global with σ(0) = 1/2 and σ(10) ≈ 0.99995."


def _gate_inputs(B: int = 2, T: int = 5, C: int = 4, seed: int = 3):
    """h (B, T, C), W (2C, C), b (2C,), local and global_ (B, T, C) kept away from zero; float64."""
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(B, T, C, generator=g, dtype=torch.float64)
    W = torch.randn(2 * C, C, generator=g, dtype=torch.float64)
    b = torch.randn(2 * C, generator=g, dtype=torch.float64) + 1.0  # a bias too large to miss
    sign = torch.randint(0, 2, (2, B, T, C), generator=g).double() * 2 - 1
    local, global_ = sign * (torch.rand(2, B, T, C, generator=g, dtype=torch.float64) + 0.5)
    return h, W, b, local, global_


def _weights(h, W, b):
    """What a path might be multiplied by, (B, T, C) each: the right gates and the usual slips."""
    logits = h @ W.T + b  # (B, T, 2C), what nn.Linear computes
    g_l, g_g = logits.chunk(2, dim=-1)
    n_l, n_g = (h @ W.T).chunk(2, dim=-1)  # no bias
    pair = torch.softmax(torch.stack([g_l, g_g]), dim=0)  # a softmax over the two paths
    every = torch.softmax(logits, dim=-1).chunk(2, dim=-1)  # a softmax over all 2C logits
    odd = logits[..., 0::2].sigmoid(), logits[..., 1::2].sigmoid()  # interleaved halves
    return {
        "σ(g_l)": g_l.sigmoid(), "σ(g_g)": g_g.sigmoid(),
        "no bias l": n_l.sigmoid(), "no bias g": n_g.sigmoid(),
        "g_l": g_l, "g_g": g_g, "1": torch.ones_like(g_l), "0": torch.zeros_like(g_l),
        "1-σ(g_l)": 1 - g_l.sigmoid(),
        "softmax l": pair[0], "softmax g": pair[1], "softmax2C l": every[0], "softmax2C g": every[1],
        "interleaved l": odd[0], "interleaved g": odd[1],
    }


PAIR_SOFTMAX = ("your two weights add up to 1, a softmax over the two paths; GAM uses two independent "
                "sigmoids, σ(g_l) and σ(g_g) (the Think! of section 2).")
ALL_SOFTMAX = "you took a softmax over the 2C logits; each gate is its own sigmoid, "
CHUNK = "g_l is the first C logits and g_g the last C (chunk, not interleave)."
PATH_SLIPS = {  # (path, what it is multiplied by) -> what is wrong, in the lesson's terms
    ("local", "σ(g_g)"): "your local path is gated by σ(g_g), the last C logits; its gate is σ(g_l), the first C.",
    ("global", "σ(g_l)"): "your global path is gated by σ(g_l), the first C logits; its gate is σ(g_g), the last C.",
    ("local", "no bias l"): "your gate leaves out the bias b: the logits are h @ W.T + b, as nn.Linear computes them.",
    ("global", "no bias g"): "your gate leaves out the bias b: the logits are h @ W.T + b, as nn.Linear computes them.",
    ("local", "g_l"): "you multiplied local by the logit g_l itself; a gate is σ(g_l), a number in (0, 1).",
    ("global", "g_g"): "you multiplied global by the logit g_g itself; a gate is σ(g_g), a number in (0, 1).",
    ("local", "1"): "your local path passes ungated (weight 1), as in the 'sum' ablation; multiply it by σ(g_l).",
    ("global", "1"): "your global path passes ungated (weight 1), as in the 'sum' ablation; multiply it by σ(g_g).",
    ("local", "0"): "your update ignores the local path; add σ(g_l) · local.",
    ("global", "0"): "your update ignores the global path; add σ(g_g) · global_.",
    ("global", "1-σ(g_l)"): ("you gate global with 1 − σ(g_l), one gate that trades one path for the other; "
                             "GAM gives global its own gate σ(g_g), so a channel can take both paths or neither."),
    ("local", "softmax l"): PAIR_SOFTMAX, ("global", "softmax g"): PAIR_SOFTMAX,
    ("local", "softmax2C l"): ALL_SOFTMAX + "σ(g_l) = 1 / (1 + e^(−g_l)).",
    ("global", "softmax2C g"): ALL_SOFTMAX + "σ(g_g) = 1 / (1 + e^(−g_g)).",
    ("local", "interleaved l"): "you took every other logit for g_l; " + CHUNK,
    ("global", "interleaved g"): "you took every other logit for g_g; " + CHUNK,
}
RIGHT_GATE = {"local": "σ(g_l)", "global": "σ(g_g)"}


def _path_weight(out: torch.Tensor, signal: torch.Tensor, weights: dict, path: str, ignored: bool) -> str | None:
    """Which candidate weight multiplies `signal` in `out` (the other path set to zero); None when the right one.

    ignored: whether the full update is the other path's alone (so a zero here means the path is left out).
    """
    if close(out, weights[RIGHT_GATE[path]] * signal, atol=1e-9):
        return None
    for (p, name), problem in PATH_SLIPS.items():
        if p == path and (name != "0" or ignored) and close(out, weights[name] * signal, atol=1e-9):
            return problem
    err = (out - weights[RIGHT_GATE[path]] * signal).abs()
    b, t, c = (int(i) for i in torch.unravel_index(err.argmax(), err.shape))
    other = "global_" if path == "local" else "local"
    return (f"with {other} = 0 your update should be {RIGHT_GATE[path]} · {path}; at token {t}, channel {c} "
            f"(batch {b}) it is {float(out[b, t, c]) + 0.0:.4g} where {RIGHT_GATE[path]} · {path} is "
            f"{float(weights[RIGHT_GATE[path]][b, t, c] * signal[b, t, c]):.4g}.")


def _run(fn, h, W, b, local, global_) -> torch.Tensor:
    """fn on copies of the inputs, its output checked to be a (B, T, C) tensor."""
    y = call(fn, h.clone(), W.clone(), b.clone(), local.clone(), global_.clone())
    if not isinstance(y, torch.Tensor):
        raise Wrong(f"your function should return a tensor (B, T, C), not a {type(y).__name__}.")
    return y


@exercise("3.2", "The gate, from plain tensor operations", hints=(
    "Like nn.Linear: logits = h @ W.T + b, shape (B, T, 2C). The first C are g_l, the last C are g_g.",
    "logits.chunk(2, dim=-1) splits them; torch.sigmoid turns each into a gate in (0, 1).",
    "update = σ(g_l) * local + σ(g_g) * global_, every product elementwise: (B, T, C).",
))
def gated_update(fn) -> str | None:
    """fn(h (B, T, C), W (2C, C), b (2C,), local (B, T, C), global_ (B, T, C)) -> update (B, T, C)."""
    h, W, b, local, global_ = _gate_inputs()
    C = h.size(-1)
    try:
        y = _run(fn, h, W, b, local, global_)
    except RuntimeError as exc:
        if "cannot be multiplied" not in str(exc):
            raise
        return (f"your answer raised RuntimeError: {exc}; W is (2C, C) like nn.Linear's weight, "
                "so the logits are h @ W.T + b.")
    if y.shape != local.shape:
        if y.shape == (*local.shape[:-1], 2 * C):
            return (f"your update has 2C = {2 * C} channels; split the logits into g_l and g_g (C = {C} each) "
                    "and add the two gated paths, so the update has C channels like local and global_.")
        return f"your update has shape {tuple(y.shape)}; it should be (B, T, C) = {tuple(local.shape)}, like local."
    from ..blocks.gating import fuse

    right, _ = fuse("gated", h @ W.T + b, local, global_)
    if close(y, right, atol=1e-9):
        return None
    weights = _weights(h, W, b)
    zero = torch.zeros_like(local)
    only_l, only_g = _run(fn, h, W, b, local, zero), _run(fn, h, W, b, zero, global_)
    swapped = (close(only_l, weights["σ(g_g)"] * local, atol=1e-9)
               and close(only_g, weights["σ(g_l)"] * global_, atol=1e-9))
    if swapped:
        return ("your gates are swapped: g_l, the first C logits, gates local and g_g, the last C, gates global "
                "(logits.chunk(2, dim=-1) gives them in that order).")
    if close(y, weights["σ(g_l)"] * local * weights["σ(g_g)"] * global_, atol=1e-9):
        return ("you multiplied the two gated paths; the update adds them: σ(g_l) · local + σ(g_g) · global_, "
                "so that either path alone still reaches the residual stream.")
    problem = (_path_weight(only_l, local, weights, "local", close(y, only_g, atol=1e-9))
               or _path_weight(only_g, global_, weights, "global", close(y, only_l, atol=1e-9)))
    if problem:
        return problem
    err = (y - right).abs()
    bb, t, c = (int(i) for i in torch.unravel_index(err.argmax(), err.shape))
    return (f"each path alone is right, but together they are not: at token {t}, channel {c} your update is "
            f"{float(y[bb, t, c]):.4g} where σ(g_l)·local + σ(g_g)·global is {float(right[bb, t, c]):.4g}; "
            "add the two gated paths.")


def _block_params(fusion: str):
    """Parameters of one block of the tiny preset with this fusion (the rows of section 4's table)."""
    from ..blocks.gam import GAMBlock
    from ..config import ModelConfig

    return sum(p.numel() for p in GAMBlock(ModelConfig.preset("tiny", fusion=fusion)).parameters())


WHAT_ELSE_GOES = {  # fusion -> what gam minus gam-<fusion> removes besides the gate
    "local": "the memory bank (S·C slots) and keeps a one-path gate Linear(C, C)",
    "global": "the convolution (C·k + C) and keeps a one-path gate Linear(C, C)",
    "local-nogate": "the memory bank (S·C slots)",
    "global-nogate": "the convolution (C·k weights and C biases)",
}


@exercise("3.3", "What the gate costs", hints=(
    "Compare two rows of the table that differ only in the gate: both paths, with and without it.",
    "gam and gam-sum both keep the convolution and the memory; gam-sum drops only the gate Linear(C, 2C).",
    "A Linear(C, 2C) holds a (2C, C) weight and 2C biases.",
))
def gate_cost(answer) -> str | None:
    """answer: parameters the gated fusion's gate adds to one block of the tiny preset (C = 64)."""
    from ..config import FUSIONS, ModelConfig

    C = ModelConfig.preset("tiny").d_model
    answer = whole_number(answer, "give a whole number of parameters")
    rows = {fusion: _block_params(fusion) for fusion in FUSIONS}
    right = rows["gated"] - rows["sum"]
    if answer == right:
        return None
    if answer == 2 * C * C:
        return (f"{answer:,} counts the weight W (2C × C) but not the bias: the gate adds 2C = {2 * C} more, "
                "one per logit.")
    if answer == C * C + C:
        return (f"{answer:,} is a one-path gate, Linear(C, C) (fusion 'local' or 'global'); the gated fusion's "
                "gate makes 2C logits, g_l and g_g.")
    if answer == C * C:
        return f"{answer:,} = C·C is half of the gate's weight (2C × C), without its 2C biases."
    if answer == rows["gated"]:
        return f"{answer:,} is the whole gam block; subtract the row without the gate (gam-sum)."
    if answer == rows["sum"]:
        return f"{answer:,} is the gam-sum block, the one without the gate; the gate is the difference to gam."
    for fusion, what in WHAT_ELSE_GOES.items():
        if answer == rows["gated"] - rows[fusion]:
            return (f"gam minus gam-{fusion} also drops {what}; compare gam with gam-sum, which keeps both paths "
                    "and drops only the gate.")
    return (f"{answer:,} is not it; subtract gam-sum's row from gam's in section 4's table, and check it against "
            f"the gate's shape, Linear(C, 2C) with C = {C}.")
