"""Checks for the exercises of notebooks/05_showdown.ipynb (the race, its yardsticks, perplexity).

5.1 predicts the order of the count table (n-gram) that sees exactly what the paper's GAM sees;
5.2 turns per-token losses into a perplexity; 5.3 builds the bigram count table, the next
yardstick above the lesson's unigram row. Each check says what is wrong in the lesson's terms.
"""

from __future__ import annotations

import math

import torch

from ..blocks.conv import receptive_field
from ..experiments.ngram import ngram_loss, order_for_reach
from . import as_number, call, exercise, whole_number

PAPER_LAYERS, PAPER_KERNEL, PAPER_BLOCK = 6, 3, 256  # the paper's GAM (DESIGN.md)


def _shape(x) -> str:
    return f"a tensor of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else repr(x)


@exercise("5.1", "The count table that sees what GAM sees", hints=(
    "First the reach: a stack of L blocks with kernel k sees R = L·(k−1) + 1 tokens "
    "(Lesson 1, and section 6 above).",
    "An n-gram predicts the next token from the n − 1 tokens before it: its n counts the predicted token too.",
))
def ngram_order(answer) -> str | None:
    """answer: the n-gram order n whose context is exactly what the paper's GAM (L = 6, k = 3) sees."""
    reach = receptive_field(PAPER_LAYERS, PAPER_KERNEL)  # 13
    right = order_for_reach(reach)  # 14
    answer = whole_number(answer, "give a whole number n (the order of the count table)")
    if answer == right:
        return None
    if answer == reach:
        return (f"{reach} is the reach R, the tokens GAM sees; an n-gram's n counts the token it predicts "
                f"as well as its n − 1 tokens of context, so n = R + 1.")
    if answer == PAPER_LAYERS * PAPER_KERNEL:
        return (f"L·k = {answer} counts the current token once per layer; each block adds k − 1 = "
                f"{PAPER_KERNEL - 1} new tokens, so R = L·(k−1) + 1 = {reach}, and then n = R + 1.")
    if answer == PAPER_LAYERS * PAPER_KERNEL + 1:
        return (f"L·k + 1 = {answer} counts the current token once per layer; R = L·(k−1) + 1 = {reach} "
                "tokens of context, and n = R + 1.")
    if answer == PAPER_LAYERS * (PAPER_KERNEL - 1):
        return (f"L·(k−1) = {answer} counts only the tokens before t; GAM's output at t also sees token t "
                f"itself (R = {reach}), and the n-gram's n adds the predicted token: n = R + 1.")
    if answer in (PAPER_BLOCK, PAPER_BLOCK + 1):
        return (f"GAM does not see its whole block of {PAPER_BLOCK} tokens: its memory bank is the same for "
                "every text and mixes nothing between tokens, so only the convolutions carry context.")
    if answer in (PAPER_KERNEL, PAPER_KERNEL + 1):
        return (f"that is one block's window; the {PAPER_LAYERS} stacked convolutions reach further, "
                "each adding k − 1 tokens.")
    return f"{answer} is not it; find the reach R with L = {PAPER_LAYERS}, k = {PAPER_KERNEL}, then n = R + 1."


@exercise("5.2", "Perplexity from per-token losses", hints=(
    "A loss here is −log p of the right token, in nats (natural log), one per token.",
    "Perplexity is exp of the mean loss over all tokens: one number, however many sequences.",
    "losses.mean().exp() — then float(...) if you like.",
))
def perplexity(fn) -> str | None:
    """fn(losses (B, T) per-token cross-entropies in nats) -> the perplexity, one number."""
    g = torch.Generator().manual_seed(5)
    losses = torch.rand(4, 6, generator=g, dtype=torch.float64) * 3.0 + 0.2  # (B, T), uneven on purpose
    out = call(fn, losses.clone())
    value = as_number(out)
    if value is None:
        if isinstance(out, torch.Tensor) and out.dim() == 1 and out.numel() == losses.size(0):
            return (f"you returned one perplexity per sequence ({_shape(out)}); return one number for all "
                    "the tokens: exp of the mean over B and T.")
        return f"return one number, not {_shape(out)}."
    right = float(losses.mean().exp())
    wrong = {
        "mean of exps": float(losses.exp().mean()),
        "mean of row perplexities": float(losses.mean(1).exp().mean()),
        "bits": float(2 ** losses.mean()),
        "total": float(losses.sum().exp()),
        "inverse": float((-losses.mean()).exp()),
        "loss": float(losses.mean()),
    }
    if math.isclose(value, right, rel_tol=1e-5):
        return None
    if math.isclose(value, wrong["mean of exps"], rel_tol=1e-5):
        return (f"you averaged exp(loss) over tokens ({value:.3f}); perplexity is exp of the mean loss "
                f"({right:.3f}), and the mean of the exps is always larger (one bad token weighs too much).")
    if math.isclose(value, wrong["mean of row perplexities"], rel_tol=1e-5):
        return (f"you averaged the sequences' perplexities ({value:.3f}); average the losses first, over all "
                f"B·T tokens, then take exp once ({right:.3f}).")
    if math.isclose(value, wrong["bits"], rel_tol=1e-5):
        return "2 ** loss treats the loss as bits; our losses are in nats (natural log), so use exp."
    if math.isclose(value, wrong["total"], rel_tol=1e-5):
        return "you took exp of the summed loss; perplexity is per token: exp of the mean."
    if math.isclose(value, wrong["inverse"], rel_tol=1e-5):
        return ("you returned 1 / perplexity (the mean probability's geometric mean); the loss is already "
                "−log p, so perplexity is exp(+mean loss).")
    if math.isclose(value, wrong["loss"], rel_tol=1e-5):
        return "that is the mean loss itself; perplexity is its exp."
    return f"your perplexity is {value:.4g} where exp(mean loss) is {right:.4g}."


def _streams():
    """(train (N,), val (M,), V): a small stream with a strong bigram and a val pair never seen in training."""
    g = torch.Generator().manual_seed(0)
    V = 6
    nxt = torch.tensor([1, 2, 3, 4, 0, 0])  # the likely successor of each token (token 5 is rare)
    x = [0]
    for _ in range(399):
        prev = x[-1]
        x.append(int(nxt[prev]) if torch.rand(1, generator=g) < 0.7 else int(torch.randint(0, 5, (1,), generator=g)))
    train = torch.tensor(x)
    val = torch.tensor([0, 1, 2, 3, 4, 0, 5, 5, 2, 1, 3, 0, 0, 4, 2])  # 0->5, 5->5 never occur in training
    return train, val, V


def _variants(train, val, V, alpha) -> dict[str, float]:
    """The typical wrong count tables' losses on (train, val)."""
    def table(ids, a):  # (V, V) counts[prev, next] + a
        counts = torch.zeros(V, V, dtype=torch.float64)
        counts.index_put_((ids[:-1], ids[1:]), torch.ones(ids.numel() - 1, dtype=torch.float64), accumulate=True)
        return counts + a

    prev, y = val[:-1], val[1:]
    c = table(train, alpha)
    out = {
        "columns": -(c / c.sum(0, keepdim=True))[prev, y].log().mean(),
        "backwards": -(c / c.sum(1, keepdim=True))[y, prev].log().mean(),
        "alpha 1": -((table(train, 1.0)) / table(train, 1.0).sum(1, keepdim=True))[prev, y].log().mean(),
        "counted val": -(table(val, alpha) / table(val, alpha).sum(1, keepdim=True))[prev, y].log().mean(),
    }
    uni = torch.bincount(train, minlength=V).double() + alpha
    out["unigram"] = -(uni / uni.sum())[y].log().mean()
    return {k: float(v) for k, v in out.items()}


@exercise("5.3", "The bigram count table", hints=(
    "Count pairs: counts[a, b] = how often token b follows token a in train_ids (a (V, V) table; "
    "index_put_ with accumulate=True, or torch.bincount(a * V + b)).",
    "Add alpha to every count, then divide each row by its sum: row a is p(next | previous = a).",
    "Score the validation pairs (val_ids[:-1], val_ids[1:]): loss = −mean of log p[prev, next], in nats.",
))
def bigram_loss(fn) -> str | None:
    """fn(train_ids (N,), val_ids (M,), vocab_size, alpha) -> validation cross-entropy (nats/token)."""
    train, val, V = _streams()
    for alpha in (0.01, 0.5):
        out = call(fn, train.clone(), val.clone(), V, alpha)
        value = as_number(out)
        if value is None:
            return f"return one number (the mean loss in nats per token), not {_shape(out)}."
        right = ngram_loss(train, val, 2, V, alpha)  # gamlab's count table, order 2
        if math.isclose(value, right, rel_tol=1e-5):
            continue
        if not math.isfinite(value):
            return ("your loss is not finite: a pair never seen in training (0 then 5 here) gets probability 0; "
                    "add alpha to every count before normalising.")
        wrong = _variants(train, val, V, alpha)
        if math.isclose(value, math.exp(right), rel_tol=1e-5):
            return "that is the perplexity exp(loss); return the loss itself."
        if math.isclose(value, right / math.log(2), rel_tol=1e-5):
            return "that is the loss in bits (log base 2); use the natural log: nats."
        if math.isclose(value, wrong["unigram"], rel_tol=1e-5):
            return ("your number is the loss of a table that ignores the previous token (a unigram); "
                    "index the probabilities by (previous, next).")
        if math.isclose(value, wrong["columns"], rel_tol=1e-5):
            return ("your probabilities are normalised over the previous token; each row (one previous token) "
                    "must sum to 1 over the next token.")
        if math.isclose(value, wrong["backwards"], rel_tol=1e-5):
            return ("you looked up p[next, previous], the table read backwards; the row is the previous token: "
                    "p[previous, next].")
        if math.isclose(value, wrong["alpha 1"], rel_tol=1e-5):
            return f"you smoothed with alpha = 1; use the alpha passed in (this call had alpha = {alpha})."
        if math.isclose(value, wrong["counted val"], rel_tol=1e-5):
            return ("you counted the validation text; counts come from train_ids only, the validation text is "
                    "only scored (otherwise the table has seen the answers).")
        return (f"with alpha = {alpha} your loss is {value:.4f} where the count table gives {right:.4f} nats; "
                "check the pairs you count and score (previous, next) and the smoothing.")
    return None
