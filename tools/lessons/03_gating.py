# %% [markdown]
"""
# Lesson 3: Gating, fusing the two paths

A GAM block has two candidate updates for every token: `local`, from the causal convolution
(Lesson 1), and `global`, from the memory bank (Lesson 2). **Gates** decide how much of each
reaches the residual stream, separately for every token and every channel. In this lesson we
build the gated fusion by hand, check it against `gamlab.gating.fuse`, look at gate values
token by token, and switch between the paper's ablation variants.

Shapes: `B` batch, `T` tokens, `C` channels. Symbols as in the paper: `h` the normalised state,
`g_l` and `g_g` the two gate logits, `σ` the sigmoid.
"""

# %% install

# %%
import torch

import gamlab
from gamlab import ModelConfig, plots
from gamlab.config import FUSIONS
from gamlab.gating import fuse, make_gate
from gamlab.probes import probe

device = gamlab.pick_device()
print(gamlab.describe(device))
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
print("z    ", [f"{v:5.1f}" for v in z.tolist()])
print("σ(z) ", [f"{v:5.3f}" for v in torch.sigmoid(z).tolist()])
assert ((torch.sigmoid(z) > 0) & (torch.sigmoid(z) < 1)).all()
assert torch.allclose(torch.sigmoid(z) + torch.sigmoid(-z), torch.ones_like(z))   # symmetric around 1/2

# %% [markdown]
"""
## 2. Gated fusion by hand

One linear layer reads `h` and produces `2C` numbers per token; the first `C` are `g_l` (they
gate the local path), the last `C` are `g_g` (they gate the global path):

$$g_l, g_g = \mathrm{split}(W h + b), \qquad \text{update} = \sigma(g_l) \odot \text{local} + \sigma(g_g) \odot \text{global}$$

The gates have shape `(B, T, C)`: one value per token **and** per channel.
"""

# %%
B, T, C, S, k = 2, 12, 16, 32, 3
h = torch.randn(B, T, C)
conv, memory = gamlab.CausalConv1d(C, k), gamlab.AssociativeMemory(C, S)
gate = torch.nn.Linear(C, 2 * C)  # what make_gate(C, "gated") builds (gamlab.linear.Linear is an nn.Linear)

with torch.no_grad():
    local = conv(h)                                        # (B, T, C)
    global_, _ = memory(h)                                 # (B, T, C)
    g_l, g_g = gate(h).chunk(2, dim=-1)                    # (B, T, C) each
    update = torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_
    lib_update, lib_gates = fuse("gated", gate(h), local, global_)

print("gate logits", tuple(gate(h).shape), "-> g_l", tuple(g_l.shape), "g_g", tuple(g_g.shape))
assert isinstance(make_gate(C, "gated"), torch.nn.Linear) and make_gate(C, "gated").out_features == 2 * C
assert torch.allclose(lib_update, update, atol=1e-6), "gamlab.gating.fuse differs from the hand-built fusion"
assert torch.allclose(lib_gates["gate_local"], torch.sigmoid(g_l)) and torch.allclose(lib_gates["gate_global"], torch.sigmoid(g_g))
print("hand-built gated fusion == gamlab.gating.fuse('gated', ...)")

# %% [markdown]
"""
## 3. Gate values, token by token

Now the real thing: a small GAM language model (untrained, so its gates sit near 1/2 and vary
only by the random initial weights), fed one sentence byte by byte. `gamlab.probes.probe`
records every block's gates. Top: both gates of the first block, channels by tokens. Bottom: the
`C` gate values of one token; the slider picks the token. After training (a later lesson), the
same picture shows which tokens lean on which path.
"""

# %%
text = "the cat sat on the mat."
config = ModelConfig.preset("tiny")                        # byte vocabulary: 256 ids
model = gamlab.build_model("gam", config)
ids = torch.tensor(list(text.encode()))                    # (T,) one id per byte
internals = probe(model, ids)
print("gate_local", tuple(internals.gate_local.shape), "(layers, tokens, channels)")
assert ((internals.gate_local > 0) & (internals.gate_local < 1)).all()
assert ((internals.gate_global > 0) & (internals.gate_global < 1)).all()
fig = plots.gates_per_token(internals.gate_local[0], internals.gate_global[0], list(text))
fig

# %% [markdown]
"""
## 4. The paper's ablations, as code you can switch

The paper tests what each piece is worth (its Table 3, WikiText-2 validation perplexity, lower
is better):

| `fusion` | update | paper PPL |
|---|---|---|
| `"gated"` (full GAM) | `σ(g_l)·local + σ(g_g)·global` | 900.84 |
| `"global"` (memory only) | `σ(g_g)·global` | 905.45 |
| `"sum"` (no gates) | `local + global` | 942.59 |
| `"local"` (convolution only) | `σ(g_l)·local` | 944.70 |

In `gamlab` the variant is one field of the configuration, `ModelConfig(fusion=...)`, and each
has a model name (`gam`, `gam-global`, `gam-sum`, `gam-local`). A variant builds only the parts
it uses. Change `FUSION` and rerun the cell.
"""

# %%
FUSION = "sum"                                             # try "gated", "sum", "local", "global"

block = gamlab.GAMBlock(ModelConfig.preset("tiny", fusion=FUSION)).eval()
x = torch.randn(1, T, block.norm1.normalized_shape[0])
with torch.no_grad():
    h_b = block.norm1(x)
    local_b = block.conv(h_b) if block.conv is not None else None
    global_b = block.memory(h_b)[0] if block.memory is not None else None
    logits_b = block.gate(h_b) if block.gate is not None else None
    by_hand = {"gated": lambda: torch.sigmoid(logits_b[..., :x.size(-1)]) * local_b
                                + torch.sigmoid(logits_b[..., x.size(-1):]) * global_b,
               "sum": lambda: local_b + global_b,
               "local": lambda: torch.sigmoid(logits_b) * local_b,
               "global": lambda: torch.sigmoid(logits_b) * global_b}[FUSION]()
    lib, _ = fuse(FUSION, logits_b, local_b, global_b)
    y = block(x)
    expected = x + by_hand
    expected = expected + block.ffn(block.norm2(expected))
assert torch.allclose(lib, by_hand, atol=1e-6) and torch.allclose(y, expected, atol=1e-5)
print(f"fusion={FUSION!r}: block output == x + update + FFN, with the update built by hand")

# %%
print(f"{'model':<12}{'fusion':<8}{'conv':<6}{'memory':<8}{'gate':<12}{'params per block':>17}")
for fusion in FUSIONS:
    blk = gamlab.GAMBlock(ModelConfig.preset("tiny", fusion=fusion))
    name = "gam" if fusion == "gated" else f"gam-{fusion}"
    gate_shape = "none" if blk.gate is None else f"C->{blk.gate.out_features}"
    print(f"{name:<12}{fusion:<8}{blk.conv is not None!s:<6}{blk.memory is not None!s:<8}{gate_shape:<12}"
          f"{sum(p.numel() for p in blk.parameters()):>17,d}")
    assert (blk.conv is None) == (fusion == "global") and (blk.memory is None) == (fusion == "local")
    assert gamlab.build_model(name, ModelConfig.preset("tiny")).config.fusion == fusion

# %% [markdown]
"""
**What we saw:** a sigmoid gate is a soft, learnable switch; GAM computes one per token and per
channel for each path from `h` with a single `Linear(C, 2C)`; `gamlab.gating.fuse` is exactly
the hand-built fusion; the paper's ablations are one `fusion=` switch away.

**Next:** [Lesson 4](04_gam_block.ipynb), the whole GAM block and the language model around it.
"""
