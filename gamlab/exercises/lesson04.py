"""Checks for the exercises of notebooks/04_gam_block.ipynb (the GAM block and the language model).

4.1 predicts the parameter difference between a GAM block and a Transformer block when the
memory grows to S = 2C slots; 4.2 counts a whole GAM language model's parameters from its
config; 4.3 writes the block's forward pass from its parts. Each check says what is wrong in
the lesson's terms (which part was left out or counted twice, which line of the block differs).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch

from ..blocks.gam import GAMBlock
from ..config import ModelConfig
from ..model import build_model
from . import call, close, exercise, one_number, whole_number

C41, S41, K41 = 512, 1024, 3  # exercise 4.1: the paper's width and kernel, the memory doubled to S = 2C


@exercise("4.1", "GAM against Transformer at S = 2C", hints=(
    "Section 2: GAM minus Transformer is C(S + k − 1 − 2C) parameters.",
    "At S = 2C the memory (SC = 2C²) and the gate (2C²) weigh exactly what attention's 4C² weighs; "
    "only the small terms are left: the conv's Ck + C and the gate's 2C biases against attention's 4C.",
))
def gam_minus_transformer(answer) -> str | None:
    """answer: GAM block minus Transformer block parameters at C = 512, S = 1024, k = 3 (signed)."""
    C, S, k = C41, S41, K41
    right = C * (S + k - 1 - 2 * C)  # +1,024
    value = one_number(answer, "give one whole number (positive when GAM has more)")
    if not value.is_integer():
        return f"parameters come in whole numbers; {answer} is not one."
    answer = int(value)
    if answer == right:
        return None
    if answer == -right:
        return (f"that is Transformer minus GAM; the question asks GAM minus Transformer, "
                f"positive when GAM has more (it has {right:,d} more).")
    if answer == 0:
        return ("at S = 2C the memory's SC and the gate's 2C² do cancel attention's 4C², but not the small "
                "terms: the conv's Ck + C and the gate's 2C biases against attention's 4C biases.")
    if answer == C * (512 + k - 1 - 2 * C):
        return f"{answer:,d} is the paper's S = 512; here the memory holds S = 1024 slots."
    if answer == C * (S + k - 2 * C):
        return ("you counted the weights and left out every bias: the conv's C and the gate's 2C against "
                "attention's 4C take C away again.")
    if answer == C * (S + k + 3 - 2 * C):
        return "you left out attention's 4C biases (q, k, v and the output projection have one each)."
    if answer == C * (S + k - 2 - 2 * C):
        return "you left out the convolution's bias (C: one per channel)."
    if answer == k - 1:
        return f"{answer} is S + k − 1 − 2C; the difference is C times that."
    if answer in (C * k + C, C * k):
        return ("that is the convolution alone; the gate's 2C biases and attention's 4C biases differ too "
                "(the 2C² and 4C² weights cancel against the memory).")
    if answer < 0:
        return (f"at S = 2C = {S} the GAM block is no longer the smaller one: S < 2C + 1 − k fails, "
                "so the difference is positive.")
    return f"{answer:,d} is not it; put C = {C}, S = {S}, k = {k} into section 2's difference C(S + k − 1 − 2C)."


# ---------------------------------------------------------------- 4.2: the whole model's parameters

def _block(C, S, k):
    return 10 * C * C + S * C + C * k + 12 * C  # conv Ck + C, memory SC, gate 2C² + 2C, norms 4C, FFN 8C² + 5C


# The typical slips: name -> (what the slip takes away from the right count, as a function of the
# config, and what to tell the student). A negative amount means the slip counts something extra.
SLIPS_42 = {
    "untied": (lambda V, T, C, L, S, k: -V * C,
               "you counted the output head's V·C weights as well; the head is tied to the token "
               "embedding (one matrix), so count V·C once"),
    "head bias": (lambda V, T, C, L, S, k: -V, "the output head has no bias"),
    "no token embedding": (lambda V, T, C, L, S, k: V * C,
                           "you left out the token embedding (V·C, shared with the head)"),
    "no positions": (lambda V, T, C, L, S, k: T * C,
                     "you left out the learned position embedding (block_size·C: one vector per position)"),
    "no final norm": (lambda V, T, C, L, S, k: 2 * C,
                      "you left out the final LayerNorm before the head (a weight and a bias: 2C)"),
    "one block": (lambda V, T, C, L, S, k: (L - 1) * _block(C, S, k),
                  "you counted one block; the model stacks L = n_layer of them"),
    "no memory": (lambda V, T, C, L, S, k: L * S * C,
                  "each block's memory bank M (S·C) is missing"),
    "conv bias": (lambda V, T, C, L, S, k: L * C, "each block's convolution bias (C) is missing"),
    "no conv": (lambda V, T, C, L, S, k: L * (C * k + C),
                "each block's convolution (Ck + C) is missing"),
    "full conv": (lambda V, T, C, L, S, k: -L * (C * C * k - C * k),
                  "the convolution is depthwise: one k-tap filter per channel (Ck), not C·C·k"),
    "one gate": (lambda V, T, C, L, S, k: L * (C * C + C),
                 "the gate is Linear(C → 2C), one gate per path (2C² + 2C), not C → C"),
    "no gate": (lambda V, T, C, L, S, k: L * (2 * C * C + 2 * C), "each block's gate (2C² + 2C) is missing"),
    "2C": (lambda V, T, C, L, S, k: L * 2 * C,
           "each block is 2C short: its gate's bias (2C), or one of its two LayerNorms (before the paths "
           "and before the FFN, 2C each)"),
    "no norms": (lambda V, T, C, L, S, k: L * 4 * C,
                 "each block's two LayerNorms (a weight and a bias each: 4C) are missing"),
    "ffn biases": (lambda V, T, C, L, S, k: L * 5 * C, "each block's FFN biases (4C + C) are missing"),
    "ffn one linear": (lambda V, T, C, L, S, k: L * (4 * C * C + C),
                       "the FFN has two Linears, C → 4C and 4C → C (8C² + 5C)"),
    "no ffn": (lambda V, T, C, L, S, k: L * (8 * C * C + 5 * C), "each block's FFN (8C² + 5C) is missing"),
    "no biases": (lambda V, T, C, L, S, k: L * 8 * C,
                  "each block's biases are missing (conv C, gate 2C, FFN 4C + C)"),
}

CONFIGS_42 = (  # small and uneven on purpose, so that no two slips take away the same amount everywhere
    dict(vocab_size=50, block_size=16, d_model=8, n_layer=3, n_slots=5, conv_kernel=4),
    dict(vocab_size=37, block_size=11, d_model=12, n_layer=2, n_slots=9, conv_kernel=3),
    dict(vocab_size=29, block_size=24, d_model=4, n_layer=5, n_slots=7, conv_kernel=2),
)


@exercise("4.2", "Count a whole GAM language model", hints=(
    "The shell (section 3): token embedding V·C, position embedding block_size·C, L blocks, a final "
    "LayerNorm (2C), and a head tied to the token embedding (nothing new).",
    "One block (section 2): conv Ck + C, memory SC, gate 2C² + 2C, two LayerNorms 4C, FFN 8C² + 5C.",
    "With the paper's config your function should give 22,599,680.",
))
def lm_params(fn) -> str | None:
    """fn(config: ModelConfig) -> the parameter count of build_model("gam", config)."""
    rows = []  # (dims, right, answer) per config
    for dims in CONFIGS_42:
        config = ModelConfig(n_head=1, dropout=0.0, **dims)
        out = call(fn, config)
        got = whole_number(out, "return one whole number of parameters", floats=True)  # 12.0 is fine too
        right = build_model("gam", config).num_params()
        rows.append((tuple(dims.values()), right, got))  # dims in the slips' order: V, T, C, L, S, k
    if all(got == right for _, right, got in rows):
        return None
    for n in (1, 2):  # one slip, then two at once
        for names in itertools.combinations(SLIPS_42, n):
            if all(right - got == sum(SLIPS_42[s][0](*dims) for s in names) for dims, right, got in rows):
                return "; and ".join(SLIPS_42[s][1] for s in names) + "."
    (V, T, C, L, S, k), right, got = rows[0]
    return (f"with V = {V}, block_size = {T}, C = {C}, L = {L}, S = {S}, k = {k} you count {got:,d} "
            f"where the model has {right:,d} ({got - right:+,d}); count the shell and one block part by part.")


# ---------------------------------------------------------------- 4.3: the block's forward from its parts

class _CalledTheBlock(Exception):
    pass


class _PartsOnly(GAMBlock):
    """A GAM block whose own forward is off limits: the exercise is to write it."""

    def forward(self, x):
        raise _CalledTheBlock


def _variants(block: GAMBlock, x: torch.Tensor) -> dict[str, tuple[Callable[[], torch.Tensor], str]]:
    """The right output and the typical wrong ones, each computed on demand, with what to tell the student."""
    M = block.memory.slots  # (S, C)

    def update(h, sig=torch.sigmoid, dim=-1, soft=True, scale=1.0, swap=False, paths="both", gated=True):
        local = block.conv(h)  # (B, T, C)
        scores = (h @ M.T) * scale  # (B, T, S)
        glob = (torch.softmax(scores, dim=dim) if soft else scores) @ M  # (B, T, C)
        g_l, g_g = block.gate(h).chunk(2, dim=-1)
        if swap:
            g_l, g_g = g_g, g_l
        if not gated:
            return local + glob
        parts = {"both": sig(g_l) * local + sig(g_g) * glob, "local": sig(g_l) * local, "global": sig(g_g) * glob}
        return parts[paths]

    def finish(x1):
        return x1 + block.ffn(block.norm2(x1))

    def post_norm():
        x1 = block.norm1(x + update(x))
        return block.norm2(x1 + block.ffn(x1))

    h = block.norm1(x)
    x1 = x + update(h)
    C = x.size(-1)
    return {
        "right": (lambda: finish(x1), ""),
        "no residual 1": (lambda: finish(update(h)), "the paths' update is added to the residual stream "
                          "(x + ...), not put in its place"),
        "no residual 2": (lambda: block.ffn(block.norm2(x1)), "the FFN's output is added to x too: "
                          "x + FFN(LayerNorm2(x)), its own residual"),
        "no ffn": (lambda: x1, "you stopped after the two paths; the block ends with x + FFN(LayerNorm2(x))"),
        "ffn without norm": (lambda: x1 + block.ffn(x1), "the FFN reads LayerNorm2(x), not x (pre-norm)"),
        "ffn reads h": (lambda: x1 + block.ffn(block.norm2(h)), "the FFN reads LayerNorm2 of the updated x, "
                        "after the paths were added, not of h"),
        "post-norm": (post_norm, "that is a post-norm block (LayerNorm after each residual add); the paper's "
                      "block is pre-norm: norm first, add the result to x"),
        "paths read x": (lambda: finish(x + update(x)), "both paths and the gate read h = LayerNorm1(x), not x"),
        "swapped gates": (lambda: finish(x + update(h, swap=True)), "the gates are swapped: the first half of "
                          "gate(h) gates the local path, the second half the global path"),
        "no sigmoid": (lambda: finish(x + update(h, sig=lambda g: g)), "the gates are σ(g_l) and σ(g_g): "
                       "pass the gate's logits through a sigmoid"),
        "sum": (lambda: finish(x + update(h, gated=False)), "you added the two paths without their gates "
                "(that is Lesson 3's sum fusion); multiply each by its sigmoid gate"),
        "softmax over T": (lambda: finish(x + update(h, dim=1)), "your softmax runs over the T tokens (which "
                           "lets a token see the future); retrieval weights are a softmax over the S slots "
                           "(dim=-1)"),
        "no softmax": (lambda: finish(x + update(h, soft=False)), "the global path reads softmax(h @ M.T) @ M; "
                       "without the softmax the weights do not add up to 1"),
        "scaled": (lambda: finish(x + update(h, scale=C ** -0.5)), "the paper's retrieval does not divide the "
                   "scores by √C: softmax(h @ M.T) @ M"),
        "only local": (lambda: finish(x + update(h, paths="local")), "the global path is missing: "
                       "add σ(g_g) * (softmax(h @ M.T) @ M)"),
        "only global": (lambda: finish(x + update(h, paths="global")), "the local path is missing: "
                        "add σ(g_l) * conv(h)"),
    }


@exercise("4.3", "The block's forward from its parts", hints=(
    "Section 1 lists the block line by line: h = LayerNorm1(x), then local, global and the two gates "
    "from h, then two residual adds.",
    "The parts: block.norm1, block.conv (takes and returns (B, T, C)), block.memory.slots (M, (S, C)), "
    "block.gate (C → 2C), block.norm2, block.ffn.",
    "g_l, g_g = block.gate(h).chunk(2, dim=-1); global = torch.softmax(h @ M.T, dim=-1) @ M.",
))
def block_forward(fn) -> str | None:
    """fn(block: GAMBlock, x (B, T, C)) -> (B, T, C), the block's output, without calling block(x)."""
    g = torch.Generator().manual_seed(4)
    B, T, C, S, k = 2, 7, 8, 5, 3
    with torch.random.fork_rng(devices=[]):  # the block's own initialisation, leaving the notebook's seed alone
        torch.manual_seed(4)
        block = _PartsOnly(ModelConfig(d_model=C, n_slots=S, conv_kernel=k, n_head=1, dropout=0.0))
    block = block.double().eval()
    with torch.no_grad():  # LayerNorms away from 1 and 0, so that every norm shows in the output
        for norm in (block.norm1, block.norm2):
            norm.weight.copy_(1 + 0.3 * torch.randn(C, generator=g, dtype=torch.float64))
            norm.bias.copy_(0.3 * torch.randn(C, generator=g, dtype=torch.float64))
    x = 2 * torch.randn(B, T, C, generator=g, dtype=torch.float64) + 0.5  # (B, T, C), not normalised
    try:
        with torch.no_grad():
            y = call(fn, block, x.clone())
    except _CalledTheBlock:
        return "you called block(x), the library's forward; write it from the block's parts (block.norm1, ...)."
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        got = f"shape {tuple(y.shape)}" if isinstance(y, torch.Tensor) else type(y).__name__
        return f"return the block's output, a (B, T, C) = {tuple(x.shape)} tensor, not {got}."
    y = y.detach().double()
    with torch.no_grad():
        variants = _variants(block, x)
        for name, (output, message) in variants.items():  # the right one first: usually the only one run
            if close(y, output(), atol=1e-6):
                return None if name == "right" else message + "."
        right = variants["right"][0]()
    err = (y - right).abs().amax(dim=(0, 2))  # (T,): the worst channel at each token
    t = int((err > 1e-6).nonzero()[0])
    return (f"your block's output differs from the GAM block's from token {t} on (by {float(err[t]):.3g} there, "
            f"up to {float(err.max()):.3g}); compare your lines with section 1's, one at a time.")
