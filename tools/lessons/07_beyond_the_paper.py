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

Shapes: `B` batch, `T` tokens, `C` channels, `H` heads, `D = C / H`, `L` layers, `k` kernel.
"""

# %% install

# %%
import torch

import gamlab
from gamlab import plots
from gamlab.context import context_profile, effective_length
from gamlab.fastweight import feature_map, memory_chunked, memory_sequential, read_weights
from gamlab.recall import RecallGrid, format_table, run_grid
from gamlab.tasks import IGNORE, MQAR

device = gamlab.pick_device()
print(gamlab.describe(device))
gamlab.seed_everything(0)
FAST = gamlab.fast_mode()

# %% [markdown]
"""
## 1. The task: multi-query associative recall

A sequence starts with key-value pairs `k1 v1 k2 v2 ...`; later, among blank tokens, each key
comes back once as a query. At a query the model must output that key's value. Keys and
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

For the output at the last position `t` and every earlier input `s`, we measure the size of
`d out_t / d x_s` (`x`: the embeddings the first block reads). A GAM stack of `L` blocks with
kernel `k` can only see `L (k-1) + 1` tokens back, because its memory bank mixes nothing
between tokens. The gradient beyond that is not small: it is exactly zero.
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

Keep GAM's convolution, gates and FFN; replace the bank `M` by fast weights. Each token
writes the association `phi(k_s) v_s^T` into a `D x D` state per head, and reads with its
query: `global_t = phi(q_t) S_t / (phi(q_t) . z_t)`, with `S_t = sum_{s<=t} phi(k_s) v_s^T` and
`z_t = sum_{s<=t} phi(k_s)`, `phi = elu + 1`. The state per step is constant, the work linear in
`T`. Read one token at a time, it is a recurrence; in chunks, it is a few matrix products.
Both give the same numbers:
"""

# %%
q, k, v = (torch.randn(2, 4, 50, 16, dtype=torch.float64) for _ in range(3))
q, k = feature_map(q), feature_map(k)
torch.testing.assert_close(memory_chunked(q, k, v, chunk=16), memory_sequential(q, k, v))
a = read_weights(q, k)  # (B, H, T, T): how much of token s the query at t reads back
torch.testing.assert_close(a @ v, memory_sequential(q, k, v))
assert torch.all(a.triu(1) == 0)  # causal: nothing from the future
print("chunked == sequential == (read weights) @ v;  each row of read weights sums to",
      round(float(a[0, 0, 10].sum()), 6))

# %% [markdown]
"""
## 4. The recall grid

Every model (same width and depth, the `tiny` preset) is trained on MQAR at each sequence
length, on a mix of pair counts, with the project's trainer, and scored on fresh sequences:
the fraction of queries answered right. Fast mode uses a tiny grid and a few steps.

One change for every model: embeddings drawn at std 1 and an untied output layer
(`RecallGrid.embed_std`, `tied_head`). With the library's 0.02 embeddings the blocks' outputs
drown which token sits where, and even the Transformer stays for thousands of steps on the
plateau "guess one of the values in the sequence" (about `1 / pairs`).
"""

# %%
grid = RecallGrid.fast() if FAST else RecallGrid()  # default: T=64, 4/8/16 pairs, 1000 steps
results = run_grid(grid, keep_models=True)
trained = results.pop("trained")
print(format_table(results))
assert all(0 <= a <= 1 for per_len in results["accuracy"].values() for row in per_len for a in row)
plots.recall_heatmaps(results)

# %% [markdown]
"""
The paper's GAM stays at chance (`1 / number of values`) wherever a query is further from
its pair than its receptive field: its bank cannot hold this sequence's pairs. With the full
budget (docs/recall.md) the Transformer answers every query, `gam-fw` lands in between
(most queries with 4 pairs, fewer as pairs fill its small state), and the Mamba-style model has
only learned to guess among the values present. Fast mode trains too briefly to show this.

## 5. What trained models look at
"""

# %%
T = grid.lengths[0]
idx = MQAR(seq_len=T, n_pairs=grid.pairs[-1], vocab_size=grid.vocab_size).sample(2, 5)[0]
trained_profiles = {name: context_profile(trained[name][T], idx) for name in grid.models}
assert torch.all(trained_profiles["gam"][reach:] == 0)  # training cannot widen a convolution
plots.context_profiles(trained_profiles, reach=reach)

# %% [markdown]
"""
## 6. One sequence, query by query

Each model's answer per query (green right, red wrong), and, with the dropdown, the read
weights of `gam-fw`'s last layer (heads averaged) for a query: orange marks the query's key
where it was given, green the value to recall. A model that learned the task puts its weight
on the value, or on the key's neighbourhood that the convolution mixed into it.
"""

# %%
def one_sequence(seed: int):
    task = MQAR(seq_len=T, n_pairs=grid.pairs[-1], vocab_size=grid.vocab_size)
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
assert len(fig.layout.updatemenus[0].buttons) == grid.pairs[-1]  # one view per query
fig

# %% [markdown]
"""
With widgets, a slider draws a new sequence (the figure itself keeps its query dropdown, so it
also works in Colab and on static viewers).
"""

# %%
from gamlab.widgets import pick_mode  # noqa: E402

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
    display(W.VBox([seed, out]))
else:
    print("static front end: use the dropdown in the figure above")

# %% [markdown]
"""
## What to take away

- GAM's only token mixer is its convolution: `L (k-1) + 1` tokens, measured exactly by the
  gradient. Recall beyond that distance is at chance, however long it trains.
- A fast-weight memory keeps GAM's O(N) cost and its gates but is written by the sequence, so
  queries can reach pairs anywhere before them. On the default grid it lands between the paper's
  GAM and attention, and its accuracy falls as pairs grow: a `D x D` state per head holds only so
  many associations (docs/recall.md has the table measured with `gamlab recall`).
- Try: `gamlab recall --lengths 64,128 --steps 2000`, or raise `min_gap` in `RecallGrid` to push
  every query beyond the convolution's reach.
"""
