# %% [markdown]
"""
# Lesson 2: The global path, an associative memory

GAM's second path reads from a **memory bank**: `S` learnable vectors (slots) of width `C`.
Each token compares itself with every slot, turns the similarities into weights with a
softmax, and reads back the weighted average of the slots. In this lesson we build that
retrieval from first principles, see what a temperature does to it, check that
`gamlab.AssociativeMemory` computes exactly the weighted sum, and then look hard at what this
path can and cannot do.

**You will:** retrieve a stored pattern from a noisy query with a softmax; see what the
temperature does; check `gamlab.AssociativeMemory` against the explicit weighted sum; measure
the scale of the scores and of what GAM reads back at the paper's width; show that this path
moves nothing between tokens.

**Time:** about 30 minutes.

**Paper:** the global context pathway (a memory bank of `S = 512` slots, xavier-uniform, scores
`h Mᵀ` without `1/√C`, softmax over slots, read-out `w M`), the right branch of Figure 1.

**The code behind this lesson:** `gamlab/blocks/memory.py`; the attention it is compared with in
`gamlab/blocks/transformer.py`.

Shapes: `B` batch, `T` tokens, `C` channels, `S` slots, `P` stored patterns. Symbols as in the
paper: `h` the token's (normalised) state, `M` the bank `(S, C)`, `w` the retrieval weights.
"""

# %% install

# %%
import torch
import torch.nn.functional as F

import gamlab
from gamlab.blocks.transformer import naive_attention
from gamlab.inspection import plots
from gamlab.inspection.text import say

device = gamlab.pick_device()
say(gamlab.describe(device))
gamlab.seed_everything(0)

# %% [markdown]
r"""
## 1. Store a few patterns, retrieve a noisy one

Store `P` patterns as the rows of a matrix `M` (`P x C`). Given a query `q` (a damaged copy of
one pattern), score every pattern by its dot product with `q`, turn scores into weights with a
softmax, and return the weighted sum of patterns:

$$w = \mathrm{softmax}\!\left(\frac{M q}{\tau}\right), \qquad \text{retrieved} = w^\top M$$

The temperature `τ` sets how sharp the choice is.
"""

# %%
P, C = 6, 32
M = F.normalize(torch.randn(P, C), dim=-1)  # (P, C): P unit-length patterns
target = 2
q = M[target] + 0.12 * torch.randn(C)  # (C,): pattern 2 with noise added

def retrieve(q, M, tau):
    """q: (C,), M: (P, C) -> (weights (P,), retrieved (C,))."""
    w = torch.softmax(M @ q / tau, dim=-1)  # (P,) sums to 1
    return w, w @ M  # (C,)

cos = lambda a, b: F.cosine_similarity(a, b, dim=-1).item()
w, r = retrieve(q, M, tau=0.05)
say("weights:", [round(v, 3) for v in w.tolist()])
say(f"cosine(query, pattern {target})     = {cos(q, M[target]):.3f}")
say(f"cosine(retrieved, pattern {target}) = {cos(r, M[target]):.3f}")
assert w.argmax().item() == target, "retrieval picked the wrong pattern"
assert cos(r, M[target]) > cos(q, M[target]), \
    "retrieval should clean up the noisy query"

# %% [markdown]
"""
## 2. The temperature

Small `τ`: the softmax becomes a hard choice, and the memory returns the nearest pattern,
cleaned of noise. Large `τ`: every pattern gets nearly the same weight, and the memory returns
their blurry average. Move the slider.
"""

# %%
temperatures = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
ws, rs = zip(*(retrieve(q, M, t) for t in temperatures))
ws, rs = torch.stack(ws), torch.stack(rs)  # (n_τ, P), (n_τ, C)
assert cos(rs[0], M[target]) > 0.99  # cold: the stored pattern itself
assert (ws[-1].max() - ws[-1].min()) < 0.1  # hot: nearly uniform weights
names = [f"pattern {i}" for i in range(P)]
fig = plots.retrieval_temperature(ws, rs, M[target], temperatures, names,
                                  query=q, queried=target)
fig

# %% [markdown]
"""
## 3. GAM's memory bank

GAM does the same with a **learnable** bank `M` of `S` slots (the paper: `S = 512`, initialised
xavier-uniform). There is no explicit temperature: the scores are raw dot products `h M^T`
(the LayerNorm before the block has a learnable gain, which can sharpen or soften them, and so
do the slots' own lengths).

For a whole batch of token states `h` of shape `(B, T, C)`:

    scores = h @ M.T          # (B, T, S)
    w      = softmax(scores)  # over S: each token's weights sum to 1
    global = w @ M            # (B, T, C)

`gamlab.AssociativeMemory(C, S)` holds `M` as `.slots`, gives the weights with `.weights(h)`,
and its forward returns `(retrieved, w)`. Check it against the explicit weighted sum
`Σ_s w[..., s] · M[s]`.
"""

# %%
B, T, S = 2, 10, 16
memory = gamlab.AssociativeMemory(C, S)
h = torch.randn(B, T, C)
with torch.no_grad():
    retrieved, w = memory(h)  # (B, T, C), (B, T, S)
    # one slot at a time: w[..., s] (B, T, 1) times slot s (C,)
    explicit = sum(w[..., s:s + 1] * memory.slots[s] for s in range(S))
say("slots", tuple(memory.slots.shape), " weights", tuple(w.shape),
    " retrieved", tuple(retrieved.shape))
assert torch.allclose(w.sum(-1), torch.ones(B, T)), \
    "each token's weights must sum to 1"
assert torch.allclose(w, memory.weights(h))
assert torch.allclose(retrieved, explicit, atol=1e-6), \
    "retrieval is not the weighted sum of slots"
say("AssociativeMemory == explicit weighted sum of slots")

# %% [markdown]
"""
It is the same piece as in part 1: put our `P` patterns in the slots and feed the query scaled
by `1/τ`, and the library returns what our first-principles function returned.
"""

# %%
tau = 0.1
mem_p = gamlab.AssociativeMemory(C, P)
with torch.no_grad():
    mem_p.slots.copy_(M)
    # a batch of one sequence of one token
    lib_r, lib_w = mem_p((q / tau).view(1, 1, C))
ref_w, ref_r = retrieve(q, M, tau)
assert torch.allclose(lib_w[0, 0], ref_w, atol=1e-6)
assert torch.allclose(lib_r[0, 0], ref_r, atol=1e-6)
say("library retrieval == first-principles retrieval at τ =", tau)

# %% [markdown]
"""
**Think!** Attention divides its scores by `√C` so that the softmax does not saturate (put all
its weight on one key). GAM's scores `h Mᵀ` are raw dot products of vectors with `C = 512`
entries. Why does its softmax not saturate at the start of training?

<details><summary>Answer</summary>

Because of the slots' scale. After LayerNorm every entry of `h` has variance about 1, so
`|h| ≈ √C ≈ 22.6`. Xavier-uniform draws each entry of `M` with variance `2 / (S + C) = 1/512`,
so a score `h · M[s]` (a sum of `C` products) has variance about `C · 2/(S + C) = 1`: a spread
of about 1, the same as attention's scores after dividing by `√C`. Training can then grow
or shrink the slots: their lengths act as a learned temperature, slot by slot. The next cell
measures this.
</details>
"""

# %%
C_paper = S_paper = 512
# xavier-uniform, as in the paper
bank = gamlab.AssociativeMemory(C_paper, S_paper)
# (B, T, C): states after LayerNorm
h_paper = torch.nn.LayerNorm(C_paper)(torch.randn(4, 256, C_paper))
with torch.no_grad():
    scores = h_paper @ bank.slots.T  # (B, T, S)
    read, w_paper = bank(h_paper)
h_norm = h_paper.norm(dim=-1).mean()
say(f"|h| = {h_norm:.1f} (√C = {C_paper ** 0.5:.1f});  "
    f"score spread (std) = {scores.std():.2f}")
say(f"largest weight per token: {w_paper.max(-1).values.mean():.4f} "
    f"(uniform: 1/S = {1 / S_paper:.4f})")
read_norm = read.norm(dim=-1).mean()
say(f"|retrieved| = {read_norm:.3f}  against |h| = {h_norm:.1f}")
assert 0.8 < scores.std() < 1.2, \
    "xavier slots should give scores with a spread about 1"
assert read_norm < 0.01 * h_norm

# %% [markdown]
"""
So at the start, each token reads back a broad average of 512 random slots (no weight much above
0.03): a vector of length about 0.08, against about 22.6 for `h`. Random slots point every way
and mostly cancel. The global path starts almost silent; training has to grow it. Keep these two numbers in mind
for Lesson 6, which measures how much each path contributes in a trained GAM.
"""

# %% [markdown]
"""
## 4. What this path cannot do

Look at the formula again: token `t`'s weights depend on `h_t` and on `M`, and on nothing else.
`M` is a parameter: after training it is the **same for every sequence**. So the "global" path
reads a fixed, learned table; it does not read the other tokens of the sequence at all. It moves
no information between tokens.

Test it: change token 0 and look at the retrieval at token 5. Then do the same with attention,
where token 5 reads the earlier tokens themselves.
"""

# %%
h1 = torch.randn(1, T, C)
h2 = h1.clone()
h2[:, 0] = torch.randn(C)  # a different first token

with torch.no_grad():
    r1, _ = memory(h1)
    r2, _ = memory(h2)
    # causal attention over the same states (queries = keys = values = h),
    # one head: (1, 1, T, C) in, (1, T, C) out
    a1 = naive_attention(h1[:, None], h1[:, None], h1[:, None])[:, 0]
    a2 = naive_attention(h2[:, None], h2[:, None], h2[:, None])[:, 0]

change = lambda u, v: (u[0, 5] - v[0, 5]).abs().max().item()
say(f"memory:    change at token 5 = {change(r2, r1):.2e}")
say(f"attention: change at token 5 = {change(a2, a1):.2e}")
assert torch.equal(r1[:, 1:], r2[:, 1:]), \
    "memory retrieval at tokens 1.. must not depend on token 0"
assert not torch.allclose(r1[:, 0], r2[:, 0]), \
    "token 0's own retrieval does change"
assert not torch.allclose(a1[:, 5], a2[:, 5]), \
    "attention at token 5 reads token 0"
say("the memory bank moves no information between tokens; attention does")

# %% [markdown]
"""
So in GAM the only path between tokens is the causal convolution of Lesson 1: a stack of `L`
blocks with kernel `k` sees the last `L(k-1)+1` tokens, the current one included (13 in the
paper's model), however long the
sequence. The memory is a learned, content-addressed lookup applied to each token on its own,
closer in spirit to a second feed-forward layer than to attention. That is where GAM's linear
cost comes from, and it is also its limit.

**Think!** Write the global path as a feed-forward layer: what are its weights, and what is its
activation function?

<details><summary>Answer</summary>

`global = softmax(h Mᵀ) M` is a two-layer network without biases: a first linear layer with
weight `M` (`C → S`, one hidden unit per slot), the softmax as the activation (over all `S`
hidden units together, not one by one like GELU), and a second linear layer with weight `Mᵀ`
(`S → C`), tied to the first. Like an FFN it acts on each token on its own: that is why it
mixes no tokens.
</details>
"""

# %% [markdown]
"""
## Exercises

Each exercise ends in a check that says what is right, or what is wrong in your answer and
where. Stuck? Uncomment the `exercises.hint(...)` line above the check: each run of the cell
gives one more hint.

**2.1 Predict.** In section 4 you changed token 0 of a sequence of `T = 10` tokens. Change
token 3 instead. At how many of the 10 positions does the memory's retrieval change, and at how
many does causal attention's output change? Answer `(memory, attention)` before you run anything.
"""

# %%
from gamlab import exercises

positions_changed = (1, 7)  # SOLUTION
# exercises.hint("2.1")
exercises.check("2.1", positions_changed)

# %% [markdown]
"""
**2.2 Code.** GAM's memory has no temperature: its scores are raw dot products `h Mᵀ`. Yet the
answer to the Think! of section 3 says the slots' lengths act as one. Make retrieval sharper
(or softer) without a temperature: write `bank_for_temperature(M, tau)`, a new bank `(S, C)`
whose plain retrieval `softmax(h M'ᵀ)`, what `gamlab.AssociativeMemory` computes, gives the
weights of temperature `τ`, `softmax(h Mᵀ / τ)`, for every query `h`. The check loads your bank
into an `AssociativeMemory` and compares its weights with temperature `τ`'s for a few `τ`.
(What the memory reads back, `w M'`, changes length too; the weights are what we ask about.)
"""

# %%
def bank_for_temperature(M, tau):
    """M: (S, C) slots, tau > 0 -> (S, C) new slots whose raw retrieval runs
    at temperature tau."""
    # BEGIN SOLUTION
    return M / tau  # h · (M[s] / τ) = (h · M[s]) / τ: every score divided by τ
    # END SOLUTION


# exercises.hint("2.2")
exercises.check("2.2", bank_for_temperature)

# %% [markdown]
"""
**2.3 Explore.** Move the slider of section 2's figure from cold to hot and watch the bar of
pattern 2 (marked "queried"), the pattern the query came from. What is the warmest temperature on the slider at
which pattern 2 still gets more than half of the weight? Read it off the figure. The check
recomputes the weights with `gamlab.AssociativeMemory` from the lesson's `q` and `M`, so pass
them along with your answer.
"""

# %%
# BEGIN SOLUTION
above_half = [t for t, w_t in zip(temperatures, ws) if w_t[target] > 0.5]
# END SOLUTION
warmest_tau = max(above_half)  # SOLUTION
# exercises.hint("2.3")
exercises.check("2.3", (warmest_tau, q, M))

# %% [markdown]
"""
**What we saw:** softmax retrieval from stored patterns, sharp at low temperature and blurry at
high; `gamlab.AssociativeMemory` is exactly the weighted sum `w @ M`; at the paper's width the
raw scores spread about 1 and the first read-out is tiny (about 0.08 against 22.6); the bank is
the same for every sequence, so this path does not mix tokens.

**Further reading:** Ramsauer et al., *Hopfield Networks is All You Need* (2020), softmax
retrieval as an associative memory; Sukhbaatar et al., *Augmenting Self-attention with
Persistent Memory* (2019), learned key-value slots much like GAM's bank; Geva et al.,
*Transformer Feed-Forward Layers Are Key-Value Memories* (2021); Lample et al., *Large Memory
Layers with Product Keys* (2019), a memory of a million slots.

**Next:** [Lesson 3](03_gating.ipynb), gating: how each token decides, channel by channel, how much
of each path to let through.
"""
