"""Checks for the exercises of notebooks/02_global_path.ipynb (retrieval from a memory bank).

2.1 predicts where a changed token shows up: in the memory's read-out and in causal attention's;
2.2 makes retrieval sharper without a temperature, by scaling the slots; 2.3 reads off the
temperature figure of section 2 the warmest τ at which the queried pattern still gets most of
the weight. Each check recomputes the answer with gamlab (AssociativeMemory, naive_attention)
and says what is wrong in the lesson's terms.
"""

from __future__ import annotations

import math

import torch

from ..blocks.memory import AssociativeMemory
from ..blocks.transformer import naive_attention
from . import NotAnswered, as_number, as_whole, call, close, exercise, unanswered

T_SEQ, CHANGED = 10, 3  # 2.1: a sequence of T = 10 tokens (section 3's T); token 3 is changed
TEMPERATURES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)  # 2.3: the slider of section 2's figure
TARGET = 2  # 2.3: the pattern section 1's query q is a noisy copy of


def changed_positions(T: int = T_SEQ, changed: int = CHANGED, C: int = 32, S: int = 16) -> tuple[int, int]:
    """(memory, attention): at how many of T positions each one's output moves when token `changed` does.

    Measured as section 4 of the lesson measures it: one random sequence, then the same with
    token `changed` redrawn; the memory is a fresh AssociativeMemory(C, S), attention is causal
    naive_attention with queries = keys = values = the token states.
    """
    g = torch.Generator().manual_seed(2)
    h1 = torch.randn(1, T, C, generator=g, dtype=torch.float64)  # (B, T, C)
    h2 = h1.clone()
    h2[:, changed] = torch.randn(C, generator=g, dtype=torch.float64)
    memory = AssociativeMemory(C, S).double()
    with torch.no_grad():
        r1, r2 = memory(h1)[0], memory(h2)[0]  # (1, T, C)
        a1, a2 = (naive_attention(h[:, None], h[:, None], h[:, None])[:, 0] for h in (h1, h2))
    moved = lambda a, b: int(((a - b).abs().amax(-1) > 1e-9).sum())  # noqa: E731
    return moved(r1, r2), moved(a1, a2)


@exercise("2.1", "Where a changed token shows up", hints=(
    "Token t's memory weights are softmax(h_t Mᵀ): they depend on h_t and the slots M, nothing else.",
    "Causal attention's output at t reads every token s <= t, token t itself included.",
    "Count the positions whose output changes: for the memory, which positions' h changed? "
    "For attention, which positions have token 3 at or before them?",
))
def where_a_change_shows(answer) -> str | None:
    """answer: (memory, attention), how many of T = 10 outputs change when token 3 changes."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return f"give two whole numbers (memory, attention), for example (2, 5), not {answer!r}."
    if any(unanswered(a) for a in answer):
        raise NotAnswered
    mem, att = (as_whole(a) for a in answer)
    if mem is None or att is None:
        return f"give two whole numbers (memory, attention), for example (2, 5), not {tuple(answer)!r}."
    right_mem, right_att = changed_positions()
    after = T_SEQ - CHANGED  # tokens 3 .. 9
    if (mem, att) == (right_att, right_mem) and right_mem != right_att:
        return "you swapped them: the pair is (memory, attention), and the memory is the one that changes less."
    if mem != right_mem:
        if mem == after or mem == after - 1:
            return ("the memory is not attention: token t's weights are softmax(h_t Mᵀ), from h_t and the slots "
                    f"M only, so tokens after {CHANGED} read the same slots as before; only token {CHANGED}'s "
                    "own retrieval changes.")
        if mem == 0:
            return (f"token {CHANGED}'s own retrieval does change: its query h_{CHANGED} is different, so are its "
                    "weights (section 4 asserts the same for token 0).")
        if mem >= T_SEQ - 1:
            return ("the memory does not read the other tokens at all: M is the same for every sequence, so a "
                    f"change at token {CHANGED} reaches no other position's retrieval.")
        return (f"{mem} is not the memory's count: token t's weights depend on h_t and M only, so count the "
                f"positions whose own h changed.")
    if att != right_att:
        if att == after - 1:
            return (f"tokens {CHANGED + 1}..{T_SEQ - 1} read token {CHANGED}, and so does token {CHANGED} itself "
                    f"(its query, key and value changed): {right_att} positions.")
        if att == T_SEQ:
            return (f"causal attention: tokens 0..{CHANGED - 1} come before token {CHANGED} and cannot read it, "
                    "so their outputs stay as they were.")
        if att in (CHANGED, CHANGED + 1):
            return (f"you counted the positions up to token {CHANGED}; causal attention reads backwards, so the "
                    f"change shows at token {CHANGED} and at every token after it.")
        if att == 1:
            return (f"attention's output at t reads every token s <= t, not only its own: a change at token "
                    f"{CHANGED} reaches every later token too.")
        return (f"{att} is not attention's count: which positions t have token {CHANGED} among the tokens "
                "s <= t that they read?")
    return None


@exercise("2.2", "Sharper retrieval without a temperature", hints=(
    "The weights are softmax(h Mᵀ / τ). Where can the 1/τ go if h must stay as it is?",
    "h · (M[s] / τ) = (h · M[s]) / τ: scaling every slot scales every score.",
    "Return a new tensor (M / tau), do not change M in place.",
))
def bank_for_temperature(fn) -> str | None:
    """fn(M (S, C), tau) -> a new bank (S, C) whose raw retrieval softmax(h M'ᵀ) = softmax(h Mᵀ / τ)."""
    g = torch.Generator().manual_seed(2)
    S, C = 6, 32
    lengths = torch.linspace(0.5, 2.0, S, dtype=torch.float64)[:, None]  # slots of different lengths, as in GAM
    M = torch.nn.functional.normalize(torch.randn(S, C, generator=g, dtype=torch.float64), dim=-1) * lengths
    h = torch.randn(1, 8, C, generator=g, dtype=torch.float64)  # (B, T, C): 8 queries
    for tau in (0.1, 0.5, 4.0):
        given = M.clone()
        out = call(fn, given, tau)
        if not torch.equal(given, M):
            return ("you changed M in place (the caller's slots are now different); return a new tensor "
                    "and leave M as it was.")
        if not isinstance(out, torch.Tensor):
            return f"return the new bank, a tensor of shape (S, C) = {tuple(M.shape)}, not {type(out).__name__}."
        if tuple(out.shape) != tuple(M.shape):
            return f"return a bank of shape (S, C) = {tuple(M.shape)} like M, not {tuple(out.shape)}."
        out = out.detach().to(torch.float64)
        memory = AssociativeMemory(C, S).double()  # GAM's memory: raw scores, no temperature
        with torch.no_grad():
            memory.slots.copy_(out)
            got = memory.weights(h)  # (B, T, S)
        want = torch.softmax(h @ M.T / tau, dim=-1)
        if close(got, want, atol=1e-5):
            continue
        if close(out, M * tau):
            return (f"you multiplied the slots by τ: with τ = {tau} that divides the temperature instead; dividing "
                    "every score by τ means dividing every slot by τ.")
        if close(out, M / math.sqrt(tau)):
            return ("you divided the slots by √τ, half of the temperature's effect (as if h took the other half); "
                    "h is the token's state and stays as it is, so all of 1/τ goes into the slots.")
        if close(out, M):
            return f"your bank is M unchanged: its retrieval is at temperature 1, not τ = {tau}."
        norms = out.norm(dim=-1)
        if close(norms, norms[0].expand_as(norms), rtol=1e-4):
            return ("your slots all have the same length: you normalised them, which throws away the lengths that "
                    "already act as each slot's own temperature; scale every slot by the same factor instead.")
        top_got, top_want = float(got.max(-1).values.mean()), float(want.max(-1).values.mean())
        if abs(top_got - top_want) > 0.01:
            how = "softer" if top_got < top_want else "sharper"
            return (f"with τ = {tau} your bank's retrieval is {how} than temperature {tau}: the largest weight "
                    f"per query is {top_got:.3f} on average, where it should be {top_want:.3f}.")
        err = (got - want).abs()[0]  # (T, S)
        t, s = divmod(int(err.argmax()), S)
        return (f"with τ = {tau} your bank's weights are off by up to {float(err[t, s]):.2g} (query {t}, slot {s}); "
                "every score h · M[s] must be divided by τ and nothing else.")
    return None


def pattern_weights(q: torch.Tensor, M: torch.Tensor, tau: float) -> torch.Tensor:
    """The weights (P,) that retrieval at temperature tau gives query q (C,) over patterns M (P, C).

    Computed as section 3 of the lesson does: AssociativeMemory with the patterns as slots and
    the query scaled by 1/τ.
    """
    P, C = M.shape
    memory = AssociativeMemory(C, P).double()
    with torch.no_grad():
        memory.slots.copy_(M.detach().double())
        return memory.weights((q.detach().double() / tau).view(1, 1, C))[0, 0]


@exercise("2.3", "Read the temperature figure", hints=(
    "Move the slider of section 2's figure from the left (cold) to the right (hot) and watch the bar "
    "of pattern 2 (the one the query came from).",
    "More than half means w > 0.5: the tallest bar is not enough once the others share the rest.",
))
def warmest_majority(answer) -> str | None:
    """answer: (tau, q, M): the warmest τ of the slider at which pattern `target` = 2 gets w > 0.5."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 3:
        return "pass your τ along with the lesson's query and patterns: (tau, q, M)."
    tau, q, M = answer
    if unanswered(tau):
        raise NotAnswered
    if not (isinstance(q, torch.Tensor) and isinstance(M, torch.Tensor) and M.dim() == 2 and q.shape == M.shape[1:]):
        return "pass your τ along with the lesson's query q (C,) and patterns M (P, C): (tau, q, M)."
    value = as_number(tau)
    listed = [t for t in TEMPERATURES if value is not None and math.isclose(value, t, rel_tol=1e-6)]
    if not listed:
        return f"pick one of the slider's temperatures, {', '.join(f'{t:g}' for t in TEMPERATURES)}, not {tau!r}."
    tau, target = listed[0], TARGET
    w = {t: pattern_weights(q, M, t) for t in TEMPERATURES}
    majority = [t for t in TEMPERATURES if w[t][target] > 0.5]
    if not majority:
        return (f"with the q and M you passed, pattern {target} never gets more than half of the weight; "
                "pass the lesson's q and M from section 1.")
    right = max(majority)
    if tau == right:
        return None
    share = float(w[tau][target])
    if tau > right:
        tallest = int(w[tau].argmax()) == target
        return (f"at τ = {tau:g} pattern {target} gets w = {share:.3f}, less than half"
                + (" (its bar is still the tallest, but the others share the rest)" if tallest else "")
                + "; move the slider back towards the cold end.")
    return (f"at τ = {tau:g} pattern {target} does get more than half (w = {share:.3f}), but so it does at warmer "
            "temperatures; move the slider further right.")
