# %% [markdown]
"""
# Lesson 1: The local path, a causal convolution

GAM mixes information between tokens in exactly one place: a **causal depthwise convolution**
over time. In this lesson we build it from plain tensor operations, check that it never looks
at the future, measure how far back a stack of them can see, and confirm that
`gamlab.CausalConv1d` is the same piece.

**You will:** build a causal depthwise convolution from shifts and adds; check it against
`conv1d` and prove it never sees the future; measure how far back a stack of `L` layers reaches.

**Time:** about 25 minutes.

**Paper:** the local context pathway (a causal depthwise 1D convolution, kernel `k = 3`), the
left branch of the block in the paper's Figure 1.

**The code behind this lesson:** `gamlab/blocks/conv.py`.

Shapes: `B` batch, `T` tokens, `C` channels, `k` kernel size, `L` layers.
"""

# %% install

# %%
import torch
import torch.nn.functional as F

import gamlab
from gamlab.inspection import plots
from gamlab.inspection.text import say

device = gamlab.pick_device()
say(gamlab.describe(device))
gamlab.seed_everything(0)

# %% [markdown]
r"""
## 1. Shift and add

Each channel `c` has its own `k` weights `w[c, 0..k-1]`. Output `t` is a weighted sum of the
inputs `t-k+1 .. t` of the same channel:

$$y_{t,c} = b_c + \sum_{j=0}^{k-1} w_{c,j}\, x_{t-(k-1)+j,\,c}$$

Tap `j` looks `k-1-j` steps back. So: shift the whole sequence `k-1-j` steps later (zeros fill
the front), multiply by that tap's weights, add. No loop over time.
"""

# %%
def causal_conv_shift_add(x, w, b):
    """x: (B, T, C), w: (C, k), b: (C,) -> y: (B, T, C)."""
    T, k = x.size(1), w.size(1)
    y = b.expand_as(x).clone()
    for j in range(k):
        back = k - 1 - j  # how many steps tap j looks back
        # (B, T, C): x moved `back` steps later, zeros in front
        shifted = F.pad(x, (0, 0, back, 0))[:, :T]
        y = y + w[:, j] * shifted  # w[:, j]: (C,) broadcasts over B, T
    return y

B, T, C, k = 2, 16, 8, 3
x = torch.randn(B, T, C)
w = torch.randn(C, k)
b = torch.randn(C)
y = causal_conv_shift_add(x, w, b)
say("x", tuple(x.shape), "-> y", tuple(y.shape))

# %% [markdown]
"""
## 2. The same thing with `conv1d`

PyTorch's `F.conv1d` wants channels first, `(B, C, T)`. *Depthwise* means `groups=C`: each
channel is convolved with its own kernel of shape `(1, k)`, so the weight is `(C, 1, k)`.
Padding `k-1` zeros on the **left only** keeps length `T` and makes it causal.

**Think!** A full convolution would let every output channel read every input channel. Why is
a *depthwise* one enough here: where else in the block do channels mix?

<details><summary>Answer</summary>

Everywhere else. The gate `Linear(C, 2C)` and the FFN (`C → 4C → C`) mix channels at every
token, and so do the memory's scores `h · M[s]` (a sum over channels). What only the
convolution can do is move information **between tokens**, so it does just that, with `C·k`
weights instead of a full convolution's `C²·k` (1,536 against 786,432 at the paper's `C = 512`).
</details>
"""

# %%
def causal_conv_conv1d(x, w, b):
    """x: (B, T, C), w: (C, k), b: (C,) -> (B, T, C)."""
    k = w.size(1)
    # (B, C, T + k - 1): channels first, zeros before token 0
    xc = F.pad(x.transpose(1, 2), (k - 1, 0))
    yc = F.conv1d(xc, w.unsqueeze(1), b, groups=x.size(2))  # (B, C, T)
    return yc.transpose(1, 2)  # (B, T, C)

assert torch.allclose(causal_conv_conv1d(x, w, b), y, atol=1e-6), \
    "conv1d and shift-and-add disagree"
say("shift-and-add == depthwise conv1d")

# %% [markdown]
"""
## 3. No peeking

A language model predicts token `t+1` from tokens `..t`. If output `t` could see input `t+1`,
training would be cheating. Test it: change one later token and check that nothing earlier moves.
"""

# %%
t_changed = 10
x2 = x.clone()
x2[:, t_changed] += torch.randn(B, C)  # change token 10 only
y2 = causal_conv_shift_add(x2, w, b)

moved = (y2 - y).abs().amax(dim=(0, 2))  # (T,): largest change per position
say("largest change per output position:")
say([round(v, 3) for v in moved.tolist()])
assert torch.equal(y2[:, :t_changed], y[:, :t_changed]), \
    "an earlier output moved: the convolution sees the future"
assert (moved[t_changed:t_changed + k] > 0).all(), \
    "outputs t..t+k-1 should see the change"
assert (moved[t_changed + k:] == 0).all(), \
    "outputs beyond t+k-1 are out of reach of one layer"
say(f"changing token {t_changed} moves outputs "
    f"{t_changed}..{t_changed + k - 1} only")

# %% [markdown]
r"""
## 4. How far back can a stack see?

One layer sees `k` tokens (itself and `k-1` before). Each further layer adds `k-1` more, so `L`
layers see

$$L\,(k-1) + 1 \ \text{tokens}$$

That is `gamlab.receptive_field(L, k)`: **13** tokens for the paper's 6 layers with `k = 3`.
Rather than trust the formula, measure it: stack `L` convolutions, take the gradient of the
last output with respect to every input, and count the inputs with a non-zero gradient. With all
weights set to 1 the gradient counts the *paths* from input `s` to output `t`: the reach is not
flat, the middle of the window has many more paths than its edges.
"""

# %%
def influence(n_layer, k, T):
    """(n_layer, T): row l = number of paths from each input to the last
    output through l+1 layers."""
    rows = []
    for depth in range(1, n_layer + 1):
        convs = [gamlab.CausalConv1d(1, k, bias=False) for _ in range(depth)]
        for conv in convs:
            torch.nn.init.ones_(conv.weight)
        x1 = torch.zeros(1, T, 1, requires_grad=True)
        h = x1
        for conv in convs:
            h = conv(h)
        h[0, -1, 0].backward()  # output t = T-1
        rows.append(x1.grad[0, :, 0].clone())
    return torch.stack(rows)  # (n_layer, T)

max_depth, T_view = 6, 32
kernel_sizes = [2, 3, 4, 5]
reach = {k: influence(max_depth, k, T_view) for k in kernel_sizes}
for kk, r in reach.items():
    for depth in range(1, max_depth + 1):
        seen = int((r[depth - 1] > 0).sum())
        assert seen == gamlab.receptive_field(depth, kk), (kk, depth, seen)
say(f"measured reach == L*(k-1)+1 for k in {kernel_sizes}, "
    f"L = 1..{max_depth}")
# the paper's GAM sees 13 tokens: the current one and 12 before it
assert gamlab.receptive_field(6, 3) == 13
say("paper setting (L=6, k=3):", gamlab.receptive_field(6, 3),
    "tokens, the current one included")

# %% [markdown]
"""
Move the slider to change the kernel size `k` (it starts at the paper's `k = 3`); each row is a
depth `L` (1 at the top). Blue cells are the inputs that can reach output `t` (dotted line);
the colour is the number of paths, as a share of the row's largest; the vermillion marks are
where the formula says the window starts. Hover for the values.
"""

# %%
# k -> the first input each depth reaches, by the formula
first_seen = {kk: [T_view - gamlab.receptive_field(d, kk)
                   for d in range(1, max_depth + 1)]
              for kk in kernel_sizes}
fig = plots.receptive_field_explorer(reach, target=T_view - 1,
                                     bounds=first_seen, start=3)
fig

# %% [markdown]
"""
## 5. The library's version

`gamlab.CausalConv1d(C, k)` is an `nn.Conv1d` with `groups=C` (weight `(C, 1, k)`, bias
`(C,)`), and its forward is section 2's second form: transpose to channels first, pad `k - 1`
zeros on the left, call `conv1d`, transpose back. That is the reference, on every device. Its
faster form, `gamlab.blocks.optimized.ShiftAddCausalConv1d`, has the same parameters and computes
section 1's shift-and-add with a hand-written backward on a CPU (on a GPU it calls `conv1d`
too): `conv1d` wants channels first, and the transposes and padded copies cost time in the
block's `(B, T, C)` layout. `gamlab.build_model` puts it in every model by default. Feed both
the same input, and feed their weights to our hand-built function: the outputs must agree.
"""

# %%
conv = gamlab.CausalConv1d(C, k)  # the reference: conv1d
# its faster form
shift_add = gamlab.blocks.optimized.ShiftAddCausalConv1d(C, k)
shift_add.load_state_dict(conv.state_dict())  # the same parameters
with torch.no_grad():
    # weight (C, 1, k) -> (C, k)
    ours = causal_conv_shift_add(x, conv.weight[:, 0, :], conv.bias)
    lib, lib_shift_add = conv(x), shift_add(x)
outputs = {"CausalConv1d": lib, "ShiftAddCausalConv1d": lib_shift_add}
for name, out in outputs.items():
    assert torch.allclose(out, ours, atol=1e-6), \
        f"gamlab's {name} differs from the hand-built convolution"
    difference = (out - ours).abs().max().item()
    say(f"gamlab's {name} == ours, max difference {difference:.1e}")
n_params = sum(p.numel() for p in conv.parameters())
say("parameters:", n_params, "= C*k + C =", C * k + C)

# %% [markdown]
"""
Which is faster, the shift-and-add form or `conv1d`, and by how much? It depends on the CPU
(its vector units, its `conv1d` kernels) and on what else it is running, so measure it here:
forward + backward, best of a few repeats.
"""

# %%
from gamlab.experiments.timing import measure


def best_ms(fns, x, repeats):
    """Best time of fn(x).sum().backward() per function, in ms, over `repeats`
    rounds that run each once in turn (a busy moment slows both), one thread,
    after a warm-up round: other programs only ever add time."""
    steps = {name: lambda fn=fn: fn(x).sum().backward()
             for name, fn in fns.items()}
    return {name: t.best for name, t in measure(steps, repeats).items()}

# the block's sizes at C = 128
Bt, Tt, Ct = (2, 128, 64) if gamlab.fast_mode() else (8, 1024, 128)
repeats = 3 if gamlab.fast_mode() else 10
xt = torch.randn(Bt, Tt, Ct, requires_grad=True)
# CausalConv1d's shift-and-add form, what models use on a CPU
conv_t = gamlab.blocks.optimized.ShiftAddCausalConv1d(Ct, 3)
w_t = conv_t.weight[:, 0, :]  # (C, k)
ms = best_ms({"lib": conv_t,
              "ref": lambda x: causal_conv_conv1d(x, w_t, conv_t.bias)},
             xt, repeats)
ms_lib, ms_ref = ms["lib"], ms["ref"]
faster, slower = "shift-and-add", "conv1d"
if ms_ref < ms_lib:
    faster, slower = slower, faster
ratio = max(ms_lib, ms_ref) / min(ms_lib, ms_ref)
say(f"(B, T, C) = {(Bt, Tt, Ct)}: shift-and-add {ms_lib:.2f} ms,\n"
    f"  conv1d with transposes {ms_ref:.2f} ms")
say(f"{faster} is {ratio:.1f}× faster than {slower} (this CPU, now)")

# %% [markdown]
"""
## Exercises

Each exercise ends in a check that says what is right, or what is wrong in your answer and
where. Stuck? `exercises.hint("1.2")` gives one more hint each time you call it.

**1.1 Predict.** How many tokens (the current one included) does a stack of `L = 4` causal
convolutions with kernel `k = 5` see? Answer before you compute it.
"""

# %%
from gamlab import exercises

reach_4_layers_k5 = 17  # SOLUTION
# exercises.hint("1.1")
exercises.check("1.1", reach_4_layers_k5)

# %% [markdown]
"""
**1.2 Code.** Write the causal convolution once more, one output position at a time: output `t`
of channel `c` is `b[c] + sum_j w[c, j] * x[:, t-(k-1)+j, c]`, over the taps `j` whose input
exists. The check measures which inputs each of your outputs sees before it compares numbers.
"""

# %%
def causal_conv_loop(x, w, b):
    """x: (B, T, C), w: (C, k), b: (C,) -> (B, T, C), a loop over output
    positions t."""
    # BEGIN SOLUTION
    T, k = x.size(1), w.size(1)
    outputs = []
    for t in range(T):
        y_t = b.expand(x.size(0), -1)  # (B, C)
        for j in range(k):
            s = t - (k - 1) + j  # the input tap j reads
            if s >= 0:
                y_t = y_t + w[:, j] * x[:, s]
        outputs.append(y_t)
    return torch.stack(outputs, dim=1)  # (B, T, C)
    # END SOLUTION

# exercises.hint("1.2")
exercises.check("1.2", causal_conv_loop)

# %% [markdown]
"""
**1.3 Code.** WaveNet widens the reach without more layers by *dilating* the taps: with
dilation `d`, tap `j` looks `(k-1-j)*d` steps back instead of `k-1-j`. Write it in the
shift-and-add form of section 1. (Then think: how far back do `L` layers see when layer `l` has
dilation `2**l`?)
"""

# %%
def causal_conv_dilated(x, w, b, dilation):
    """x: (B, T, C), w: (C, k), b: (C,) -> (B, T, C); taps at t, t-d, ...,
    t-(k-1)d."""
    # BEGIN SOLUTION
    T, k = x.size(1), w.size(1)
    y = b.expand_as(x).clone()
    for j in range(k):
        back = (k - 1 - j) * dilation
        y = y + w[:, j] * F.pad(x, (0, 0, back, 0))[:, :T]
    return y
    # END SOLUTION

# exercises.hint("1.3")
exercises.check("1.3", causal_conv_dilated)

# %% [markdown]
"""
**What we saw:** a causal convolution is a few shifted copies of the sequence added together;
it never sees the future; `L` layers of kernel `k` see only the last `L(k-1)+1` tokens, the
current one included (13 in the paper's model: token `t` and the 12 before it);
`gamlab.CausalConv1d` is exactly this piece, computed with `conv1d`. On a CPU models use its
shift-and-add form (`gamlab.blocks.optimized.ShiftAddCausalConv1d`) by default; which of it and `conv1d` is
faster, and by how much, you measured above: it depends on the CPU and on its load.

**Further reading:** van den Oord et al., *WaveNet* (2016), stacks of causal convolutions (and
dilations, which widen the reach without more layers); Dauphin et al., *Language Modeling with
Gated Convolutional Networks* (2017); Wu et al., *Pay Less Attention with Lightweight and Dynamic
Convolutions* (2019), depthwise convolutions in place of attention; Howard et al., *MobileNets*
(2017), depthwise convolutions and why they are cheap.

**Next:** [Lesson 2](02_global_path.ipynb), the global path: an associative memory that every token
reads from.
"""
