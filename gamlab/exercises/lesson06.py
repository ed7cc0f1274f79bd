"""Checks for the exercises of notebooks/06_inside_gam.ipynb (a trained GAM, token by token).

6.1 predicts how far back a layer's memory read looks, 6.2 builds the slot-usage table from
plain tensor ops, 6.3 reads a slot for capital letters off the explorer (gamlab.inspection.widgets).
"""

from __future__ import annotations

import torch

from ..blocks.conv import receptive_field
from . import NotAnswered, Right, Wrong, as_whole, call, close, exercise, whole_number

# 6.1: the model of the question
L_61, K_61 = 3, 5


@exercise("6.1", "How far back does a memory read look?", hints=(
    "Write the block out: h = LayerNorm(x), then w = softmax(h Mᵀ). Which tokens has x, the block's input, mixed?",
    "Only convolutions move information along the text, k-1 = 4 positions each; M is a parameter, the same for every text.",
    "Layer 2 reads before its own convolution runs, so count the convolutions of the layers below it.",
))
def read_reach(answer) -> str | None:
    """answer: the last position whose layer-2 retrieval weights w change when token 0 of a
    text changes, in a GAM of L = 3 layers with kernel k = 5 (a whole number, or "all")."""
    right = receptive_field(L_61 - 1, K_61) - 1  # layers 0 and 1 carry token 0 forward: 2 * (k-1) = 8
    if isinstance(answer, str) and answer.strip().lower() in ("all", "every", "everywhere"):
        answer = 10**9
    answer = whole_number(answer, "give a position (a whole number such as 5)")
    if answer == right:
        return None
    if answer >= 64:
        return ("the memory bank M is one parameter, the same for every text: reading it does not carry token 0 "
                "forward; only the convolutions do, k-1 = 4 positions per layer.")
    if answer == 0:
        return ("position 0 is layer 0's answer, where h holds only the token itself; layers 0 and 1 mix "
                "neighbours before layer 2 reads.")
    if answer == L_61 * (K_61 - 1):
        return (f"{answer} = 3 x 4 counts layer 2's own convolution, but its read w = softmax(h Mᵀ) uses h = "
                "LayerNorm(x), the block's input: only the convolutions of layers 0 and 1 come before it.")
    if answer == receptive_field(L_61, K_61):
        return (f"{answer} is the model's reach (the tokens a prediction sees, L·(k−1)+1); layer 2 reads before its "
                "own convolution, and the question asks for the last position, not a number of tokens.")
    if answer == right + 1:
        return f"{answer} counts the positions 0..{right}; the question asks for the last one that changes."
    if answer == (L_61 - 1) * K_61:
        return f"{answer} = 2 x 5: each convolution adds k-1 = 4 positions, not k = 5 (its window includes the current token)."
    if answer == K_61 - 1:
        return f"{answer} is one convolution's worth; layer 2 sits on top of two of them (layers 0 and 1)."
    return f"{answer} is not it; count the convolutions that run before layer 2's read, k-1 = 4 positions each."


def _slot_inputs() -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """ids (N,), w (N, S) softmax rows, vocab V, and a token id that never occurs."""
    g = torch.Generator().manual_seed(6)
    V, S, N = 7, 5, 40
    ids = torch.randint(0, V, (N,), generator=g)
    ids[ids == 3] = 1  # token 3 never occurs
    ids[:4] = 2  # token 2 occurs at least 4 times
    w = torch.randn(N, S, generator=g, dtype=torch.float64).mul(2).softmax(-1)
    return ids, w, V, 3


@exercise("6.2", "The slot-usage table", hints=(
    "Row v of the table is the mean of w[n] over the reads n where ids[n] == v: a sum per token id, then a count.",
    "torch.zeros(V, S).index_add_(0, ids, w) sums the rows per token id; torch.bincount(ids, minlength=V) counts them.",
    "Divide by count.clamp(min=1)[:, None], so that a token that never occurs keeps a row of zeros instead of 0/0.",
))
def slot_means(fn) -> str | None:
    """fn(ids (N,) int64, w (N, S), vocab_size V) -> (V, S): mean weight with which each token id reads each slot."""
    ids, w, V, unseen = _slot_inputs()
    S = w.size(1)
    out = call(fn, ids.clone(), w.clone(), V)
    if not isinstance(out, torch.Tensor):
        return f"return a tensor of shape (V, S) = ({V}, {S}), not a {type(out).__name__}."
    if tuple(out.shape) == (S, V):
        return f"your table is (S, V) = ({S}, {V}); the lesson's is (V, S): one row per token id, one column per slot."
    if tuple(out.shape) != (V, S):
        return f"your table has shape {tuple(out.shape)}; it should be (V, S) = ({V}, {S}), one row per token id."
    out = out.double()
    sums = torch.zeros(V, S, dtype=w.dtype).index_add_(0, ids, w)
    count = torch.bincount(ids, minlength=V)
    right = sums / count.clamp(min=1)[:, None].to(w.dtype)
    if torch.isnan(out[unseen]).any():
        return (f"token id {unseen} never occurs and your row for it is nan (0/0); divide by the count clamped to "
                "at least 1, so an unseen token reads every slot with weight 0.")
    if close(out, right, atol=1e-6):
        return None
    seen = count > 0
    if close(out[seen], sums[seen], atol=1e-6):
        return (f"your row for token id 2 is the sum of its {int(count[2])} reads, not their mean: divide each row "
                "by how often its token occurs.")
    if close(out[seen], sums[seen] / len(ids), atol=1e-6):
        return (f"you divided every row by all N = {len(ids)} reads; divide each row by how often its own token "
                f"occurs (token id 2: {int(count[2])} times).")
    if close(out[seen], w.mean(0).expand(int(seen.sum()), S), atol=1e-6):
        return "every row of yours is the mean of all N reads; average only the reads of each row's own token id."
    if not close(out[unseen], torch.zeros(S, dtype=out.dtype), atol=1e-6):
        return f"token id {unseen} never occurs, so its row should be zeros; yours is {out[unseen].tolist()}."
    v = int(((out - right).abs().amax(-1)).argmax())
    s = int((out[v] - right[v]).abs().argmax())
    return (f"your row for token id {v} ({int(count[v])} reads) is off at slot {s}: {float(out[v, s]):.3f} instead "
            f"of {float(right[v, s]):.3f}, the mean of w[n, {s}] over those reads.")


def capitals(tokens: list[str]) -> int:
    """How many of the tokens begin with a capital letter ("M", or "Mia" for a BPE token)."""
    return sum(t.strip()[:1].isupper() for t in tokens)


@exercise("6.3", "A slot for capital letters", hints=(
    "Move the explorer's slot control (or call explorer.slot_tokens(layer, slot)): it lists the tokens that read the slot most.",
    "Look for a list made mostly of capitals: the first letters of names and of sentences.",
    "Layer 0 reads depend on the token (and its place) alone, so a slot for capitals is easiest to find there; "
    "a loop over layers and slots with explorer.slot_tokens finds the best one.",
))
def capital_slot(answer) -> str | None:
    """answer: (explorer, (layer, slot)), the explorer of section 3 and a slot whose top readers
    (explorer.slot_tokens, as the explorer lists them) are mostly capital letters."""
    if not (isinstance(answer, tuple) and len(answer) == 2):
        raise Wrong("pass (explorer, (layer, slot)), as the cell does.")
    explorer, choice = answer
    if choice is None or choice is Ellipsis:
        raise NotAnswered
    if not (isinstance(choice, tuple) and len(choice) == 2 and None not in map(as_whole, choice)):
        return f"give (layer, slot), two whole numbers such as (0, 12), not {choice!r}."
    layer, slot = map(as_whole, choice)
    if not 0 <= layer < explorer.n_layer:
        return f"layer {layer} does not exist; this model has layers 0..{explorer.n_layer - 1}."
    if not 0 <= slot < explorer.n_slots:
        return f"slot {slot} does not exist; each layer has slots 0..{explorer.n_slots - 1}."
    tokens = explorer.slot_tokens(layer, slot)[0]
    mine = capitals(tokens)
    if 2 * mine > len(tokens):  # mostly capitals
        return None
    best = max(capitals(explorer.slot_tokens(l, s)[0])
               for l in range(explorer.n_layer) for s in range(explorer.n_slots))
    if mine == best > 0:  # this model has no slot of mostly capitals; the best there is counts
        return None
    if best == 0:  # a text with few capitals or none (the student's own, DATASET): nothing to find
        return Right("right: no slot of this model has a capital among its top readers (its text has few "
                     "or none), so there is no slot of capitals to find and any slot counts.")
    shown = ", ".join(repr(t) for t in tokens[:5])
    return (f"slot {slot} of layer {layer} is read most by {shown}, ...: {mine} of its top {len(tokens)} begin with "
            f"a capital; this model has a slot with {best}. Keep looking (layer 0 is a good place to start).")
