# %% [markdown]
"""
# Lesson 7: Beyond the paper: associative recall, effective context, a memory the sequence writes

The paper calls GAM's global path an "associative memory", but its bank `M` is a parameter:
the same for every sequence. Nothing a token writes can be read by a later token through it;
the only token mixing is the causal convolution. In this lesson we

1. build a recall task that needs real memory (multi-query associative recall, MQAR),
2. measure from gradients how far back each model actually looks,
3. swap GAM's bank for a memory the sequence writes as it goes (`gam-fw`, fast weights),
4. train GAM, a Transformer, a Mamba-style model and `gam-fw` on a grid of difficulty,
5. look at one sequence: what each model answers, and where `gam-fw` reads from.

**You will:** build an MQAR sequence and check its answers; measure from gradients how far back
each model can look; check that a fast-weight memory computed token by token, in chunks and as
read weights gives the same numbers; read a recall grid of four models; watch trained models
answer queries and see where `gam-fw` reads from; write the fast-weight memory yourself in the
exercises.
**Time:** about 40 minutes (plus about 5 minutes if you retrain the full grid on a CPU).
**Paper:** this lesson goes beyond the paper. It tests the claim that the global path is an
"associative memory" (Section 3, Figure 1's memory bank), with the recall task of Arora et al.
(2023) and the fast weights of Schlag et al. (2021).

Shapes and symbols, as in the earlier lessons and `docs/naming.md`: `B` batch, `T` tokens, `C`
channels, `L` layers, `k` the convolution's kernel size (never a key), `nh` heads, `hs = C / nh`
channels per head. The recall task's pairs are written *key*, *value* in words; the fast-weight
memory's queries, keys and values are $q$, $\kappa$, $\nu$ in formulas (`q`, `k`, `v` in code,
attention's names), and its state is $F$ (`state` in code; `S` stays the number of slots).
"""

# %% install

# %%
import torch
from IPython.display import Markdown, display

import gamlab
from gamlab import plots
from gamlab.context import context_profile, effective_length
from gamlab.fastweight import feature_map, memory_chunked, memory_sequential, read_weights
from gamlab.recall import SAVED, RecallGrid, format_table, run_grid, saved_results
from gamlab.tasks import IGNORE, MQAR

device = gamlab.pick_device()
print(gamlab.describe(device))
gamlab.seed_everything(0)
FAST = gamlab.fast_mode()

# %% [markdown]
"""
## 1. The task: multi-query associative recall

A sequence starts with key-value pairs `key₁ value₁ key₂ value₂ …`; later, among blank tokens,
each key comes back once as a query. At a query the model must output that key's value. Keys and
values are random in every sequence, so no weight can memorise them: the model has to carry
*which value followed which key* from the start of the sequence to the query.
"""

# %%
task = MQAR(seq_len=32, n_pairs=4, vocab_size=64, min_gap=1)
x, y = task.sample(1, generator=0)
print("x:", x[0].tolist())
print("y:", ["." if v == IGNORE else v for v in y[0].tolist()])
for p in (y[0] != IGNORE).nonzero().flatten().tolist():
    key = int(x[0, p])
    j = x[0, : 2 * task.n_pairs].tolist().index(key)
    print(f"query at {p:2d}: key {key} was given at {j}, followed by {int(x[0, j + 1])} -> answer {int(y[0, p])}")
    assert x[0, j + 1] == y[0, p]

# %% [markdown]
"""
## 2. How far back can a model look? Gradients say

For the output at the last position $t$ and every earlier input $s$, we measure the size of
$\partial\, \text{out}_t / \partial x_s$ ($x$: the embeddings the first block reads). A GAM stack
of $L$ blocks with kernel $k$ can only see $L(k-1)+1$ tokens back, because its memory bank mixes
nothing between tokens. The gradient beyond that is not small: it is exactly zero.

The models here are **freshly built and untrained** (random weights): the gradient shows what
each architecture *allows* a token to see, not what training makes it use. Section 5 measures
trained models the same way.

**Think!** Training changes every weight. Could a trained GAM's gradient reach further back than
$L(k-1)+1$?

<details><summary>Answer</summary>

No. The zeros come from the wiring, not from the weights: the convolution has only $k$ taps, and
the memory bank `M` is the same for every token, so nothing in a block carries token $s$ to
token $t$ when $t - s \ge k$. However the weights change, a product of zeros stays zero; section 5
checks it on trained models (`assert ... == 0`).
</details>
"""

# %%
T_ctx = 32 if FAST else 64
cfg = gamlab.ModelConfig.preset("tiny", vocab_size=64, block_size=T_ctx, dropout=0.0)
idx = torch.randint(2, 64, (2, T_ctx))
names = ["gam", "transformer", "mamba", "gam-fw"]
profiles = {name: context_profile(gamlab.build_model(name, cfg), idx) for name in names}
reach = gamlab.receptive_field(cfg.n_layer, cfg.conv_kernel)
for name, p in profiles.items():
    print(f"{name:<12} non-zero lags: {int((p > 0).sum()):3d} of {len(p)}   90% of the gradient within "
          f"{effective_length(p, 0.9)} tokens")
assert torch.all(profiles["gam"][reach:] == 0) and torch.all(profiles["gam"][:reach] > 0)
assert torch.all(profiles["transformer"] > 0) and torch.all(profiles["gam-fw"] > 0)
plots.context_profiles(profiles, reach=reach)

# %% [markdown]
"""
## 3. A memory the sequence writes

Keep GAM's convolution, gates and FFN; replace the bank `M` by fast weights. Each token $s$
writes the association $\phi(\kappa_s)\,\nu_s^\top$ into an `hs × hs` state per head, and each
token $t$ reads with its query:

$$\text{global}_t = \frac{\phi(q_t)^\top F_t}{\phi(q_t)^\top z_t}, \qquad
F_t = \sum_{s \le t} \phi(\kappa_s)\,\nu_s^\top, \qquad z_t = \sum_{s \le t} \phi(\kappa_s), \qquad
\phi = \mathrm{elu} + 1.$$

The state per step is constant, the work linear in $T$. Read one token at a time, it is a
recurrence; in chunks, it is a few matrix products. Written out, token $t$ reads token $s$ with
weight $a_{ts} = \phi(q_t)^\top \phi(\kappa_s) / \phi(q_t)^\top z_t$ (linear attention without the
softmax). All three give the same numbers:
"""

# %%
q, k, v = (torch.randn(2, 4, 50, 16, dtype=torch.float64) for _ in range(3))
q, k = feature_map(q), feature_map(k)
torch.testing.assert_close(memory_chunked(q, k, v, chunk=16), memory_sequential(q, k, v))
a = read_weights(q, k)  # (B, nh, T, T): how much of token s the query at t reads back
torch.testing.assert_close(a @ v, memory_sequential(q, k, v))
assert torch.all(a.triu(1) == 0)  # causal: nothing from the future
print("chunked == sequential == (read weights) @ v;  each row of read weights sums to",
      round(float(a[0, 0, 10].sum()), 6))

# %% [markdown]
"""
## 4. The recall grid

Every model (same width and depth, the `tiny` preset) is trained on MQAR at each sequence
length, on a mix of pair counts, with the project's trainer, and scored on fresh sequences:
the fraction of queries answered right. The full grid (T = 64; 4, 8 and 16 pairs; 1000 steps
for each model) takes about 5 minutes on a 2-core CPU. On a CPU the next cell therefore loads
the numbers that `gamlab recall` wrote for it (`gamlab/recall_results.json`, table in
[docs/recall.md](https://github.com/gamlab-dev/gamlab/blob/main/docs/recall.md)) and trains only a small grid, in seconds, for sections 5 and 6 to look inside;
a GPU, or `RETRAIN = True`, trains the full grid here, with a progress bar. It prints which it did.

One change for every model: embeddings drawn at std 1 and an untied output layer
(`RecallGrid.embed_std`, `tied_head`). With the library's 0.02 embeddings the blocks' outputs
drown which token sits where, and even the Transformer stays for thousands of steps on the
plateau "guess one of the values in the sequence" (about `1 / pairs`).

**Think!** Before you look: which model do you expect to stay at chance on every cell of the
grid, and why?

<details><summary>Answer</summary>

The paper's GAM. With the tiny preset's `L = 2` blocks and `k = 3` it sees 5 tokens back, and
most queries sit further than that from their pair; its bank `M` is the same for every sequence,
so it cannot hold this sequence's pairs either. All it can do is guess among the values.
</details>
"""

# %%
RETRAIN = False  # True: train the full grid here (about 5 minutes on a 2-core CPU); a GPU always does
full = (RETRAIN or device.type == "cuda") and not FAST
grid = RecallGrid() if full else RecallGrid.fast()  # the grid whose models sections 5 and 6 look inside
results = run_grid(grid, progress=None, keep_models=True, bars=True)
trained = results.pop("trained")
if full:
    print(f"the full grid, trained here on {device}:")
elif SAVED.exists():
    print(f"a small grid, trained here in seconds for sections 5 and 6 ({grid.steps} steps: too few to learn):")
    display(Markdown(format_table(results)))
    results = saved_results()
    print(f"\nthe full grid, loaded from gamlab/{SAVED.name} (written by `gamlab recall`; "
          "RETRAIN = True trains it here):")
else:
    print(f"no saved full grid (gamlab/{SAVED.name}); a small grid, trained here ({grid.steps} steps):")
loaded = not full and SAVED.exists()
display(Markdown(format_table(results)))
acc = {name: torch.tensor(per_len) for name, per_len in results["accuracy"].items()}  # (lengths, pairs)
assert torch.all(acc["gam"] < 3 * results["chance"])  # GAM near chance: the pairs lie beyond its reach
if loaded:  # the saved run: attention answers (nearly) every query; the memory the sequence writes helps
    assert torch.all(acc["transformer"] > 0.95) and torch.all(acc["gam-fw"] > 5 * results["chance"])
plots.recall_heatmaps(results)

# %% [markdown]
"""
The paper's GAM stays at chance (`1 / number of values`) wherever a query is further from
its pair than its receptive field: its bank cannot hold this sequence's pairs. With the full
budget ([docs/recall.md](https://github.com/gamlab-dev/gamlab/blob/main/docs/recall.md)) the Transformer answers every query, `gam-fw` lands in between
(most queries with 4 pairs, fewer as pairs fill its small state), and the Mamba-style model has
only learned to guess among the values present. The small grid that a CPU trains here for
sections 5 and 6 is far too short to show this: its models answer mostly at random.

## 5. What trained models look at

Section 2's measurement again, now on the trained models of the grid, for one MQAR sequence:
the share of the gradient of the last position's output that each earlier token gets, by lag.
"""

# %%
T = grid.lengths[0]
idx = MQAR(seq_len=T, n_pairs=grid.pairs[-1], vocab_size=grid.vocab_size).sample(2, 5)[0]
trained_profiles = {name: context_profile(trained[name][T], idx) for name in grid.models}
assert torch.all(trained_profiles["gam"][reach:] == 0)  # training cannot widen a convolution
plots.context_profiles(trained_profiles, reach=reach)

# %% [markdown]
"""
How to read it: lag 0 is the last token, lag `T − 1` the first. The pairs sit at the start of
the sequence, so they are the largest lags: with the full grid (`T = 64`, 16 pairs) lags 32 to
63, with the small grid a CPU trains here (`T = 32`, 4 pairs) lags 24 to 31. The zig-zag there
is the key/value pairs: keys and values alternate, and a model that uses the pairs draws on the
two kinds of token differently. GAM's line stops at its reach (the dashed line) whatever it
learned: training cannot widen a convolution. With the small grid's few steps the other lines
are still close to section 2's untrained ones.

## 6. One sequence, query by query

Each model's answer per query (green right, red wrong), and, with the dropdown, the read
weights of `gam-fw`'s last layer (heads averaged) for a query: orange marks the query's key
where it was given, green the value to recall. A model that learned the task puts its weight
on the value, or on the key's neighbourhood that the convolution mixed into it.

We use the easiest setting of the grid (its fewest pairs, 4 with the full grid): there the
trained `gam-fw` answers most queries, so the read weights show the mechanism at work. With 16
pairs its small state is full and it answers few; change `grid.pairs[0]` to `grid.pairs[-1]` in
the cell below to see that.
"""

# %%
def one_sequence(seed: int):
    task = MQAR(seq_len=T, n_pairs=grid.pairs[0], vocab_size=grid.vocab_size)  # the easiest setting
    x, y = task.sample(1, seed)
    preds = {}
    for name in grid.models:
        model = trained[name][T].eval()
        with torch.no_grad():
            preds[name] = model(x.to(device))[0].argmax(-1)[0].cpu()
    fw = trained["gam-fw"][T]
    last = fw.blocks[-1]  # a FastWeightGAMBlock: capture records its read weights
    last.capture = {}
    with torch.no_grad():
        fw(x.to(device))
    a = last.capture["read_weights"][0].mean(0).cpu()  # (T, T): heads averaged
    last.capture = None
    return plots.recall_predictions(x[0], y[0], preds, read_weights=a)


fig = one_sequence(0)
assert len(fig.layout.updatemenus[0].buttons) == grid.pairs[0]  # one view per query
fig

# %% [markdown]
"""
With widgets, a slider draws a new sequence (the figure itself keeps its query dropdown, so it
also works in Colab and on static viewers).
"""

# %%
from gamlab.widgets import LiveView, pick_mode

if pick_mode() == "widget":
    import ipywidgets as W
    from IPython.display import clear_output, display

    out = W.Output()
    seed = W.IntSlider(value=0, min=0, max=50, description="sequence")

    def redraw(change=None):
        with out:
            clear_output(wait=True)
            one_sequence(seed.value).show()

    seed.observe(redraw, names="value")
    redraw()
    # LiveView: a notebook saved without widget state still shows this sequence's figure
    display(LiveView(W.VBox([seed, out]), one_sequence(seed.value),
                     f"sequence {seed.value}; run the notebook to move the slider"))
else:
    print("static front end: use the dropdown in the figure above")

# %% [markdown]
"""
## Exercises

Each exercise ends with a check: it says what is right, or what is wrong in your answer and
where. Uncomment the `exercises.hint(...)` line for a hint (one more each time you run it).

**7.1 Predict.** Train the tiny GAM of section 2 (`L = 2` blocks, kernel `k = 3`) on
`MQAR(seq_len=64, n_pairs=4, min_gap=8)`, so that every query sits 8 or more tokens after its
key. The vocabulary of 64 tokens holds 31 keys and 31 values. After as much training as you
like, what fraction of the queries (a number between 0 and 1) does it answer right?
"""

# %%
from gamlab import exercises

gam_accuracy = 1 / 31  # SOLUTION
exercises.check("7.1", gam_accuracy)
# exercises.hint("7.1")

# %% [markdown]
"""
**7.2 Code.** Write the fast-weight memory of section 3 as its definition, one token at a time:
token $t$ first writes (adds $\phi(\kappa_t)\,\nu_t^\top$ to the state $F$, `state` in code, and
$\phi(\kappa_t)$ to $z$), then reads ($\phi(q_t)^\top F_t / \phi(q_t)^\top z_t$). `q` and `k` arrive already feature-mapped; everything is
`(B, nh, T, hs)`. The check runs your function on inputs it draws and says, query by query,
what it reads that it should not, or what it gets wrong.
"""

# %%
def fast_weight_loop(q, k, v):
    """q, k (feature-mapped), v: (B, nh, T, hs) -> (B, nh, T, hs)."""
    # BEGIN SOLUTION
    B, nh, T, hs = q.shape
    state, z, out = q.new_zeros(B, nh, hs, hs), q.new_zeros(B, nh, hs), []
    for t in range(T):
        state = state + k[:, :, t, :, None] * v[:, :, t, None, :]  # write phi(k_t) v_t^T: (B, nh, hs, hs)
        z = z + k[:, :, t]
        num = (q[:, :, t, None, :] @ state).squeeze(-2)  # read: (B, nh, hs)
        out.append(num / (q[:, :, t] * z).sum(-1, keepdim=True))
    return torch.stack(out, dim=2)
    # END SOLUTION


exercises.check("7.2", fast_weight_loop)
# exercises.hint("7.2")

# %% [markdown]
"""
**7.3 Code.** Write the read weights `a` of section 3 from plain tensor operations: query `t`
reads token $s$ with weight $\phi(q_t)^\top \phi(\kappa_s)$, only for $s \le t$ (a causal mask), and the
weights of each query add up to 1. Return `(B, nh, T, T)`.
"""

# %%
def causal_read_weights(q, k):
    """q, k (feature-mapped): (B, nh, T, hs) -> a: (B, nh, T, T)."""
    # BEGIN SOLUTION
    a = (q @ k.transpose(-2, -1)).tril()  # (B, nh, T, T): zero where s > t
    return a / a.sum(-1, keepdim=True)
    # END SOLUTION


exercises.check("7.3", causal_read_weights)
# exercises.hint("7.3")

# %% [markdown]
"""
## What to take away

**What we saw:**

- GAM's only token mixer is its convolution: $L(k-1)+1$ tokens, measured exactly by the
  gradient. Recall beyond that distance is at chance, however long it trains.
- A fast-weight memory keeps GAM's O(N) cost and its gates but is written by the sequence, so
  queries can reach pairs anywhere before them. On the default grid it lands between the paper's
  GAM and attention, and its accuracy falls as pairs grow: an `hs × hs` state per head holds only
  so many associations ([docs/recall.md](https://github.com/gamlab-dev/gamlab/blob/main/docs/recall.md)
  has the table measured with `gamlab recall`).
- Try: `gamlab recall --lengths 64,128 --steps 2000`, or raise `min_gap` in `RecallGrid` to push
  every query beyond the convolution's reach.

**Further reading:** Arora et al., *Zoology: Measuring and Improving Recall in Efficient Language
Models* (2023), the MQAR task; Schlag, Irie & Schmidhuber, *Linear Transformers Are Secretly Fast
Weight Programmers* (2021), the fast-weight memory of `gam-fw`; Katharopoulos et al.,
*Transformers are RNNs: Fast Autoregressive Transformers with Linear Attention* (2020), the
`elu + 1` feature map and the recurrent form; Gu & Dao, *Mamba: Linear-Time Sequence Modeling
with Selective State Spaces* (2023), the Mamba-style baseline.

**Next:** this is the last lesson. Read [Lesson 0](00_why_linear_time.ipynb) again with what this
one showed: linear time comes from a memory of fixed size, and that size limits what a model can
recall. Then run `gamlab recall` and `gamlab compare` on a larger grid and your own data.
"""
