# %% [markdown]
"""
# Lesson 4: The GAM block and the language model

We have the three pieces: the causal convolution (Lesson 1), the memory bank (Lesson 2) and the
gates (Lesson 3). Now we assemble them into one GAM block, show that it is `gamlab.GAMBlock`,
count its parameters next to a Transformer block and a Mamba-style block of the same width,
reproduce the parameter counts of the paper's three models, and run a whole (untrained) GAM
language model forward, all the way to a first generated sample.

**You will:** write the whole block line by line and load `gamlab.GAMBlock`'s weights into it;
count its parameters by hand against a Transformer block; find when GAM is the smaller block;
reproduce the paper's three parameter counts; run an untrained language model to a sample.

**Time:** about 30 minutes.

**Paper:** the GAM block as a whole (its Figure 1) and the language model around it; the
experimental setup (vocabulary 10,000, block size 256, `C = 512`, 6 layers); Table 1's
parameter counts (22.6M, 24.2M, 20.5M).

**The code behind this lesson:** `gamlab/blocks/gam.py`, `gamlab/blocks/ffn.py`,
`gamlab/model.py`.

Shapes: `B` batch, `T` tokens, `C` channels (`d_model`), `S` slots, `k` kernel size, `L` layers
(blocks), `V` vocabulary.
"""

# %% install

# %%
import math

import torch
import torch.nn.functional as F
from IPython.display import Markdown, display
from torch import nn

import gamlab
from gamlab import ModelConfig, build_model
from gamlab.blocks.ffn import feed_forward
from gamlab.inspection import plots
from gamlab.inspection.text import say
from gamlab.training.tokenizer import CharTokenizer

device = gamlab.pick_device()
say(gamlab.describe(device))
gamlab.seed_everything(0)
FAST = gamlab.fast_mode()

# %% [markdown]
"""
## 1. The block, assembled

With `x` the residual stream `(B, T, C)`, pre-norm as in the paper:

    h        = LayerNorm1(x)
    local    = causal depthwise conv(h)   # kernel k     (Lesson 1)
    w        = softmax(h @ M.T)           # M: (S, C)    (Lesson 2)
    global   = w @ M
    g_l, g_g = split(Linear(C -> 2C)(h))  # gate logits  (Lesson 3)
    x        = x + σ(g_l) * local + σ(g_g) * global
    x        = x + FFN(LayerNorm2(x))
    # FFN: C -> 4C -> GELU -> C -> dropout

The same as a picture (drawn by `gamlab.inspection.plots.gam_block_diagram`): two paths side by side, each
multiplied by its own gate, both added to the residual stream, then the FFN with its own
residual.
"""

# %%
plots.gam_block_diagram()

# %% [markdown]
"""
We give our block the same parts under the same names as the library's, so the library's
weights load into ours, and write the forward pass out line by line.
"""

# %%
class OurGAMBlock(nn.Module):
    def __init__(self, C, S, k, dropout=0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(C)
        self.conv = gamlab.CausalConv1d(C, k)  # weight (C, 1, k), bias (C,)
        self.memory = gamlab.AssociativeMemory(C, S)  # .slots: M, (S, C)
        self.gate = nn.Linear(C, 2 * C)
        self.norm2 = nn.LayerNorm(C)
        self.ffn = feed_forward(C, dropout)

    def forward(self, x):
        """x: (B, T, C) -> (B, T, C)."""
        C, k = x.size(-1), self.conv.weight.size(-1)
        h = self.norm1(x)
        # local path: left-pad k-1 zeros, depthwise conv over time
        h_padded = F.pad(h.transpose(1, 2), (k - 1, 0))  # (B, C, T + k - 1)
        local = F.conv1d(h_padded, self.conv.weight, self.conv.bias, groups=C)
        local = local.transpose(1, 2)  # (B, T, C)
        # global path: softmax over the S slots, weighted sum of slots
        M = self.memory.slots  # (S, C)
        w = torch.softmax(h @ M.T, dim=-1)  # (B, T, S)
        global_ = w @ M  # (B, T, C)
        # gates: one value per token and channel for each path
        g_l, g_g = self.gate(h).chunk(2, dim=-1)  # (B, T, C) each
        x = x + torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_
        return x + self.ffn(self.norm2(x))

paper = ModelConfig.preset("paper")  # C=512, S=512, k=3
lib_block = gamlab.GAMBlock(paper).eval()  # eval: dropout off
our_block = OurGAMBlock(paper.d_model, paper.n_slots, paper.conv_kernel).eval()
# strict: every name and shape must match
our_block.load_state_dict(lib_block.state_dict())

x = torch.randn(2, 64, paper.d_model)
with torch.no_grad():
    ours, lib = our_block(x), lib_block(x)
say("max difference:", f"{(ours - lib).abs().max().item():.1e}")
assert torch.allclose(ours, lib, atol=1e-4), \
    "our block differs from gamlab.GAMBlock"
say("our block == gamlab.GAMBlock (paper width C = 512, S = 512, k = 3)")

# %% [markdown]
"""
## 2. Parameters, next to a Transformer and a Mamba-style block

Same width `C = 512` (the paper's). Counting a GAM block by hand:
conv `Ck + C`, memory `SC`, gate `2C² + 2C`, two LayerNorms `4C`, FFN `8C² + 5C`.
A Transformer block swaps the conv, memory and gate for attention, `4C² + 4C` (q, k, v and the
output projection). The Mamba-style block has no FFN; its mixer widens to `D = expand · C`
(`expand = 3` in the paper).

GAM minus Transformer is `Ck + C + SC + 2C² + 2C − (4C² + 4C) = C(S + k − 1 − 2C)`: the GAM
block is the smaller one exactly while `S < 2C + 1 − k` (`S < 1022` at `C = 512`, `k = 3`).
"""

# %%
def count(module):
    return sum(p.numel() for p in module.parameters())

C, S, k = paper.d_model, paper.n_slots, paper.conv_kernel
bare_mamba = paper.replace(mamba_residual=False)
blocks = {
    "GAM": gamlab.GAMBlock(paper),
    "Transformer": gamlab.TransformerBlock(paper),
    "Mamba-style (paper: bare mixer)": gamlab.MambaBlock(bare_mamba),
}
# a table too wide for printed text: rendered as HTML
rows = ["| block (C = 512) | parameters | parts |", "|---|--:|---|"]
for name, blk in blocks.items():
    parts = ", ".join(f"{n} {count(m):,d}" for n, m in blk.named_children())
    rows.append(f"| {name} | {count(blk):,d} | {parts} |")
display(Markdown("\n".join(rows)))

ffn, norms = 8 * C * C + 5 * C, 4 * C
gam_by_hand = (C * k + C) + S * C + (2 * C * C + 2 * C) + norms + ffn
transformer_by_hand = (4 * C * C + 4 * C) + norms + ffn
assert count(blocks["GAM"]) == gam_by_hand
assert count(blocks["Transformer"]) == transformer_by_hand
say(f"GAM block by hand {gam_by_hand:,d}; "
    f"Transformer block by hand {transformer_by_hand:,d}")
# negative while S < 2C + 1 - k
assert gam_by_hand - transformer_by_hand == C * (S + k - 1 - 2 * C)

# %% [markdown]
"""
**Think!** The paper's GAM language model (22.6M) is smaller than its Transformer (24.2M), although
each GAM block carries a bank of 512 slots. Where, exactly, does it save the difference?

<details><summary>Answer</summary>

In the mixers, and only there: the embeddings, LayerNorms and FFNs are the same in both. At
`C = 512` attention's four projections (q, k, v, output) hold `4C² + 4C = 1,050,624` parameters;
GAM's gate holds `2C² + 2C = 525,312`, its memory `SC = 262,144` and its convolution
`Ck + C = 2,048`, together `789,504`. That is `261,120 = C(2C + 1 − k − S)` fewer per block, and
six blocks make `1,566,720 = 24,166,400 − 22,599,680`, the whole gap. The gate costs half of what
attention's projections cost; the slots spend part of the saving.
</details>
"""

# %% [markdown]
"""
## 3. The paper's three models

The language model around any block is the same shell (`gamlab.LanguageModel`): token embedding
plus learned position embedding, `L` blocks, a final LayerNorm, and an output head that shares
its weights with the token embedding. With the paper's settings (vocabulary 10,000, block size
256, `C = 512`, 6 layers, `S = 512`, `k = 3`; Mamba `d_state` 16, `d_conv` 4, `expand` 3) the
counts must come out as the paper reports: **22.6M** (GAM), **24.2M** (Transformer), **20.5M**
(Mamba). Building them takes a second or two.
"""

# %%
paper_counts = {"gam": 22_599_680, "transformer": 24_166_400,
                "mamba-bare": 20_504_576}
for name, expected in paper_counts.items():
    n = build_model(name, paper).num_params()
    say(f"{name:<12}{n:>12,d}  ({n / 1e6:.1f}M)")
    assert n == expected, \
        f"{name}: {n:,d} parameters, the paper's configuration: {expected:,d}"
embeddings = paper.vocab_size * C + paper.block_size * C
say(f"of which embeddings (tied head counted once): {embeddings:,d}")

# %% [markdown]
"""
## 4. A forward pass and a first sample

A small GAM model over characters: the tokenizer maps each character of a text to an id. The
model reads `(B, T)` ids and returns logits `(B, T, V)`: for every position, a score for every
possible next character. Id 0 is reserved for characters the tokenizer never saw (it decodes
them as `�`), so `V` is the number of distinct characters plus one. Untrained, its guesses are close to uniform, so the loss is close to
`ln V`, and a sample is noise. Training (Lesson 5) changes that.
"""

# %%
text = ("Once upon a time there was a small robot who liked to read. Every "
        "night it read one page and every morning it told the cat what the "
        "page said. ") * 4
tok = CharTokenizer.train(text)
preset = "tiny" if FAST or device.type == "cpu" else "small"
config = ModelConfig.preset(preset, vocab_size=tok.vocab_size)
model = build_model("gam", config).to(device).eval()
say(f"vocabulary V = {tok.vocab_size} ids ({tok.vocab_size - 1} characters "
    "+ the unknown id 0)")
say(f"model: {model.num_params():,d} parameters, C = {config.d_model}, "
    f"{config.n_layer} blocks, S = {config.n_slots}")

data = torch.tensor(tok.encode(text), device=device)
T = config.block_size
starts = torch.arange(0, len(data) - T - 1, T // 2)[:8]
idx = torch.stack([data[s:s + T] for s in starts])  # (B, T) inputs
# (B, T): the next character
targets = torch.stack([data[s + 1:s + T + 1] for s in starts])
with torch.no_grad():
    logits, loss = model(idx, targets)
say("idx", tuple(idx.shape), "-> logits", tuple(logits.shape))
uniform = math.log(tok.vocab_size)
say(f"loss {loss.item():.3f}  vs  ln V = {uniform:.3f} (uniform guessing)")
assert logits.shape == (len(starts), T, tok.vocab_size)
assert abs(loss.item() - uniform) < 0.5, \
    "an untrained model should guess near uniformly"

# %%
# (1, T0)
prompt = torch.tensor([tok.encode("Once upon a time")], device=device)
generator = torch.Generator(device=device).manual_seed(0)
# (1, T0 + 60)
out = model.generate(prompt, max_new_tokens=60, generator=generator)
sample = tok.decode(out[0].tolist())
# id 0, the unknown character, decodes as "\ufffd" (shown as �)
say(repr(sample))
assert out.shape == (1, prompt.size(1) + 60)
assert sample.startswith("Once upon a time")

# %% [markdown]
"""
## Exercises

Each exercise ends with a check: it says what is right, or what is wrong in your answer and
where. Uncomment the `exercises.hint(...)` line for a hint (one more each time you run it).

**4.1 Predict.** Keep the paper's width `C = 512` and kernel `k = 3`, and double the memory to
`S = 1024 = 2C` slots. How many more parameters (a positive number) or fewer (a negative one)
does the GAM block now have than a Transformer block of the same width? Reason before you
compute: at `S = 2C`, what do the memory and the gate weigh against attention's `4C²`?
"""

# %%
from gamlab import exercises

gam_minus_transformer = 1024  # SOLUTION
# exercises.hint("4.1")
exercises.check("4.1", gam_minus_transformer)

# %% [markdown]
"""
**4.2 Code.** Section 3 counted the paper's models with `num_params()`. Count a GAM language
model yourself: `gam_lm_params(config)` returns the number of parameters of
`build_model("gam", config)` from the config's fields alone (`vocab_size`, `block_size`,
`d_model`, `n_layer`, `n_slots`, `conv_kernel`). The check builds models of other sizes,
compares, and names the part you left out or counted twice.
"""

# %%
def gam_lm_params(config):
    """config: ModelConfig -> the parameter count of
    build_model("gam", config)."""
    # BEGIN SOLUTION
    C, S, k = config.d_model, config.n_slots, config.conv_kernel
    # one block, as counted in section 2
    conv, memory, gate = C * k + C, S * C, 2 * C * C + 2 * C
    block = conv + memory + gate + 4 * C + (8 * C * C + 5 * C)
    # tied embedding, positions, final norm
    shell = config.vocab_size * C + config.block_size * C + 2 * C
    return shell + config.n_layer * block
    # END SOLUTION


# exercises.hint("4.2")
exercises.check("4.2", gam_lm_params)

# %% [markdown]
"""
**4.3 Code.** Write the block's forward pass once more, this time from a `gamlab.GAMBlock`'s
own parts, without calling `block(x)`: `block.norm1`, `block.conv` (a module, `(B, T, C)` in
and out), `block.memory.slots` (`M`, `(S, C)`), `block.gate`, `block.norm2` and `block.ffn`.
The check runs it on a small block of its own; if the output differs, it says which line of
section 1 yours does differently.
"""

# %%
def gam_block_forward(block, x):
    """block: gamlab.GAMBlock, x: (B, T, C) -> (B, T, C), what block(x)
    returns."""
    # BEGIN SOLUTION
    h = block.norm1(x)
    local = block.conv(h)  # (B, T, C)
    M = block.memory.slots  # (S, C)
    global_ = torch.softmax(h @ M.T, dim=-1) @ M  # (B, T, C)
    g_l, g_g = block.gate(h).chunk(2, dim=-1)  # (B, T, C) each
    x = x + torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_
    return x + block.ffn(block.norm2(x))
    # END SOLUTION


# exercises.hint("4.3")
exercises.check("4.3", gam_block_forward)

# %% [markdown]
"""
**What we saw:** the GAM block is the three pieces plus a pre-norm FFN, and our line-by-line
version equals `gamlab.GAMBlock`; at the same width a GAM block has fewer parameters than a
Transformer block exactly while `S < 2C + 1 − k` (memory `SC` and gate `2C²` against attention's `4C²`); the paper's
22.6M / 24.2M / 20.5M models come out exactly; an untrained model guesses uniformly and babbles.

**Further reading:** Xiong et al., *On Layer Normalization in the Transformer Architecture*
(2020), why pre-norm blocks train stably; Press & Wolf, *Using the Output Embedding to Improve
Language Models* (2017), the tied head; Radford et al., *Language Models are Unsupervised
Multitask Learners* (GPT-2, 2019), the same shell around attention blocks.

**Next:** [Lesson 5](05_showdown.ipynb), training the three models side by side and comparing them fairly.
"""
