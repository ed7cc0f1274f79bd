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

Shapes: `B` batch, `T` tokens (sequence length), `C` channels, `S` memory slots, `H` heads.
"""

# %% install

# %%
import math

import gamlab
from gamlab import plots
from gamlab.bench import flops, measure_block

device = gamlab.pick_device()
print(gamlab.describe(device))
gamlab.seed_everything(0)

# %% [markdown]
"""
## 1. Counting first

Before timing anything, count. Per token, a GAM block does a fixed amount of work: a gate
projection, a feed-forward network, scores against `S` slots and a read-out, and a convolution
of width `k`. None of it depends on `T`. An attention block does the same projections, plus
scores against all `T` earlier tokens. `gamlab.bench.flops` counts the floating-point
operations of one forward + backward pass (width `C = 128`, `S = 512`, batch 8).
"""

# %%
print(f"{'T':>6}{'GAM GFLOP':>12}{'attention GFLOP':>17}{'attention / GAM':>17}")
for T in (256, 1024, 4096, 16384):
    f_gam, f_att = flops("gam", T) / 1e9, flops("transformer-naive", T) / 1e9
    print(f"{T:>6}{f_gam:>12.1f}{f_att:>17.1f}{f_att / f_gam:>17.2f}")
assert flops("gam", 2048) == 2 * flops("gam", 1024)                      # linear: twice the tokens, twice the work
assert flops("transformer-naive", 2048) > 2 * flops("transformer-naive", 1024)  # attention grows faster

# %% [markdown]
"""
## 2. Measuring, live

Now the real code. `gamlab.bench.measure_block(name, T)` runs one block forward and backward on
random input `(B, T, C)` and reports milliseconds (the best of a few repeats: other programs on
the machine only ever add time) and the extra memory the step needed. Three blocks:

- `gam`: the GAM block;
- `transformer`: an attention block using PyTorch's fused kernel (`scaled_dot_product_attention`),
  a fair modern baseline;
- `transformer-naive`: attention as the paper's baseline computed it, the full `T x T` matrix.

The lengths suit the device: on a GPU up to 8192 tokens as in the paper's Table 2; on a CPU,
shorter. In fast mode (`GAMLAB_FAST=1`, used by the tests) only a few tiny runs, timing only.
A run that does not fit in memory is reported as out of memory, not as a crash.
"""

# %%
if gamlab.fast_mode():
    lengths, batch, width, slots, measure_memory = [64, 128, 256], 2, 64, 128, False
elif device.type == "cuda":
    lengths, batch, width, slots, measure_memory = [256, 512, 1024, 2048, 4096, 8192], 8, 128, 512, True
else:
    lengths, batch, width, slots, measure_memory = [256, 512, 1024, 2048], 4, 128, 512, True

rows = []
for name in ("gam", "transformer", "transformer-naive"):
    for T in lengths:
        r = measure_block(name, T, batch=batch, d_model=width, n_slots=slots, device=device,
                          repeats=2 if gamlab.fast_mode() or device.type == "cpu" else 3, memory=measure_memory)
        rows.append({"name": name, "seq_len": T, **r})
        shown = "out of memory" if r["oom"] else f"{r['ms']:8.2f} ms" + (
            f"  {r['peak_mb']:8.1f} MB" if r["peak_mb"] is not None else "")
        print(f"{name:<18} T={T:<6} {shown}")
assert all(r["oom"] or r["ms"] > 0 for r in rows)

# %% [markdown]
"""
Both axes are logarithmic, so a cost that grows like `T^p` is a straight line of slope `p`:
slope 1 is linear, slope 2 quadratic. At short lengths fixed overheads flatten every curve;
look at the right-hand end.
"""

# %%
fig = plots.scaling_curves(rows)
fig

# %%
def slope(name, key="ms"):
    """Growth exponent between the two longest lengths that ran: cost ~ T^slope."""
    ok = [r for r in rows if r["name"] == name and not r["oom"] and r[key]]
    if len(ok) < 2:
        return float("nan")
    a, b = ok[-2], ok[-1]
    return math.log(b[key] / a[key]) / math.log(b["seq_len"] / a["seq_len"])

for name in ("gam", "transformer", "transformer-naive"):
    line = f"{name:<18} time ~ T^{slope(name):.2f}"
    if measure_memory:
        line += f"   memory ~ T^{slope(name, 'peak_mb'):.2f}"
    print(line)

# %% [markdown]
"""
What to expect: GAM's time and memory grow about linearly. The naive Transformer's grow faster
and, at long enough `T`, run out of memory; the paper's Table 2 reports this from `T = 4096` on its
GPU. The fused kernel never stores the `T x T` matrix, so its memory stays linear, but its work
still grows quadratically. On a small CPU run in fast mode the lengths are too short for the
trend to show clearly: run this notebook without fast mode, or on a GPU, to see it.

## 3. The map

| Lesson | What you build | What you check |
|---|---|---|
| [0 Why linear time](00_why_linear_time.ipynb) | timing one block against `T` | cost of attention vs GAM |
| [1 The local path](01_local_path.ipynb) | a causal convolution from shifts and adds | never sees the future; reach `L(k-1)+1` |
| [2 The global path](02_global_path.ipynb) | softmax retrieval from a memory bank | equals a weighted sum; moves nothing between tokens |
| [3 Gating](03_gating.ipynb) | sigmoid gates that fuse the two paths | equals `gamlab.gating.fuse`; the paper's ablations |
| [4 The GAM block](04_gam_block.ipynb) | the whole block and language model | equals `gamlab.GAMBlock`; the paper's 22.6M / 24.2M / 20.5M |

Later lessons train GAM against a Transformer and a Mamba-style model, and look inside a trained
GAM (its gates and memory slots).

**What we saw:** attention's cost grows faster than linearly in the sequence length, GAM's does
not, measured here on this device.

**Next:** [Lesson 1](01_local_path.ipynb), the local path: GAM's causal convolution, built by hand.
"""
