"""Checks for the exercises of notebooks/00_why_linear_time.ipynb (counting a block's work).

0.1 writes the forward FLOPs per token of a GAM block from its parts; 0.2 predicts the length
where the naive attention block's count passes GAM's. The right answers come from the blocks'
own counts (gamlab.experiments.bench.flops, each block's flops_per_token), so the lesson's
formula and the library's cannot drift apart.
"""

from __future__ import annotations

import math

from ..experiments.bench import flops
from . import as_number, call, exercise, whole_number

SIZES = ((96, 500), (64, 200), (256, 1000))  # (C, S) for 0.1: no two of its terms equal
CROSS_C, CROSS_S = 256, 512  # 0.2's block: width C, S slots, kernel k = 3


def gam_count(C: int, S: int) -> float:
    """Forward FLOPs per token of gamlab's GAM block (kernel k = 3), from its own count."""
    T = 64  # GAM's count does not depend on T
    return flops("gam", T, batch=1, d_model=C, n_slots=S) / (3 * T)


@exercise("0.1", "GAM's work per token", hints=(
    "A matrix product (m, n) @ (n, p) costs 2mnp: one multiply and one add per term.",
    "Per token: the gates map C to 2C, the FFN C to 4C and back, the slots cost a score and a "
    "read-out of 2SC each, and the convolution 2kC.",
    "Forward only: the measured step's 3x (forward + backward) is not part of this count.",
))
def gam_flops_per_token(fn) -> str | None:
    """fn(C, S, k) -> forward FLOPs per token of one GAM block (width C, S slots, kernel k)."""
    for C, S in SIZES:
        k = 3
        out = call(fn, C, S, k)
        value = as_number(out)
        if value is None:
            return f"return one number (FLOPs per token), not {out!r}."
        right = gam_count(C, S)
        if math.isclose(value, right, rel_tol=1e-9):
            continue
        at = f"at C = {C}, S = {S}, k = {k}"
        wrong = {
            right / 2: "you counted multiply-adds; a matmul (m, n) @ (n, p) costs 2mnp operations, "
                       "a multiply and an add per term.",
            3 * right: "that is forward + backward (3 x the forward); count the forward only.",
            right - 16 * C * C: "the feed-forward network is missing: C -> 4C -> C costs 2·4C² twice, 16C².",
            right - 12 * C * C: "your feed-forward network costs 4C²; it maps C -> 4C -> C: 2·C·4C twice, 16C².",
            right - 2 * C * C: "your gates cost 2C²; one Linear maps C to 2C (a gate for each path): 4C².",
            right - 4 * C * C: "the gate projection C -> 2C (4C²) is missing.",
            right - 2 * S * C: "you counted the slots once; the scores h Mᵀ and the read-out w M cost 2SC each.",
            right - 4 * S * C: "the memory's work is missing: scores and read-out against S slots, 2SC each.",
            right - 2 * k * C: "the convolution is missing: k taps per channel, 2kC.",
            right - 2 * k * C + 2 * k * C * C: "your convolution mixes channels (2kC²); GAM's is depthwise: "
                                               "each channel has its own k taps, 2kC.",
        }
        for v, says in wrong.items():
            if math.isclose(value, v, rel_tol=1e-9):
                return f"{at}: {says}"
        return (f"{at} your count is {value:,.0f} where the block counts {right:,.0f}; add the gates, "
                "the feed-forward network, the slots' scores and read-out, and the convolution.")
    return None


def crossover() -> int:
    """The shortest T at which the naive attention block's count exceeds GAM's (CROSS_C, CROSS_S)."""
    T = 1
    while flops("transformer-naive", T, 1, CROSS_C, CROSS_S) <= flops("gam", T, 1, CROSS_C, CROSS_S):
        T += 1
    return T


@exercise("0.2", "Where attention's count passes GAM's", hints=(
    "Set the two forward counts per token equal: 24C² + 4TC (naive) and 20C² + 4SC + 2kC (GAM).",
    "Solve for T: T = S − C + k/2. The answer is the first whole T above it.",
))
def crossover_length(answer) -> str | None:
    """answer: the shortest length T at which a naive attention block (C = 256) does more work
    per token than a GAM block (C = 256, S = 512, k = 3)."""
    right = crossover()  # 258: the counts are equal at T = S - C + k/2 = 257.5
    answer = whole_number(answer, "give a whole number of tokens T")
    if answer == right:
        return None
    if answer == CROSS_S - CROSS_C:
        return (f"S − C = {answer} is the rough crossover; the convolution's 2kC moves it by k/2 = 1.5: "
                "the counts are equal at T = 257.5.")
    if answer == right - 1:
        return (f"at T = {answer} naive attention still does less work per token (2C fewer FLOPs): "
                "the counts are equal at T = 257.5, so the first length past it is the answer.")
    if answer in (2 * (CROSS_S - CROSS_C), 2 * (CROSS_S - CROSS_C) + 3):
        return "that is where the fused kernel passes GAM (it skips the masked half); this asks for the naive form."
    return f"{answer} is not it; set 24C² + 4TC equal to 20C² + 4SC + 2kC with C = 256, S = 512, k = 3."
