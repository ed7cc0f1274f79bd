# %% [markdown]
"""
# Lesson 0: Why linear time

Self-attention lets every token look at every earlier token. That is its strength, and its
cost: for a sequence of `T` tokens it builds a `T x T` table of scores, so doubling the length
quadruples the work and the memory. The Gated Associative Memory (GAM) block (Acharya, 2025,
arXiv 2509.00605) replaces attention with two paths whose cost grows only linearly in `T`.

In this lesson we **measure** that on the machine you are running now: the time (and, where it
can be measured, the memory) of one forward + backward pass through one attention block and one
GAM block, over a range of sequence lengths. Then a map of the lessons that take GAM apart.

**You will:** count the work of an attention block and a GAM block per token; find the length
below which attention is the cheaper of the two; measure how time and memory grow with `T` and
read the growth off a log-log plot.

**Time:** about 20 minutes (the measurements take under a minute on a laptop CPU).

**Paper:** the abstract and introduction (why O(N)); Table 2 (one block's time and memory from
`T = 256` to `8192`).

**The code behind this lesson:** `gamlab/experiments/bench.py` (the measured step and its
FLOPs), `gamlab/experiments/timing.py` (how it is timed), `gamlab/inspection/plots/lessons.py`.

Shapes: `B` batch, `T` tokens (sequence length), `C` channels, `S` memory slots, `nh` heads.
"""

# %% install

# %%
import math

import numpy as np

import gamlab
from gamlab.experiments.bench import flops
from gamlab.experiments.timing import set_training_threads
from gamlab.inspection import plots
from gamlab.inspection.text import say

device = gamlab.pick_device()
say(gamlab.describe(device))
gamlab.seed_everything(0)
# on a CPU: as many torch threads as the load average leaves cores free
say(f"torch threads: {set_training_threads(device)}")

# %% [markdown]
r"""
## 1. Counting first

Before timing anything, count. A matrix product `(m, n) @ (n, p)` costs `2mnp` operations. Per
token, forward, a GAM block does a fixed amount of work: the gate projection `C → 2C` (`4C²`),
the feed-forward network `C → 4C → C` (`16C²`), scores against `S` slots and the read-out
(`2SC` each) and a convolution of width `k` (`2kC`):

$$\text{GAM: } 20C^2 + 4SC + 2kC \qquad\qquad \text{attention: } 24C^2 + 4TC$$

None of GAM's work depends on `T`. An attention block projects *more* than GAM: queries, keys,
values and the output (`8C²`) plus the same FFN make `24C²`; then every token scores against
other tokens and reads their values, `4C` per token it looks at. The naive form (the paper's
baseline) computes the whole `T x T` matrix and masks the future afterwards, so each token pays
for all `T` (`4TC`): the naive block is the cheaper one while `4TC < 4SC − 4C²`, that is below
about **`T = S − C`**, and GAM is cheaper above it. A fused causal kernel skips the masked
half, `T/2` tokens on average (`2TC`), so its crossover sits twice as far out, at about
**`T = 2(S − C)`**.

`gamlab.experiments.bench.flops` counts one forward + backward pass (three times the forward) for one
sequence, at width `C = 128` with `S = 512` slots as in the measurements below. Both counts grow
with the batch size in the same proportion, so the ratio does not depend on it.
"""

# %%
C_count, S_count = 128, 512


def count(name, T):
    """Forward + backward FLOPs of one block for one sequence of T tokens."""
    return flops(name, T, batch=1)


say(f"one sequence, forward + backward, C = {C_count}, S = {S_count}")
say(f"{'T':>6}{'GAM GFLOP':>12}{'naive / GAM':>14}{'fused / GAM':>14}")
for T in (256, 768, 1024, 4096, 16384):
    f_gam = count("gam", T)
    naive = count("transformer-naive", T) / f_gam
    fused = count("transformer", T) / f_gam
    say(f"{T:>6}{f_gam / 1e9:>12.2f}{naive:>14.2f}{fused:>14.2f}")
crossover = S_count - C_count  # naive: 4TC = 4SC - 4C^2
say(f"naive attention is cheaper below T ≈ S - C = {crossover},")
say(f"the fused kernel below T ≈ 2(S - C) = {2 * crossover}")
# Checks of the count itself (they hold by the formula; the measurements
# below are the test):
T_low, T_high = crossover - 8, crossover + 8
assert count("transformer-naive", T_low) < count("gam", T_low)
assert count("transformer-naive", T_high) > count("gam", T_high)
# the fused kernel: T/2 tokens per query on average
assert count("transformer", 2 * T_low) < count("gam", 2 * T_low)
assert count("transformer", 2 * T_high) > count("gam", 2 * T_high)
# linear: twice the tokens, twice the work
assert count("gam", 2048) == 2 * count("gam", 1024)

# %% [markdown]
"""
## 2. Measuring, live

Now the real code. `gamlab.experiments.bench.run_grid` runs each block forward and backward on
random input `(B, T, C)` at every length and reports milliseconds and the extra memory the step
needed. Three blocks:

- `gam`: the GAM block;
- `transformer`: an attention block using PyTorch's fused kernel (`scaled_dot_product_attention`),
  a fair modern baseline;
- `transformer-naive`: attention as the paper's baseline computed it, the full `T x T` matrix.

A laptop, Colab or Binder shares its CPU with other programs, and they only ever add time. So
every timing here goes through `gamlab.experiments.timing.measure`, which times the three
blocks at every length in turn, round after round (a slow moment slows them all, not one), on one CPU thread
(with more threads than free cores, threads wait on each other) whose clock is the CPU time
the step used, the time it held a core, so that other programs taking turns on that core do
not count; it reports the best round with the median's excess beside it. It also tells the C library once to keep freed memory for
reuse, for the rest of this session: otherwise each step's large tensors are faulted in afresh,
a cost that grows with `T` and bends the curves.

The sizes suit the device: on a GPU up to 8192 tokens as in the paper's Table 2; on a CPU batch 8
at `T = 256 ... 1024`, long enough that each step's work and not its fixed overhead is timed. In
fast mode (`GAMLAB_FAST=1`, used by the tests) only a few tiny runs, timing only. A run that does
not fit in memory is reported as out of memory, not as a crash: each step's memory is measured
first, in a process of its own, and a step that would not fit in what this machine (or its
container: Binder gives 2 GB) has left is not timed.
"""

# %%
from gamlab.experiments import lesson00_reference as reference

# lengths, batch, width C, slots S, and whether to measure memory
if gamlab.fast_mode():
    sizes = dict(lengths=[64, 128, 256], batch=2, d_model=64, n_slots=128)
    measure_memory = False
elif device.type == "cuda":
    sizes = dict(lengths=[256, 512, 1024, 2048, 4096, 8192], batch=8,
                 d_model=128, n_slots=512)
    measure_memory = True
else:  # batch 8, T = 256 ... 1024: the naive block's longest step ~2 s
    sizes, measure_memory = reference.SIZES, True


def show(r):
    """One printed line per block and length."""
    shown = "out of memory"
    if not r["oom"]:
        shown = f"{r['ms']:8.2f} ms (median +{100 * r['spread']:.0f}%)"
    if r["peak_mb"] is not None:
        shown += f"  {r['peak_mb']:8.1f} MB"
    say(f"{r['name']:<18} T={r['seq_len']:<6} {shown}")


rows = reference.measure_lesson00(device, progress=show,
                                  memory=measure_memory, **sizes)
assert all(r["oom"] or r["ms"] > 0 for r in rows)

# %% [markdown]
"""
Both axes are logarithmic, so a cost that grows like `T^p` is a straight line of slope `p`:
slope 1 is linear, slope 2 quadratic; the grey guides have slope 1 (dashed) and 2 (dotted). At
short lengths fixed overheads flatten every curve; look at the right-hand end. The wide faint
lines are the project's saved run of the same cell (its CPU named in the legend): your machine
may be faster or slower, but where your line bends away from the saved one's slope, other work
on your machine disturbed the run. That holds at the saved run's sizes; in fast mode the
lengths are shorter and the two are not comparable.
"""

# %%
saved = reference.load()
fig = plots.scaling_curves(rows, saved)
fig

# %%
def slope(name, key="ms"):
    """Growth exponent fitted over every length that ran (a line through
    log T, log cost): cost ~ T^slope."""
    ok = [r for r in rows if r["name"] == name and not r["oom"] and r[key]]
    if len(ok) < 2:
        return float("nan")
    log_t = [math.log(r["seq_len"]) for r in ok]
    log_cost = [math.log(r[key]) for r in ok]
    # least squares: one slow run moves it less than it moves two points
    return float(np.polyfit(log_t, log_cost, 1)[0])


# the saved run's slopes compare with these only at the same sizes
comparable = sizes == saved["sizes"]
for name in ("gam", "transformer", "transformer-naive"):
    line = f"{name:<18} time ~ T^{slope(name):.2f}"
    if comparable:
        line += f" (saved run: T^{saved['time_slopes'][name]:.2f})"
    if measure_memory:
        line += f"   memory ~ T^{slope(name, 'peak_mb'):.2f}"
    say(line)
if not comparable:  # fast mode, a GPU: other lengths, batch or width
    say("the saved run measured other sizes (T = "
        f"{', '.join(map(str, saved['sizes']['lengths']))}, batch "
        f"{saved['sizes']['batch']}):\nits slopes are not comparable with "
        "these, so they are not printed")

# fast mode's lengths are too short for the trend to show
if not gamlab.fast_mode():
    naive_mem = slope("transformer-naive", "peak_mb")
    if measure_memory and not math.isnan(naive_mem):
        # memory is counted, not timed: no other program can disturb it
        gam_mem = slope("gam", "peak_mb")
        assert gam_mem < 1.3, "GAM's memory should grow linearly"
        assert naive_mem > 1.6, "a T x T matrix: memory should grow as T^2"
    gam_time, naive_time = slope("gam"), slope("transformer-naive")
    time_ok = 0.6 < gam_time < 1.4 and naive_time > gam_time + 0.3
    if device.type == "cuda":
        assert time_ok, "GAM's time should grow linearly, attention's faster"
    elif not time_ok:  # a CPU busy enough to disturb even the best rounds
        say("these times look disturbed by other work on this CPU;")
        say("rerun the measuring cell when it is idle")

# %% [markdown]
"""
What to expect: GAM's time and memory grow about linearly. The naive Transformer's grow faster
and, at long enough `T`, run out of memory; the paper's Table 2 reports this from `T = 4096` on its
GPU. The fused kernel never stores the `T x T` matrix, so its memory stays linear, but its work
still grows quadratically. On a small CPU run in fast mode the lengths are too short for the
trend to show clearly: run this notebook without fast mode, or on a GPU, to see it.

Where do the lines cross? The count says near `T = S − C` for the naive form (below it
attention's `4TC` is smaller than GAM's `4SC` of slot work) and near `T = 2(S − C)` for the
fused kernel, which does half the score work. Measured times cross somewhere else, because a matmul,
a softmax and a convolution do not run at the same speed per operation on every machine.

**Think!** The fused kernel (`transformer`) never stores the `T x T` matrix. Why does its
*time* still grow faster than linearly, while its *memory* does not?

<details><summary>Answer</summary>

It still computes every score `q_t · k_s` for `s ≤ t`, about `T²/2` dot products of length `C`:
the work is quadratic. It computes them tile by tile and keeps only a running maximum and sum
per query (an "online softmax"), so at any moment it holds one tile of scores, not all `T²`.
Memory grows with `T`, time with `T²`.
</details>

## 3. The map

| Lesson | What you build | What you check |
|---|---|---|
| [0 Why linear time](00_why_linear_time.ipynb) | timing one block against `T` | cost of attention vs GAM |
| [1 The local path](01_local_path.ipynb) | a causal convolution from shifts and adds | never sees the future; reach `L(k-1)+1` |
| [2 The global path](02_global_path.ipynb) | softmax retrieval from a memory bank | equals a weighted sum; moves nothing between tokens |
| [3 Gating](03_gating.ipynb) | sigmoid gates that fuse the two paths | equals `gamlab.blocks.gating.fuse`; the paper's ablations |
| [4 The GAM block](04_gam_block.ipynb) | the whole block and language model | equals `gamlab.GAMBlock`; the paper's 22.6M / 24.2M / 20.5M |
| [5 The showdown](05_showdown.ipynb) | training GAM, a Transformer and a Mamba-style model alike | loss curves, speed, a fair comparison |
| [6 Inside GAM](06_inside_gam.ipynb) | probes of a trained GAM | gate values, retrieval weights, each path's share |
| [7 Beyond the paper](07_beyond_the_paper.ipynb) | associative recall, effective context, a memory the sequence writes | what GAM cannot recall, and a fix |

Lessons 0–4 **build** GAM piece by piece (one class); lessons 5–7 **evaluate** it (a second).

## Exercises

Each exercise ends in a check that says what is right, or what is wrong in your answer and
where. Stuck? `exercises.hint("0.1")` gives one more hint each time you call it.

**0.1 Code.** Write the forward FLOPs per token of one GAM block as a function of its width `C`,
its `S` slots and its kernel `k`, from its parts (section 1). The check compares your count with
the block's own (`flops("gam", T, batch=1)` counts `3T` times it: forward and backward over `T`
tokens) at several sizes.
"""

# %%
from gamlab import exercises


def gam_flops_per_token(C, S, k):
    """Forward FLOPs per token of one GAM block: width C, S slots, kernel k."""
    # BEGIN SOLUTION
    gates = 2 * C * (2 * C)            # Linear C -> 2C
    ffn = 2 * C * (4 * C) * 2          # Linear C -> 4C, then 4C -> C
    slots = 2 * S * C + 2 * S * C      # scores h Mᵀ, read-out w M
    conv = 2 * k * C                   # depthwise: k taps per channel
    return gates + ffn + slots + conv
    # END SOLUTION


# exercises.hint("0.1")
exercises.check("0.1", gam_flops_per_token)

# %% [markdown]
"""
**0.2 Predict.** A naive attention block and a GAM block, both of width `C = 256`, GAM with
`S = 512` slots and kernel `k = 3`. What is the shortest sequence length `T` at which the
attention block does *more* work per token than GAM? Work it out from the two counts before
you try lengths with `flops`.
"""

# %%
shortest_T_attention_costs_more = 258  # SOLUTION
# exercises.hint("0.2")
exercises.check("0.2", shortest_T_attention_costs_more)

# %% [markdown]
"""
**What we saw:** per token, attention projects more than GAM (`24C²` against `20C²`) but GAM
pays `4SC` for its slots, so naive attention is cheaper below about `T = S − C`, the fused
kernel below about `T = 2(S − C)`, and GAM above. Measured, the memory slopes are the surest
result (memory is counted, not timed): the fused kernel's memory stays linear, the `T x T`
matrix's does not. The time slopes printed above are this run's; timed one thread at a time,
interleaved, best of several rounds, they came out near 1 for GAM and near 2 for the naive
block on a 2-core CPU both idle and with two other programs keeping its cores busy (the saved
run's slopes are printed beside yours when your sizes are the saved run's). Where yours differ
from the saved run's by much more than a tenth, something on your machine disturbed the
measurement. In fast mode or on a GPU the sizes differ, the cell says so, and the two runs'
slopes are not comparable: short lengths flatten every curve.

**Further reading:** Vaswani et al., *Attention Is All You Need* (2017), the block we compare
against; Dao et al., *FlashAttention* (2022), the tiled kernel behind `transformer`; Katharopoulos
et al., *Transformers are RNNs* (2020), linear attention; Gu & Dao, *Mamba* (2023), a linear-time
recurrent alternative, the paper's second baseline.

**Next:** [Lesson 1](01_local_path.ipynb), the local path: GAM's causal convolution, built by hand.
"""
