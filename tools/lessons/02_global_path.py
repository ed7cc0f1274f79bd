# %% [markdown]
"""
# Lesson 2: The global path, an associative memory

GAM's second path reads from a **memory bank**: `S` learnable vectors (slots) of width `C`.
Each token compares itself with every slot, turns the similarities into weights with a
softmax, and reads back the weighted average of the slots. In this lesson we build that
retrieval from first principles, see what a temperature does to it, check that
`gamlab.AssociativeMemory` computes exactly the weighted sum, and then look hard at what this
path can and cannot do.

Shapes: `B` batch, `T` tokens, `C` channels, `S` slots, `P` stored patterns. Symbols as in the
paper: `h` the token's (normalised) state, `M` the bank `(S, C)`, `w` the retrieval weights.
"""

# %% install

# %%
import torch
import torch.nn.functional as F

import gamlab
from gamlab import plots
from gamlab.transformer import naive_attention

device = gamlab.pick_device()
print(gamlab.describe(device))
gamlab.seed_everything(0)

# %% [markdown]
"""
## 1. Store a few patterns, retrieve a noisy one

Store `P` patterns as the rows of a matrix `M` (`P x C`). Given a query `q` (a damaged copy of
one pattern), score every pattern by its dot product with `q`, turn scores into weights with a
softmax, and return the weighted sum of patterns:

$$w = \mathrm{softmax}\!\left(\frac{M q}{\tau}\right), \qquad \text{retrieved} = w^\top M$$

The temperature `τ` sets how sharp the choice is.
"""

# %%
P, C = 6, 32
M = F.normalize(torch.randn(P, C), dim=-1)                 # (P, C): P unit-length patterns
target = 2
q = M[target] + 0.12 * torch.randn(C)                      # (C,): pattern 2 with noise added

def retrieve(q, M, tau):
    """q: (C,), M: (P, C) -> (weights (P,), retrieved (C,))."""
    w = torch.softmax(M @ q / tau, dim=-1)                 # (P,) sums to 1
    return w, w @ M                                        # (C,)

cos = lambda a, b: F.cosine_similarity(a, b, dim=-1).item()
w, r = retrieve(q, M, tau=0.05)
print("weights:", [round(v, 3) for v in w.tolist()])
print(f"cosine(query, pattern {target}) = {cos(q, M[target]):.3f}   cosine(retrieved, pattern {target}) = {cos(r, M[target]):.3f}")
assert w.argmax().item() == target, "retrieval picked the wrong pattern"
assert cos(r, M[target]) > cos(q, M[target]), "retrieval should clean up the noisy query"

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
ws, rs = torch.stack(ws), torch.stack(rs)                  # (n_τ, P), (n_τ, C)
assert cos(rs[0], M[target]) > 0.99                        # cold: the stored pattern itself
assert (ws[-1].max() - ws[-1].min()) < 0.1                 # hot: nearly uniform weights
fig = plots.retrieval_temperature(ws, rs, M[target], temperatures, [f"pattern {i}" for i in range(P)])
fig

# %% [markdown]
"""
## 3. GAM's memory bank

GAM does the same with a **learnable** bank `M` of `S` slots (the paper: `S = 512`, initialised
xavier-uniform). There is no explicit temperature: the scores are raw dot products `h M^T`
(the LayerNorm before the block has a learnable gain, which can sharpen or soften them).

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
    retrieved, w = memory(h)                               # (B, T, C), (B, T, S)
    explicit = sum(w[..., s:s + 1] * memory.slots[s] for s in range(S))   # one slot at a time
print("slots", tuple(memory.slots.shape), " weights", tuple(w.shape), " retrieved", tuple(retrieved.shape))
assert torch.allclose(w.sum(-1), torch.ones(B, T)), "each token's weights must sum to 1"
assert torch.allclose(w, memory.weights(h))
assert torch.allclose(retrieved, explicit, atol=1e-6), "retrieval is not the weighted sum of slots"
print("AssociativeMemory == explicit weighted sum of slots")

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
    lib_r, lib_w = mem_p((q / tau).view(1, 1, C))          # a batch of one sequence of one token
ref_w, ref_r = retrieve(q, M, tau)
assert torch.allclose(lib_w[0, 0], ref_w, atol=1e-6) and torch.allclose(lib_r[0, 0], ref_r, atol=1e-6)
print("library retrieval == first-principles retrieval at τ =", tau)

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
h2[:, 0] = torch.randn(C)                                  # a different first token

with torch.no_grad():
    r1, _ = memory(h1)
    r2, _ = memory(h2)
    # causal attention over the same states (queries = keys = values = h), one head
    a1 = naive_attention(h1[:, None], h1[:, None], h1[:, None])[:, 0]   # (1, T, C)
    a2 = naive_attention(h2[:, None], h2[:, None], h2[:, None])[:, 0]

print(f"memory:    change at token 5 = {(r2[0, 5] - r1[0, 5]).abs().max().item():.2e}")
print(f"attention: change at token 5 = {(a2[0, 5] - a1[0, 5]).abs().max().item():.2e}")
assert torch.equal(r1[:, 1:], r2[:, 1:]), "memory retrieval at tokens 1.. must not depend on token 0"
assert not torch.allclose(r1[:, 0], r2[:, 0]), "token 0's own retrieval does change"
assert not torch.allclose(a1[:, 5], a2[:, 5]), "attention at token 5 reads token 0"
print("the memory bank moves no information between tokens; attention does")

# %% [markdown]
"""
So in GAM the only path between tokens is the causal convolution of Lesson 1: a stack of `L`
blocks with kernel `k` sees `L(k-1)+1` tokens back (13 in the paper's model), however long the
sequence. The memory is a learned, content-addressed lookup applied to each token on its own,
closer in spirit to a second feed-forward layer than to attention. That is where GAM's linear
cost comes from, and it is also its limit.

**What we saw:** softmax retrieval from stored patterns, sharp at low temperature and blurry at
high; `gamlab.AssociativeMemory` is exactly the weighted sum `w @ M`; the bank is the same for
every sequence, so this path does not mix tokens.

**Next:** [Lesson 3](03_gating.ipynb), gating: how each token decides, channel by channel, how much
of each path to let through.
"""
