# %% [markdown]
"""
# Lesson 3: Gating, fusing the two paths

A GAM block has two candidate updates for every token: `local`, from the causal convolution
(Lesson 1), and `global`, from the memory bank (Lesson 2). **Gates** decide how much of each
reaches the residual stream, separately for every token and every channel. In this lesson we
build the gated fusion by hand, check it against `gamlab.blocks.gating.fuse`, look at gate values
token by token, and switch between the paper's ablation variants.

**You will:** build the gated fusion from a sigmoid and one linear layer; check it against
`gamlab.blocks.gating.fuse`; look at gate values per token and channel; switch between the paper's
ablations and count what each one removes.

**Time:** about 25 minutes.

**Paper:** the gating and fusion step (`σ(g_l)·local + σ(g_g)·global`, added to the residual
stream), the middle of Figure 1; Table 3 for the ablations.

**The code behind this lesson:** `gamlab/blocks/gating.py`; `gamlab/inspection/probes.py` reads
the gates.

Shapes: `B` batch, `T` tokens, `C` channels. Symbols as in the paper: `h` the normalised state,
`g_l` and `g_g` the two gate logits, `σ` the sigmoid.
"""

# %% install

# %%
import torch

import gamlab
from gamlab import ModelConfig
from gamlab.blocks.gating import fuse, make_gate
from gamlab.config import FUSIONS
from gamlab.experiments.small_model import load_small_gam
from gamlab.inspection import plots
from gamlab.inspection.probes import probe
from gamlab.inspection.text import say

device = gamlab.pick_device()
say(gamlab.describe(device))
gamlab.seed_everything(0)

# %% [markdown]
"""
## 1. A sigmoid gate

`σ(z) = 1 / (1 + e^{-z})` squashes any number into `(0, 1)`. Multiply a signal by it and you
get a soft switch: near 0 the signal is blocked, near 1 it passes, and because `σ` is smooth,
gradient descent can learn where to set it.
"""

# %%
z = torch.linspace(-6, 6, 7)
say("z    ", [f"{v:5.1f}" for v in z.tolist()])
say("σ(z) ", [f"{v:5.3f}" for v in torch.sigmoid(z).tolist()])
assert ((torch.sigmoid(z) > 0) & (torch.sigmoid(z) < 1)).all()
# symmetric around 1/2
assert torch.allclose(torch.sigmoid(z) + torch.sigmoid(-z), torch.ones_like(z))

# %% [markdown]
r"""
## 2. Gated fusion by hand

One linear layer reads `h` and produces `2C` numbers per token; the first `C` are `g_l` (they
gate the local path), the last `C` are `g_g` (they gate the global path):

$$g_l, g_g = \mathrm{split}(W h + b), \qquad \text{update} = \sigma(g_l) \odot \text{local} + \sigma(g_g) \odot \text{global}$$

The gates have shape `(B, T, C)`: one value per token **and** per channel.

**Think!** Why two independent sigmoids, rather than a softmax over the two paths (weights that
add up to 1)?

<details><summary>Answer</summary>

A softmax would force a trade: more local means less global, always `σ_l + σ_g = 1`. Two
sigmoids let a channel take both paths fully (`1, 1`), neither (`0, 0`, the token keeps its
residual stream as it is), or any mix. So the gates also set how *large* the update is, not
only its blend, and each path's gate learns from its own gradient.
</details>
"""

# %%
B, T, C, S, k = 2, 12, 16, 32, 3
h = torch.randn(B, T, C)
conv, memory = gamlab.CausalConv1d(C, k), gamlab.AssociativeMemory(C, S)
gate = torch.nn.Linear(C, 2 * C)  # what make_gate(C, "gated") builds

with torch.no_grad():
    local = conv(h)  # (B, T, C)
    global_, _ = memory(h)  # (B, T, C)
    g_l, g_g = gate(h).chunk(2, dim=-1)  # (B, T, C) each
    update = torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_
    lib_update, lib_gates = fuse("gated", gate(h), local, global_)

say("gate logits", tuple(gate(h).shape),
    "-> g_l", tuple(g_l.shape), "g_g", tuple(g_g.shape))
lib_gate = make_gate(C, "gated")
assert isinstance(lib_gate, torch.nn.Linear) and lib_gate.out_features == 2 * C
assert torch.allclose(lib_update, update, atol=1e-6), \
    "gamlab.blocks.gating.fuse differs from the hand-built fusion"
assert torch.allclose(lib_gates["gate_local"], torch.sigmoid(g_l))
assert torch.allclose(lib_gates["gate_global"], torch.sigmoid(g_g))
say("hand-built gated fusion == gamlab.blocks.gating.fuse('gated', ...)")

# %% [markdown]
"""
## 3. Gate values, token by token

Now the real thing: a small *trained* GAM language model, fed one sentence character by
character. It is the GAM of the `tiny` preset (2 blocks of width 64) trained for 300 steps on
the embedded stories, shipped with gamlab as `gamlab/experiments/small_gam.pt` so that it loads
in a second (training it takes minutes on a CPU; Lesson 6 trains or loads the same run); the
cell prints which run it is. An untrained model's gates would all sit near 1/2, varying only
with its random initial weights. `gamlab.inspection.probes.probe` records every block's gates.
Top: both gates of the first block, channels by tokens, on a fixed scale from 0 (shut) to 1
(open). Bottom: the `C` gate values of one token; the slider picks the token. Lesson 6 draws
the gates of every layer, averaged over the channels.
"""

# %%
run = load_small_gam()  # a TrainedRun of preset "tiny"
say(run)  # which run: steps, preset, data, validation loss
model, tokenizer = run.model, run.tokenizer
text = "The cat sat on the mat."
ids = torch.tensor(tokenizer.encode(text))  # (T,) one id per character
internals = probe(model, ids)
say("gate_local", tuple(internals.gate_local.shape),
    "(layers, tokens, channels)")
assert ((internals.gate_local > 0) & (internals.gate_local < 1)).all()
assert ((internals.gate_global > 0) & (internals.gate_global < 1)).all()
# the first block's gates, (T, C) each
tokens = [tokenizer.decode([i]) for i in ids.tolist()]
fig = plots.gates_per_token(internals.gate_local[0], internals.gate_global[0],
                            tokens)
fig

# %% [markdown]
"""
## 4. The paper's ablations, as code you can switch

The paper tests what each piece is worth (its Table 3, WikiText-2 validation perplexity, lower
is better). The author's code runs all three ablations **without gates**:

| paper's row | `fusion` | update | paper PPL |
|---|---|---|---|
| full GAM | `"gated"` | `σ(g_l)·local + σ(g_g)·global` | 900.84 |
| global only | `"global-nogate"` | `global` | 905.45 |
| sum fusion | `"sum"` | `local + global` | 942.59 |
| local only | `"local-nogate"` | `local` | 944.70 |

Two numbers for the full model: Table 3 reports 900.84, while Table 1 (the main comparison,
and Lesson 5) reports 882.57 for GAM on the same data. The paper gives both without saying
why they differ (presumably separate runs); compare rows within one table.

In `gamlab` the variant is one field of the configuration, `ModelConfig(fusion=...)`, and each
has a model name (`gam`, `gam-global-nogate`, `gam-sum`, `gam-local-nogate`). Two more keep a
one-path gate, a variant beyond the paper: `"local"` (`σ(g_l)·local`) and `"global"`
(`σ(g_g)·global`). A variant builds only the parts it uses. Change `FUSION` and rerun the cell.
"""

# %%
FUSION = "sum"  # try "gated", "sum", "local-nogate", "global", ...

block = gamlab.GAMBlock(ModelConfig.preset("tiny", fusion=FUSION)).eval()
x = torch.randn(1, T, block.norm1.normalized_shape[0])
with torch.no_grad():
    h_b = block.norm1(x)
    local_b = block.conv(h_b) if block.conv is not None else None
    global_b = block.memory(h_b)[0] if block.memory is not None else None
    logits_b = block.gate(h_b) if block.gate is not None else None
    C_b = x.size(-1)
    by_hand = {"gated": lambda: torch.sigmoid(logits_b[..., :C_b]) * local_b
                                + torch.sigmoid(logits_b[..., C_b:]) * global_b,
               "sum": lambda: local_b + global_b,
               "local": lambda: torch.sigmoid(logits_b) * local_b,
               "global": lambda: torch.sigmoid(logits_b) * global_b,
               "local-nogate": lambda: local_b,
               "global-nogate": lambda: global_b}[FUSION]()
    lib, _ = fuse(FUSION, logits_b, local_b, global_b)
    y = block(x)
    expected = x + by_hand
    expected = expected + block.ffn(block.norm2(expected))
assert torch.allclose(lib, by_hand, atol=1e-6)
assert torch.allclose(y, expected, atol=1e-5)
say(f"fusion={FUSION!r}: block output == x + update + FFN,")
say("with the update built by hand")

# %%
say(f"{'model':<20}{'fusion':<15}{'conv':<6}{'memory':<8}{'gate':<12}"
    f"{'params per block':>17}")
for fusion in FUSIONS:
    blk = gamlab.GAMBlock(ModelConfig.preset("tiny", fusion=fusion))
    name = "gam" if fusion == "gated" else f"gam-{fusion}"
    gate_shape = "none" if blk.gate is None else f"C->{blk.gate.out_features}"
    has_conv, has_memory = blk.conv is not None, blk.memory is not None
    n_params = sum(p.numel() for p in blk.parameters())
    say(f"{name:<20}{fusion:<15}{has_conv!s:<6}{has_memory!s:<8}"
        f"{gate_shape:<12}{n_params:>17,d}")
    assert has_conv != fusion.startswith("global")
    assert has_memory != fusion.startswith("local")
    model_config = gamlab.build_model(name, ModelConfig.preset("tiny")).config
    assert model_config.fusion == fusion

# %% [markdown]
"""
## Exercises

Each exercise ends with a check: it says what is right, or what is wrong in your answer and
where. Uncomment the `exercises.hint(...)` line for a hint (one more each time you run it).

**3.1 Predict.** One channel of one token: the local path says `local = 2`, the global path says
`global = 6`, and the gate logits are `g_l = 0` and `g_g = 10`. What update does GAM's gated
fusion add to the residual stream in this channel? Work it out before you compute it; two
decimals are enough.
"""

# %%
from gamlab import exercises

update_one_channel = 0.5 * 2 + 6 * torch.sigmoid(torch.tensor(10.0)).item()  # SOLUTION
# exercises.hint("3.1")
exercises.check("3.1", update_one_channel)

# %% [markdown]
"""
**3.2 Code.** Write the whole gate of section 2 from plain tensor operations, without
`nn.Linear`: the logits from `h` with a weight `W` of shape `(2C, C)` and a bias `b` of shape
`(2C,)` (laid out like `gate.weight` and `gate.bias`), split into `g_l` and `g_g`, then the gated
fusion. The check runs your function on inputs it draws and says what multiplies which path
when something is off. (Try it on section 2's tensors too: `gated_update(h, gate.weight,
gate.bias, local, global_)` should give `update`.)
"""

# %%
def gated_update(h, W, b, local, global_):
    """h, local, global_: (B, T, C); W: (2C, C); b: (2C,) -> update
    (B, T, C)."""
    # BEGIN SOLUTION
    g_l, g_g = (h @ W.T + b).chunk(2, dim=-1)  # (B, T, C) each
    return torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_
    # END SOLUTION


# exercises.hint("3.2")
exercises.check("3.2", gated_update)

# %% [markdown]
"""
**3.3 Explore.** Read the table above: how many parameters does the gated fusion's gate, the
`Linear(C, 2C)` that makes both `g_l` and `g_g`, add to one block of the tiny preset? Compare the
rows `gam` and `gam-sum`: both keep the convolution and the memory, and `gam-sum` drops only that
gate. (The one-path rows, `gam-local` against `gam-local-nogate`, differ by a different gate, a
one-path `Linear(C, C)`.) Then check your number against the gate's shape.
"""

# %%
gate_params = 46_016 - 37_696  # SOLUTION
# exercises.hint("3.3")
exercises.check("3.3", gate_params)

# %% [markdown]
"""
**What we saw:** a sigmoid gate is a soft, learnable switch; GAM computes one per token and per
channel for each path from `h` with a single `Linear(C, 2C)`; `gamlab.blocks.gating.fuse` is exactly
the hand-built fusion; the paper's ablations (no gates) are one `fusion=` switch away, and the
paper quotes the full model at 900.84 (Table 3) and 882.57 (Table 1).

**Further reading:** Hochreiter & Schmidhuber, *Long Short-Term Memory* (1997), sigmoid gates on
a memory; Srivastava et al., *Highway Networks* (2015), a gate on a residual path; Dauphin et
al., *Language Modeling with Gated Convolutional Networks* (2017), a sigmoid-gated convolution;
Shazeer, *GLU Variants Improve Transformer* (2020).

**Next:** [Lesson 4](04_gam_block.ipynb), the whole GAM block and the language model around it.
"""
