# %% [markdown]
r"""
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
read weights gives the same numbers; read a recall grid of four models and find the plateau
one of them sits on; watch models answer queries and see where a fast-weight memory reads from
when it has the answer; write the fast-weight memory yourself in the exercises.

**Time:** about 40 minutes (retraining the full recall grid on a 2-core CPU adds 5 to 30
minutes, section 4).

**Paper:** this lesson goes beyond the paper. It tests the claim that the global path is an
"associative memory" (Section 3, Figure 1's memory bank), with the recall task of Arora et al.
(2023) and the fast weights of Schlag et al. (2021).

**The code behind this lesson:** `gamlab/blocks/fastweight.py`, `gamlab/training/tasks.py`,
`gamlab/experiments/recall.py`, `gamlab/inspection/context.py`.

Shapes and symbols, as in the earlier lessons and `docs/naming.md`: `B` batch, `T` tokens, `C`
channels, `L` layers, `k` the convolution's kernel size (never a key), `nh` heads, `hs = C / nh`
channels per head. The recall task's pairs are written *key*, *value* in words; the fast-weight
memory's queries, keys and values are $q$, $\kappa$, $v$ in formulas and `q`, `kappa`, `v` in
this lesson's code (`gamlab.blocks.fastweight`, like attention code, calls the keys `k`; here `k` stays
the kernel size), and its state is $F$ (`state` in code; `S` stays the number of slots).
"""

# %% install

# %%
from pathlib import Path

import torch
from IPython.display import Markdown, display

import gamlab
from gamlab.experiments.timing import set_training_threads
from gamlab.blocks.fastweight import (feature_map, memory_chunked,
                                      memory_sequential, read_weights)
from gamlab.experiments.recall import (SAVED, RecallGrid, accuracy,
                                       format_table, run_grid, saved_results)
from gamlab.experiments.recall_models import PATH as SHIPPED
from gamlab.experiments.recall_models import load_recall_models
from gamlab.inspection import plots
from gamlab.inspection.context import context_profile, effective_length
from gamlab.inspection.probes import probe
from gamlab.inspection.text import say
from gamlab.training.tasks import IGNORE, MQAR

device = gamlab.pick_device()
# on a busy CPU (Colab, Binder) fewer threads train faster: as many as are free
set_training_threads(device)
say(gamlab.describe(device))
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
say("x:", x[0].tolist())
say("y:", ["." if v == IGNORE else v for v in y[0].tolist()])
for p in (y[0] != IGNORE).nonzero().flatten().tolist():
    key = int(x[0, p])
    j = x[0, : 2 * task.n_pairs].tolist().index(key)
    value, answer = int(x[0, j + 1]), int(y[0, p])
    say(f"query at {p:2d}: key {key} was given at {j}, "
        f"followed by {value} -> answer {answer}")
    assert x[0, j + 1] == y[0, p]

# %% [markdown]
r"""
## 2. How far back can a model look? Gradients say

For the output at the last position $t$ and every earlier input $s$, we measure the size of
$\partial\, \text{out}_t / \partial x_s$ ($x$: the embeddings the first block reads). A GAM stack
of $L$ blocks with kernel $k$ sees only its reach $R = L(k-1)+1$ tokens, the current one
included: lags $0$ to $R-1$, because its memory bank mixes nothing between tokens. From lag $R$
on (the dashed line) the gradient is not small: it is exactly zero.

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
cfg = gamlab.ModelConfig.preset("tiny", vocab_size=64, block_size=T_ctx,
                                dropout=0.0)
idx = torch.randint(2, 64, (2, T_ctx))
names = ["gam", "transformer", "mamba", "gam-fw"]
profiles = {name: context_profile(gamlab.build_model(name, cfg), idx)
            for name in names}
reach = gamlab.receptive_field(cfg.n_layer, cfg.conv_kernel)
for name, p in profiles.items():
    say(f"{name:<12} non-zero lags: {int((p > 0).sum()):3d} of {len(p)}   "
        f"90% of the gradient within {effective_length(p, 0.9)} tokens")
# lags 0 .. R-1 (the current token and R-1 before it) and nothing further
assert torch.all(profiles["gam"][:reach] > 0)
assert torch.all(profiles["gam"][reach:] == 0)
assert torch.all(profiles["transformer"] > 0)
assert torch.all(profiles["gam-fw"] > 0)
plots.context_profiles(profiles, reach=reach)

# %% [markdown]
r"""
## 3. A memory the sequence writes

Keep GAM's convolution, gates and FFN; replace the bank `M` by fast weights. Each token $s$
writes the association $\phi(\kappa_s)\,v_s^\top$ into an `hs × hs` state per head, and each
token $t$ reads with its query:

$$\text{global}_t = \frac{\phi(q_t)^\top F_t}{\phi(q_t)^\top z_t}, \qquad
F_t = \sum_{s \le t} \phi(\kappa_s)\,v_s^\top, \qquad z_t = \sum_{s \le t} \phi(\kappa_s), \qquad
\phi = \mathrm{elu} + 1.$$

The state per step is constant, the work linear in $T$. Read one token at a time, it is a
recurrence; in chunks, it is a few matrix products. Written out, token $t$ reads token $s$ with
weight $a_{ts} = \phi(q_t)^\top \phi(\kappa_s) / \phi(q_t)^\top z_t$ (linear attention without the
softmax). All three give the same numbers:
"""

# %%
# (B, nh, T, hs) each
q, kappa, v = (torch.randn(2, 4, 50, 16, dtype=torch.float64) for _ in range(3))
q, kappa = feature_map(q), feature_map(kappa)
sequential = memory_sequential(q, kappa, v)
torch.testing.assert_close(memory_chunked(q, kappa, v, chunk=16), sequential)
# (B, nh, T, T): how much of token s the query at t reads back
a = read_weights(q, kappa)
torch.testing.assert_close(a @ v, sequential)
assert torch.all(a.triu(1) == 0)  # causal: nothing from the future
say("chunked == sequential == (read weights) @ v")
say("each row of read weights sums to", round(float(a[0, 0, 10].sum()), 6))

# %% [markdown]
"""
## 4. The recall grid

Every model (same width and depth, the `tiny` preset) is trained on MQAR at each sequence
length, on a mix of pair counts, with the project's trainer, and scored on fresh sequences:
the fraction of queries answered right. The full grid (T = 64; 4, 8 and 16 pairs; 1000 steps
for each model) is too long for a lesson on a CPU: when `gamlab recall` wrote
`gamlab/experiments/recall_results.json` on a 2-core CPU shared with other jobs, training took 206 s (GAM),
246 s (Transformer), 825 s (Mamba-style) and 510 s (`gam-fw`), 30 minutes in all;
[docs/recall.md](https://github.com/gamlab-dev/gamlab/blob/main/docs/recall.md) records 5½
minutes for the same grid on a quiet one. On a CPU the next cell therefore loads those numbers
and trains only a small grid (20 steps a model), to show what so few steps learn: 9 s of
training with one thread at load 6, 98 s in a notebook on a busier CPU. A GPU, or
`RETRAIN = True`, trains the full grid here, with a progress bar. The cell prints which it did
and how long the training took.

One change for every model: embeddings drawn at std 1 and an untied output layer
(`RecallGrid.embed_std`, `tied_head`). With the library's 0.02 embeddings the blocks' outputs
drown which token sits where, and even the Transformer stays for thousands of steps on the
plateau "answer with a value seen in the pairs" (0.30, 0.21, 0.15 for 4, 8, 16 pairs, computed
below; the Mamba-style model's row of the grid sits exactly on it).

**Think!** Before you look: which model do you expect to stay at chance on every cell of the
grid, and why?

<details><summary>Answer</summary>

The paper's GAM. With the tiny preset's `L = 2` blocks and `k = 3` it sees 5 tokens back, and
most queries sit further than that from their pair; its bank `M` is the same for every sequence,
so it cannot hold this sequence's pairs either. All it can do is guess one of the 31 values:
chance, 1/31 ≈ 0.03.
</details>
"""

# %%
# True: train the full grid here (5 to 30 minutes on a 2-core CPU); a GPU does
RETRAIN = False
full = (RETRAIN or device.type == "cuda") and not FAST
# the grid whose models sections 5 and 6 look inside
grid = RecallGrid() if full else RecallGrid.fast()
results = run_grid(grid, progress=None, keep_models=True, bars=True)
trained = results.pop("trained")


def seconds(r):
    """Training time of a grid (s), all models and lengths."""
    return sum(sum(per_len) for per_len in r["seconds"].values())


# where the saved grid lies, as the package holds it
saved_at = SAVED.relative_to(Path(gamlab.__file__).parents[1])
if full:
    say(f"the full grid, trained here on {device} in "
        f"{seconds(results):.0f} s:")
elif SAVED.exists():
    say(f"a small grid, trained here in "
        f"{seconds(results):.0f} s ({grid.steps} steps a model: too few to "
        "learn the task):")
    display(Markdown(format_table(results)))
    results = saved_results()
    say(f"\nthe full grid, loaded from {saved_at} (written by `gamlab "
        f"recall`: {seconds(results) / 60:.0f} minutes of training on a "
        "2-core CPU; RETRAIN = True trains it here):")
else:
    say(f"no saved full grid ({saved_at}); a small grid, trained here "
        f"({grid.steps} steps):")
loaded = not full and SAVED.exists()
display(Markdown(format_table(results)))
# (lengths, pairs)
acc = {name: torch.tensor(v) for name, v in results["accuracy"].items()}
# GAM near chance: the pairs lie beyond its reach
assert torch.all(acc["gam"] < 3 * results["chance"])
if loaded:  # the saved run: attention answers (nearly) every query; the
    # memory the sequence writes helps
    assert torch.all(acc["transformer"] > 0.95)
    assert torch.all(acc["gam-fw"] > 5 * results["chance"])
plots.recall_heatmaps(results, task="Associative recall (MQAR)")

# %% [markdown]
"""
The paper's GAM stays at chance (`1 / number of values`, 0.03) wherever a query is further
from its pair than its receptive field: its bank cannot hold this sequence's pairs. With the
full budget ([docs/recall.md](https://github.com/gamlab-dev/gamlab/blob/main/docs/recall.md))
the Transformer answers every query, and `gam-fw` lands in between: about two thirds of the
queries with 4 pairs, a quarter with 16, as the pairs fill its small state. The Mamba-style
model scores 0.30, 0.21 and 0.15: far above chance and above `1 / pairs` (0.25, 0.125, 0.0625),
yet no more than a model scores that knows *which values* came in the pairs but not *which key*
had which. Values may repeat, so such a model answers with the value seen most often among the
pairs; the next cell measures what that answer scores. The small grid that a CPU trains here
is far too short to show any of this: its models answer at random.
"""

# %%
def most_frequent_value(task: MQAR, n: int = 2048) -> float:
    """Fraction of queries answered right by the value seen most often among
    the pairs (ties broken at random): what a model scores that knows which
    values came but not which key had which."""
    idx, targets = task.sample(n, generator=1)  # (n, T) each
    values = idx[:, 1 : 2 * task.n_pairs : 2]  # (n, pairs)
    counts = torch.zeros(n, task.vocab_size)  # (n, V)
    counts.scatter_add_(1, values, torch.ones(values.shape))
    gen = torch.Generator().manual_seed(0)
    ties = 1e-3 * torch.rand(counts.shape, generator=gen)
    # (n, 1): one answer for every query
    guess = (counts + ties).argmax(1, keepdim=True)
    # (n, pairs): each key is asked once
    answers = targets[targets != IGNORE].view(n, task.n_pairs)
    return float((answers == guess).float().mean())


g = results["grid"]


def rounded(values, digits=2):
    return [round(float(v), digits) for v in values]


plateau = torch.tensor([  # (lengths, pairs)
    [most_frequent_value(MQAR(seq_len=T, n_pairs=n, vocab_size=g["vocab_size"]))
     for n in g["pairs"]]
    for T in g["lengths"]])
for i, T in enumerate(g["lengths"]):
    say(f"T={T}, pairs {list(g['pairs'])}:")
    say(f"  1 / pairs           {rounded([1 / n for n in g['pairs']], 3)}")
    say(f"  most frequent value {rounded(plateau[i])}")
    say(f"  mamba               {rounded(acc['mamba'][i])}")
if loaded:  # the saved run: the Mamba-style model sits on that plateau
    mamba = acc["mamba"]
    assert torch.allclose(mamba, plateau.to(mamba.dtype), atol=0.03)

# %% [markdown]
"""
## 5. What trained models look at

Section 2's measurement again, now on trained models of the full grid, for one MQAR sequence:
the share of the gradient of the last position's output that each earlier token gets, by lag.
With a GPU or `RETRAIN = True` these are the models section 4 trained. On a CPU they are the
full grid's models that gamlab ships (`gamlab/experiments/recall_models.pt`, the weights of
`python -m gamlab.experiments.recall_models`, the grid's 1000 steps at `T = 64`): only the
models small enough to ship, so the cell prints which ones, and measures that they learned.
"""

# %%
# the full grid's models, as gamlab ships them
if not full and SHIPPED.exists():
    trained = load_recall_models(RecallGrid())
    grid = RecallGrid(models=tuple(trained))
    say(f"sections 5 and 6 look inside {', '.join(grid.models)}, loaded "
        f"from {SHIPPED.name} (T = {grid.lengths[0]}, {grid.steps} steps)")
else:
    say(f"sections 5 and 6 look inside the grid section 4 trained "
        f"({grid.steps} steps a model)")
T = grid.lengths[0]
for name in grid.models:  # accuracy on fresh sequences, per pair count
    accs = [accuracy(trained[name][T], t, 64, 7, device)
            for t in grid.tasks(T)]
    say(f"  {name:<12}", ", ".join(
        f"{n} pairs {a:.2f}" for n, a in zip(grid.pairs, accs)))
task = MQAR(seq_len=T, n_pairs=grid.pairs[-1], vocab_size=grid.vocab_size)
idx = task.sample(2, 5)[0]
trained_profiles = {name: context_profile(trained[name][T], idx)
                    for name in grid.models}
if "gam" in trained_profiles:  # training cannot widen a convolution
    assert torch.all(trained_profiles["gam"][reach:] == 0)
plots.context_profiles(trained_profiles, reach=reach)

# %% [markdown]
"""
How to read it: lag 0 is the last token, lag `T − 1` the first. The pairs sit at the start of
the sequence, so they are the largest lags: with the full grid (`T = 64`, 16 pairs) lags 32 to
63 (in fast mode without the shipped models, the small grid's `T = 32`, 4 pairs: lags 24 to
31). The zig-zag there is the key/value pairs: keys and values alternate, and a model that uses
the pairs draws on the two kinds of token differently. GAM's line, where it is drawn, stops
just before its reach (the dashed line, lag `R`) whatever it learned: training cannot widen a
convolution.

## 6. One sequence, query by query

Each model's answer per query (✓ and a circle right, ✗ and a cross wrong), and, with the
dropdown, the read weights of `gam-fw`'s last layer (heads averaged) for a query: triangles on
the axis mark the query (blue), its key where it was given (orange) and the value to recall
(green); their bars take the same colours, and have no height where they get no weight. A model
that learned the task puts its weight on the value, or on the key's neighbourhood that the
convolution mixed into it.

We use the easiest setting of the grid, its fewest pairs (4). The models are section 5's
(trained here with a GPU or `RETRAIN = True`, else the shipped ones; the accuracies it printed
are theirs): `gam-fw` answers about two thirds of the queries with 4 pairs, the Transformer all
of them. With 16 pairs its small state is full and it answers a quarter; change
`grid.pairs[0]` to `grid.pairs[-1]` in the cell below to see that. (Only without the shipped
file, in fast mode, does a CPU show the small grid's 20-step models: expect crosses nearly
everywhere, nothing has been learned yet.)

So that you see the mechanism on any machine, the section ends with a fast-weight memory wired
by hand.
"""

# %%
def one_sequence(seed: int):
    # the easiest setting: the fewest pairs
    task = MQAR(seq_len=T, n_pairs=grid.pairs[0], vocab_size=grid.vocab_size)
    x, y = task.sample(1, seed)
    preds = {}
    for name in grid.models:
        model = trained[name][T].eval()
        with torch.no_grad():
            preds[name] = model(x.to(device))[0].argmax(-1)[0].cpu()
    # every layer's internals (gamlab.inspection.probes)
    inside = probe(trained["gam-fw"][T], x[0])
    # (T, T): the last layer's read weights, heads averaged
    a = inside.read_weights[-1].mean(0)
    # the task says where the queries, their keys and values sit; the figure
    # marks them
    return plots.recall_predictions(
        x[0], y[0], preds, read_weights=a, **task.positions(x[0], y[0]),
        title="One MQAR sequence: what each model answers")


fig = one_sequence(0)
# one view per query
assert len(fig.layout.updatemenus[0].buttons) == grid.pairs[0]
fig

# %% [markdown]
"""
With widgets, a slider draws a new sequence, starting from the next one (the figure itself
keeps its query dropdown, so it also works in Colab and on static viewers).
"""

# %%
from gamlab.inspection.widgets import LiveView, live_figure, pick_mode

if pick_mode() == "widget":
    import ipywidgets as W
    from IPython.display import display

    # from the next sequence: the one above is sequence 0
    seed = W.IntSlider(value=1, min=0, max=50, description="sequence")
    # a FigureWidget as wide as the output (live_figure), not plotly's 700 px
    live = live_figure(one_sequence(seed.value))

    def redraw(change):
        """Redraw the figure in place (no captured output: a notebook
        executed without widget state, e.g. by nbconvert, runs this too)."""
        new = one_sequence(change["new"])
        with live.batch_update():
            live.data = []
            live.add_traces(new.data)
            live.layout = new.layout.update(width=live.layout.width)

    seed.observe(redraw, names="value")
    # LiveView: a notebook saved without widget state still shows this
    # sequence's figure
    text = f"sequence {seed.value}; run the notebook to move the slider"
    display(LiveView(W.VBox([seed, live]), one_sequence(seed.value), text))
else:
    say("static front end: use the dropdown in the figure above")

# %% [markdown]
r"""
### A memory wired by hand

What should the read weights look like once the task is learned? Wire the fast-weight memory
of section 3 by hand, with the parts `gam-fw` has. The convolution lets each token see the one
before it, so at a value token the block can write under the *key before it* ($\kappa_s$: that
key) with the value itself ($v_s$); at a query it reads with the key it holds ($q_t$). With
one-hot features a key matches only itself; every other token writes under a tiny uniform
$\kappa$:
"""

# %%
n_pairs = grid.pairs[0]
task = MQAR(seq_len=T, n_pairs=n_pairs, vocab_size=grid.vocab_size)


def answers_differ(seed):
    """Whether every query of sequence `seed` has its own answer (values may
    repeat in MQAR; a repeated one would not show which pair a query read)."""
    _, targets = task.sample(1, seed)
    answers = targets[targets != IGNORE].tolist()
    return len(set(answers)) == len(answers)


seed = next(s for s in range(1000) if answers_differ(s))
idx, targets = task.sample(1, seed)  # (1, T) each
V = grid.vocab_size
onehot = torch.eye(V, dtype=torch.float64)  # (V, V): one feature per token id
# (1, T): the token before each one
before = torch.cat([idx.new_zeros(1, 1), idx[:, :-1]], dim=1)
is_value = torch.zeros_like(idx, dtype=torch.bool)
is_value[:, 1 : 2 * n_pairs : 2] = True  # positions 1, 3, 5, ...: the values
tiny = torch.tensor(1e-3, dtype=torch.float64)
kappa = torch.where(is_value[..., None], onehot[before], tiny)  # (1, T, V)
# (1, T, V): read with the token itself; write the token itself
q, v = onehot[idx] + 1e-3, onehot[idx]
a = read_weights(q[:, None], kappa[:, None])[0, 0]  # (T, T): one head
answer = (a @ v[0]).argmax(-1)  # (T,): the token each position reads back most
asked = targets[0] != IGNORE
# every query reads back its value, and no two queries share one
assert torch.equal(answer[asked], targets[0][asked])
assert len(set(answer[asked].tolist())) == n_pairs
# (n_pairs,): each query's largest weight on a value token
on_value = a[asked][:, is_value[0]].amax(-1)
say("each query's weight on the value it reads back:",
    [round(float(w), 2) for w in on_value])
plots.recall_predictions(idx[0], targets[0], {"wired by hand": answer},
                         read_weights=a, **task.positions(idx[0], targets[0]),
                         title="One MQAR sequence, a memory wired by hand")

# %% [markdown]
"""
Each query puts almost all its weight on the green bar, the value that followed its key, and
reads that value back. A trained `gam-fw` has to find such keys and values by gradient descent,
with `hs = 16` features per head instead of one per token id: its keys overlap, which is why
its accuracy falls as the pairs grow (section 4).
"""

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
# exercises.hint("7.1")
exercises.check("7.1", gam_accuracy)

# %% [markdown]
r"""
**7.2 Code.** Write the fast-weight memory of section 3 as its definition, one token at a time:
token $t$ first writes (adds $\phi(\kappa_t)\,v_t^\top$ to the state $F$, `state` in code, and
$\phi(\kappa_t)$ to $z$), then reads ($\phi(q_t)^\top F_t / \phi(q_t)^\top z_t$). `q` and `kappa`
arrive already feature-mapped; everything is `(B, nh, T, hs)`. The check runs your function on
inputs it draws and says, query by query, what it reads that it should not, or what it gets
wrong.
"""

# %%
def fast_weight_loop(q, kappa, v):
    """q, kappa (feature-mapped), v: (B, nh, T, hs) -> (B, nh, T, hs)."""
    # BEGIN SOLUTION
    B, nh, T, hs = q.shape
    state, z, out = q.new_zeros(B, nh, hs, hs), q.new_zeros(B, nh, hs), []
    for t in range(T):
        # write phi(kappa_t) v_t^T, an outer product per batch and head:
        # (B, nh, hs, hs)
        state = state + kappa[:, :, t, :, None] * v[:, :, t, None, :]
        z = z + kappa[:, :, t]
        num = (q[:, :, t, None, :] @ state).squeeze(-2)  # read: (B, nh, hs)
        out.append(num / (q[:, :, t] * z).sum(-1, keepdim=True))
    return torch.stack(out, dim=2)
    # END SOLUTION


# exercises.hint("7.2")
exercises.check("7.2", fast_weight_loop)

# %% [markdown]
r"""
**7.3 Code.** Write the read weights `a` of section 3 from plain tensor operations: query `t`
reads token $s$ with weight $\phi(q_t)^\top \phi(\kappa_s)$, only for $s \le t$ (a causal mask), and the
weights of each query add up to 1. Return `(B, nh, T, T)`.
"""

# %%
def causal_read_weights(q, kappa):
    """q, kappa (feature-mapped): (B, nh, T, hs) -> a: (B, nh, T, T)."""
    # BEGIN SOLUTION
    a = (q @ kappa.transpose(-2, -1)).tril()  # (B, nh, T, T): zero where s > t
    return a / a.sum(-1, keepdim=True)
    # END SOLUTION


# exercises.hint("7.3")
exercises.check("7.3", causal_read_weights)

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
- A score above chance is not yet recall: the Mamba-style model's 0.30 / 0.21 / 0.15 is within
  0.01 of what answering with the most frequent value of the pairs scores. Compare with that plateau,
  not with `1 / pairs`.
- Wired by hand, a fast-weight memory reads each query's value back with almost all its weight:
  a key written under itself and read with itself. Training has to find such keys in `hs`
  features.
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
