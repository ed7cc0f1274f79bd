"""Checks for the exercises of notebooks/07_beyond_the_paper.ipynb (recall, a memory the sequence writes).

Shapes as in gamlab/blocks/fastweight.py: B batch, nh heads, T tokens, hs channels per head; q and k
arrive already feature-mapped (phi = elu + 1), so every q_t . k_s is positive.
"""

from __future__ import annotations

import torch

from ..blocks.conv import receptive_field
from ..blocks.fastweight import feature_map, memory_sequential, read_weights
from ..training.tasks import MQAR
from . import call, close, exercise, one_number

# 7.1's setting: the tiny preset's GAM (L = 2, k = 3) on MQAR with every query 8 or more tokens after its key
TASK_71 = MQAR(seq_len=64, n_pairs=4, vocab_size=64, min_gap=8)
REACH_71 = receptive_field(2, 3)  # 5 tokens: t-4 .. t
N_VALUES_71 = TASK_71.vocab_size - 2 - TASK_71.n_keys  # 31 values; chance is 1 / 31


@exercise("7.1", "GAM's recall beyond its reach", hints=(
    "At a query, which inputs can the tiny GAM see? Its convolutions reach L(k-1)+1 = 5 tokens back, "
    "and its bank M is the same for every sequence.",
    "The value to recall sits 7 or more tokens before the query, so the model sees no pair at all: "
    "what is the best a guess can do among the 31 values?",
))
def gam_beyond_reach(answer) -> str | None:
    """answer: the fraction of queries (0..1) the tiny GAM answers right after any amount of training."""
    chance = 1 / N_VALUES_71
    answer = one_number(answer, "give a fraction of the queries between 0 and 1, such as 0.5")
    if 1 < answer <= 100:
        return f"give a fraction between 0 and 1, not a percentage: {answer:g}% is {answer / 100:g}."
    if not 0 <= answer <= 1:
        return f"{answer:g} is not a fraction of the queries; give a number between 0 and 1."
    if abs(answer - chance) <= 0.006:
        return None
    if answer >= 0.9:
        return ("more training cannot help: the query's pair lies beyond the convolutions' reach of 5 tokens "
                "and the bank M is the same for every sequence, so the gradient from the query to its pair is "
                "exactly zero (section 2); no weight can carry this sequence's pairs to the query.")
    if abs(answer - 1 / TASK_71.n_pairs) <= 0.006:
        return ("1 / pairs is the plateau of a model that has seen the sequence and guesses one of its values; "
                "GAM cannot even see which values this sequence holds: they lie beyond its 5-token reach.")
    if answer == 0:
        return (f"never right is too pessimistic: the argmax always names some value, and a blind guess "
                f"is right once in {N_VALUES_71} (training teaches the model that answers are values).")
    if abs(answer - 1 / TASK_71.vocab_size) <= 0.004:
        return (f"1 / {TASK_71.vocab_size} guesses among every token of the vocabulary; training teaches the model "
                f"that answers are values, and there are {N_VALUES_71} of them.")
    return (f"{answer:g} is not it; ask what the model sees at a query (its last {REACH_71} tokens, section 2) "
            f"and what the best guess is when none of them is the pair.")


def _inputs(T: int = 10, seed: int = 0):
    """Feature-mapped q, k and a v: (B, nh, T, hs) = (1, 2, T, 4), float64, k and v tracking gradients."""
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(1, 2, T, 4, generator=g, dtype=torch.float64) for _ in range(3))
    return feature_map(q), feature_map(k).requires_grad_(), v.requires_grad_()


def _shape(out, want: tuple[int, ...], what: str) -> str | None:
    if not isinstance(out, torch.Tensor):
        return f"your function returned a {type(out).__name__}; return a {what} tensor of shape {want}."
    if tuple(out.shape) != want:
        return f"your function returned shape {tuple(out.shape)}; expected {what} = {want}."
    return None


def _reads(out: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(T, T) bool: reads[t, s] when output t changes with token s's key or value (gradients)."""
    T = out.size(2)
    rows = []
    for t in range(T):
        grads = torch.autograd.grad(out[:, :, t].sum(), (k, v), retain_graph=True, allow_unused=True)
        rows.append(sum((gr.abs().sum(dim=(0, 1, 3)) if gr is not None else torch.zeros(T, dtype=k.dtype))
                        for gr in grads) > 0)
    return torch.stack(rows)


def _explain_reads(reads: torch.Tensor, who: str) -> str | None:
    """The first query whose reach differs from s <= t, in the lesson's words."""
    T = reads.size(0)
    for t in range(T):
        future = [s for s in range(t + 1, T) if reads[t, s]]
        if future:
            return f"in {who}, query {t} reads token {future[0]} (the future): only tokens s <= t are written yet."
        if not reads[t, t]:
            return (f"in {who}, query {t} does not read token {t} itself: token t writes before it reads, "
                    "so F_t includes s = t.")
        missing = [s for s in range(t) if not reads[t, s]]
        if missing:
            return f"in {who}, query {t} does not read token {missing[0]}, which was written before it."
    return None


@exercise("7.2", "The fast-weight memory, one token at a time", hints=(
    "Keep two running sums per head: the state F (hs x hs), to which token t adds the outer product "
    "phi(kappa_t) v_t^T, and z (hs), to which it adds phi(kappa_t).",
    "After writing token t, read: num = phi(q_t) F_t (a (1, hs) @ (hs, hs) product), "
    "den = phi(q_t) . z_t, and output t is num / den.",
    "kappa[:, :, t, :, None] * v[:, :, t, None, :] is the outer product for every batch and head at once; "
    "torch.stack(outputs, dim=2) gives (B, nh, T, hs).",
))
def fast_weight_loop(fn) -> str | None:
    """fn(q, kappa, v) -> (B, nh, T, hs): phi(q_t) F_t / (phi(q_t) . z_t), q and kappa already feature-mapped."""
    q, k, v = _inputs()
    out = call(fn, q, k, v)
    problem = _shape(out, tuple(q.shape), "(B, nh, T, hs)")
    if problem:
        return problem
    if out.requires_grad:
        problem = _explain_reads(_reads(out, k, v), "your memory")
        if problem:
            return problem
    out, right = out.detach(), memory_sequential(q, k.detach(), v.detach())
    if close(out, right, rtol=1e-4, atol=1e-6):
        return None
    kd, vd = k.detach(), v.detach()
    state = torch.einsum("bhsi,bhsj->bhsij", kd, vd).cumsum(2)  # (B, nh, T, hs, hs): F_t for every t
    unnormalised = torch.einsum("bhti,bhtij->bhtj", q, state)
    if close(out, unnormalised, rtol=1e-4):
        return ("you did not divide by phi(q_t) . z_t: without it the read grows with every token written; "
                "keep z_t = sum of phi(kappa_s) and divide, so the output is a weighted average of the values.")
    transposed = torch.einsum("bhtj,bhtij->bhti", q, state) / (q * kd.cumsum(2)).sum(-1, keepdim=True)
    if close(out, transposed, rtol=1e-4):
        return ("your state is transposed: write phi(kappa_s) v_s^T (key along the rows, value along the columns), "
                "so that the query's row vector times F_t gives back a value.")
    err = (out - right).abs().amax(dim=(0, 1, 3))
    t = int(err.argmax())
    return (f"the right tokens, the wrong numbers: output {t} is off by {float(err[t]):.3g}; "
            "check the write phi(kappa_t) v_t^T, the read phi(q_t) F_t and the normaliser phi(q_t) . z_t "
            "(q and kappa arrive already feature-mapped: do not apply phi again).")


@exercise("7.3", "The read weights: a causal mask and a row sum", hints=(
    "Unnormalised, a_ts = phi(q_t) . phi(kappa_s): one matrix product q @ kappa^T gives all of them, (B, nh, T, T).",
    "Causal: query t may read only s <= t, so zero everything above the diagonal (torch.tril, or masked_fill "
    "with a (T, T) mask); the diagonal stays.",
    "Normalise each row by its sum (that sum is phi(q_t) . z_t), so that the weights of every query add to 1.",
))
def causal_read_weights(fn) -> str | None:
    """fn(q, kappa) -> a (B, nh, T, T): a_ts = phi(q_t).phi(kappa_s) / (phi(q_t) . z_t) for s <= t, else 0."""
    q, k, _ = _inputs()
    a = call(fn, q, k.detach())
    B, nh, T, _ = q.shape
    problem = _shape(a, (B, nh, T, T), "(B, nh, T, T)")
    if problem:
        return problem
    a = a.detach()
    nonzero = (a != 0).any(dim=(0, 1))  # (T, T): which tokens any query reads
    problem = _explain_reads(nonzero, "your read weights")
    if problem and "(the future)" in problem:
        return problem + " Zero the weights above the diagonal: torch.tril, or masked_fill with a (T, T) mask."
    if problem and "itself" in problem:
        return problem + " Keep the diagonal: torch.tril(a), not torch.tril(a, -1)."
    if problem:
        return problem
    rows = a.sum(-1)  # (B, nh, T)
    if not close(rows, torch.ones_like(rows), atol=1e-4):
        t = int((rows - 1).abs().amax(dim=(0, 1)).argmax())
        return (f"the weights of query {t} sum to {float(rows[0, 0, t]):.3g}, not 1: divide each row by its sum "
                "(phi(q_t) . z_t) after masking, so that the read is a weighted average.")
    right = read_weights(q, k.detach())
    if close(a, right, rtol=1e-4, atol=1e-6):
        return None
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    softmax = (q @ k.detach().transpose(-2, -1)).masked_fill(~causal, float("-inf")).softmax(-1)
    if close(a, softmax, rtol=1e-4, atol=1e-6):
        return ("these are softmax weights, attention's: the fast-weight memory uses q_t . kappa_s itself "
                "(positive, since phi > 0) divided by the row sum, no exp.")
    err = (a - right).abs().amax(dim=(0, 1, 3))
    t = int(err.argmax())
    return (f"the right pattern, the wrong numbers: query {t}'s weights are off by {float(err[t]):.3g}; "
            "a_ts is q_t . k_s over the row's sum (q and k arrive already feature-mapped: do not apply phi again).")
