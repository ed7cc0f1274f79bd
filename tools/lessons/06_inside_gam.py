# %% [markdown]
"""
# Lesson 6: Inside GAM, token by token

A trained GAM decides, for every token and every channel, how much of its **local** path (the
causal convolution) and of its **global** path (retrieval from the memory bank `M`) to add to
the residual stream. In this lesson we open a trained model and watch it do that:

1. get a trained GAM (load the one Lesson 5 or `gamlab train` saved, or the one gamlab ships,
   or train the same one here: half a minute on a busy 2-core CPU);
2. probe one text: gate values and retrieval weights for every layer, as plain tensors;
3. explore them with widgets: type a text, move through layers, pick a token, pick a slot.

**You will:** load a trained GAM (or train one here) and check that it beats the unigram loss;
probe one text for its gate values, retrieval weights and what each path adds to the residual
stream; measure how much the memory path adds next to the convolution, and explain the number
with Lesson 2's norms; find what a memory slot stands for; explore all of it with widgets.

**Time:** about 30 minutes (plus the training time section 1 prints, if it trains here).

**Paper:** Section 3, the GAM block of Figure 1: the gates `σ(g_l)`, `σ(g_g)` of the fusion step
and the retrieval weights `w = softmax(h Mᵀ)` of the global path, read in a trained model. The
paper reports no such look inside; this lesson makes it.

**The code behind this lesson:** `gamlab/inspection/probes.py`, `gamlab/inspection/views.py`,
`gamlab/inspection/widgets.py`.

Shapes: `L` layers, `T` tokens, `C` channels, `S` memory slots. Symbols as in the paper:
`σ(g_l)`, `σ(g_g)` the two gates, `w = softmax(h Mᵀ)` the retrieval weights.
"""

# %% install

# %%
import math
from pathlib import Path

import torch

import gamlab
from gamlab.experiments.timing import set_training_threads
from gamlab.experiments.runs import PRESETS, check_learned, trained_model
from gamlab.experiments.small_model import load_small_gam
from gamlab.experiments.sweep import load_tuned
from gamlab.inspection import plots
from gamlab.inspection.probes import probe, slot_usage
from gamlab.inspection.text import say
from gamlab.inspection.widgets import explore, pick_mode
from gamlab.training.data import load_texts

device = gamlab.pick_device()
# on a busy CPU (Colab, Binder) fewer threads train faster: as many as are free
set_training_threads(device)
say(gamlab.describe(device))
gamlab.seed_everything(0)

# %% [markdown]
"""
## 1. A trained GAM

Looking inside an untrained model shows only its random initialisation, so we need a trained
one: the GAM of Lesson 5's race, of the same preset (`tiny` on a CPU, `small` on a GPU, `fast`
in fast mode; `gamlab.experiments.runs.PRESETS`). One call of the run layer,
`trained_model`, gets it: it loads the run Lesson 5 (`notebooks/05_showdown.ipynb`) or
`gamlab train --model gam --out runs/gam` saved, if that run is this preset's model trained
on this data for this preset's steps, and otherwise trains one here with the same trainer (a
finished run is loaded again next time). On a CPU, when no such run is saved, it loads instead
the `tiny` GAM that gamlab ships (`gamlab/experiments/small_gam.pt`, the run Lesson 3 showed:
the same preset, data and steps, at the preset's default learning rate rather than the race's
tuned one), so that the lesson starts at once (training it took 28 s on
a 2-core CPU kept busy by two other programs); set `TRAIN = True` to train here. It prints
which run it got.

`DATASET` is Lesson 5's: leave it at `"embedded"`, or give it the value you gave Lesson 5 (the
path of your own `.txt` file, say) to look inside the GAM that Lesson 5 trained on that text.
gamlab ships no model of your text, so without Lesson 5's run it trains one here (300 steps of
the same size as the stories' run). Every number below is computed from the model this cell
gets.
"""

# %%
cpu_or_gpu = "small" if device.type == "cuda" else "tiny"
preset = PRESETS["fast" if gamlab.fast_mode() else cpu_or_gpu]
# the repository (from notebooks/ or notebooks/solutions/), or Colab's /content
here = (Path(".."), Path("../.."))
root = next((p for p in here if (p / "pyproject.toml").exists()), Path("."))
showdown = "showdown-fast" if gamlab.fast_mode() else "showdown"
# where Lesson 5 and `gamlab train --out runs/gam` save their GAM
RUNS = [root / "runs" / showdown / "gam", root / "runs" / "gam"]

DATASET = "embedded"  # Lesson 5's DATASET, e.g. "path/to/text.txt"
TRAIN = False  # True: train here when no saved run of this preset is found

# one folder per preset and data for the runs trained here
name = "" if DATASET == "embedded" else "-" + Path(DATASET).stem
out = root / "runs" / f"inside-{preset.name}{name}"
saved = [f for f in RUNS + [out] if (f / "checkpoint.pt").is_file()]
shipped = preset.name == "tiny" and DATASET == "embedded"
if shipped and not saved and not TRAIN:
    run = load_small_gam(device=device)  # shipped with gamlab
else:
    run = trained_model("gam", preset, DATASET, look_in=RUNS, out=out,
                        device=str(device), log=say)
say(run)  # which run: its folder, model, steps, preset and data
# Lesson 5's race trains each model at its tuned learning rate (a sweep's)
race_lr = load_tuned().get(preset.name, {}).get("lr", {}).get("gam")
if race_lr and not math.isclose(run.lr, race_lr):
    say(f"this run trained at lr {run.lr:g}, Lesson 5's race at its tuned "
        f"{race_lr:g}, so its loss differs from the race's GAM; every number "
        "below is measured on this run")
model, tokenizer, data = run.model, run.tokenizer, run.data

# Validation text only: no preset's run (up to 6000 stories) trains on it.
val_text = tokenizer.decode(data.val.tolist())
if data.name == "embedded":
    training = load_texts("embedded", n_stories=6000)[0].split("\n\n")
    shared = set(training) & set(val_text.split("\n\n"))
    assert not shared, "validation stories are in a training split"

# %% [markdown]
"""
Is it trained? A model that ignores context can do no better than the **unigram** loss (the
entropy of the character frequencies). A GAM that has learned anything sits below it (in fast
mode, a run of a few steps only has to beat a uniform guess).
"""

# %%
T = model.config.block_size
blocks = data.chunks("val")[:16]  # (16, T + 1): inputs and the next tokens
with torch.no_grad():
    _, val_loss = model(blocks[:, :-1].to(device), blocks[:, 1:].to(device))
val_loss = float(val_loss)
unigram = data.unigram_loss()  # frequencies counted on the training split
say(f"validation loss {val_loss:.3f} nats/token, unigram {unigram:.3f}")
# checked on the stories; on your own text said (a small text or one without
# patterns may not allow it), and what follows reads a model that uses little
what, bar = "the unigram counts", unigram
if gamlab.fast_mode():  # a run of a few steps only has to beat a uniform guess
    what, bar = "a uniform guess", math.log(data.vocab_size)
check_learned("this GAM", val_loss, what, bar, data.name)

# %% [markdown]
"""
## 2. Probing one text

`gamlab.inspection.probes.probe(model, ids)` runs the text once through every GAM block's
`forward_with_internals`, which returns the block's output and a record of what it computed,
and stacks those records per layer and per token. A normal forward stores nothing, and probing
leaves the outputs as they were (up to float rounding: a probed block computes `w` explicitly
rather than with the fused kernel).
"""

# %%
if data.name == "embedded":
    text = "There was a girl named Mia. Mia had a red ball."
else:  # your text: a passage of its validation split, cut at a space
    text = " ".join(val_text[:120].split()[:-1])
ids = torch.tensor(tokenizer.encode(text))[: model.config.block_size]  # (T,)
text = tokenizer.decode(ids.tolist())  # what is probed: at most one block
internals = probe(model, ids)
L, S = internals.n_layer, model.config.n_slots
say("gate_local ", tuple(internals.gate_local.shape), "  (L, T, C)")
say("weights    ", tuple(internals.weights.shape), "  (L, T, S)")
say("local_norm ", tuple(internals.local_norm.shape),
    "     (L, T): |σ(g_l) · local| per token")

with torch.no_grad():
    plain_logits, _ = model(ids[None].to(device))
plain = plain_logits[0].float().cpu()
assert torch.allclose(internals.logits, plain, atol=1e-4), "probing changed it"
gates = internals.gate_local
assert ((gates > 0) & (gates < 1)).all()  # sigmoids
ones = torch.ones(L, len(ids))
assert torch.allclose(internals.weights.sum(-1), ones, atol=1e-5)  # softmax

# %% [markdown]
"""
The mean gate values per layer and token (over the `C` channels). Values near 1 let a path
through, values near 0 shut it. Hover to read the numbers.
"""

# %%
tokens = [tokenizer.decode([i]) for i in ids.tolist()]
plots.gate_heatmap(internals.gate_local.mean(-1),
                   internals.gate_global.mean(-1), tokens)

# %% [markdown]
"""
How much does each path add? `internals.local_norm` and `internals.global_norm` are the sizes
(L2 norms over `C`) of `σ(g_l)·local` and `σ(g_g)·global`, per layer and token. Their ratio,
over 40 stretches of validation text and split by the kind of token, says how much the memory
path adds next to the convolution. Lesson 2 gives a reason to expect little: at
initialisation the read-out `w M` is a near-uniform average of slots that point every way, and
such an average almost cancels. Does that still hold after training? The cell measures it for
the model of section 1, and compares its slot norms and gates with where they started.
"""

# %%
chunks = data.chunks("val")[:40, :-1]  # (up to 40, T) validation text


def kind_of(previous, piece):
    """A token's kind; after a space (or first in the text) it starts a word."""
    if not piece.strip():
        return "space"
    return "word start" if piece[0].isspace() or previous[-1:].isspace() \
        else "in a word"


ratio, kind, gates = [], [], []
for chunk in chunks:
    inside = probe(model, chunk)
    gates.append((inside.gate_local.mean(), inside.gate_global.mean()))
    # (L, T): what memory adds / what the convolution adds
    ratio.append(inside.global_norm / inside.local_norm)
    pieces = [tokenizer.decode([i]) for i in chunk.tolist()]
    kind += [kind_of(q, p) for q, p in zip([" "] + pieces, pieces)]
ratio = torch.cat(ratio, dim=1)  # (L, N) over all N probed tokens
for name in ("space", "word start", "in a word"):
    at = torch.tensor([k == name for k in kind])
    say(f"{name:<11} ({int(at.sum()):>5} tokens): memory / convolution, "
        "median per layer:",
        "  ".join(f"{100 * float(r[at].median()):.1f}%" for r in ratio))


def means(rows):  # one mean per layer
    return [round(float(r.mean()), 2) for r in rows]


say("mean size of what each path adds, last chunk: convolution",
    means(inside.local_norm), " memory", means(inside.global_norm))
C = model.config.d_model
xavier = (2 * C / (S + C)) ** 0.5  # a slot row's expected norm at init
slots = [b.memory.slots.detach().norm(dim=-1) for b in model.blocks]
say("slot norms |M_s| per layer (mean):", means(slots),
    f" at initialisation (xavier): about {xavier:.2f}")

# The answers for this model, over every layer and probed token
share = float(ratio.median())  # memory / convolution
grown = float(torch.cat(slots).mean()) / xavier
gate_l, gate_g = (float(torch.stack(g).mean()) for g in zip(*gates))
say(f"\nmemory adds {100 * share:.1f}% of what the convolution adds "
    "(median): " + ("a small fraction" if share < 0.25 else
                      "not small: this model leans on its memory"))
say(f"slot norms are {grown:.2f} x xavier's: " +
    ("training moved them little" if 0.8 < grown < 1.25
       else "training changed them"))
say(f"mean gates: local {gate_l:.2f}, global {gate_g:.2f} "
    "(0.5: half open)")

# %% [markdown]
"""
Read the last lines above for the model in front of you. In the 300-step GAM of the `tiny`
preset on the embedded stories (the run gamlab ships, which this lesson loads on a CPU when no
run of yours is saved), the memory path adds about a twentieth to a tenth of what
the convolution adds, at every kind of token (no kind leans on the memory, not spaces nor word
starts); its slot norms stay about where xavier put them; its gates average near 0.5. A model
trained longer, or on other text, can differ: the cell says so when it does. Lesson 2 gives the
reason for the small share: at the paper's width, `h` has norm about 22.6 (`√C`) while the
first read-out `w M` has norm about 0.08, an average of slots that point every way, which
almost cancels. The convolution adds a weighted sum of `k` neighbouring `h` vectors, which does
not cancel. While training moves the slots little, the read-out stays an average of short
vectors, and gates near 0.5 pass the gap on rather than close it.

**Think!** What would make the memory path matter as much as the convolution?

<details><summary>Answer</summary>

A read-out as large as `local`. The read-out `w M` is a weighted average of slot rows, so its
norm is at most the largest `|M_s|`, and with weights spread over many slots it is far smaller.
It grows when the weights concentrate on a few slots (larger scores: larger slot norms act as a
learned temperature, Lesson 2) and when slot rows grow; both need many more steps than this run
takes, or a different initialisation (slots of norm about `√C`, like `h`). A scale on the
global path, or a LayerNorm after the read-out, would also do it, but that is a change to the
paper's block, not something training finds.
</details>
"""
# %% [markdown]
"""
What a memory slot stands for: average, over a corpus (here validation text), the weight
with which each token reads a slot. `slot_usage` returns the tokens that read it most.
"""

# %%
corpus = list(data.chunks("val")[:32, :-1].split(8))  # 4 batches of (8, T)
layer = L - 1
# a token of the probed text (the second "Mia" in the stories' sentence),
# and the slot it reads most
word = "Mia" if "Mia" in text else text.split()[-1]
at = len(tokenizer.encode(text[: text.rindex(word)]))
slot = int(internals.top_slots(layer, at, k=1)[0][0])
top_ids, top_w = slot_usage(model, corpus, layer=layer, slot=slot, top=8)
readers = zip(top_ids.tolist(), top_w.tolist())
say(f"layer {layer}: the last {word!r} reads slot {slot} most; over the "
    "corpus, that slot is read most by:\n ",
    ", ".join(f"{tokenizer.decode([i])!r} {w:.2f}" for i, w in readers))

# %% [markdown]
"""
## 3. Explore

The explorer below puts all of it behind controls:

- **example / text**: choose a text or type one and press Enter (the model runs again only then);
- **layer**: the heatmaps, bars and slot table follow the layer;
- **token**: the channel distribution of its gates and the top-5 slots it reads;
- **slot**: the corpus tokens that read this slot most;

and figures for the gate values (all layers), the retrieval weights (tokens x slots) and the
contributions of the two paths to the residual stream.

In JupyterLab and Jupyter Notebook these are live widgets. Where widgets cannot render (Colab
ships ipywidgets 7 and does not display plotly's `FigureWidget`), the same views come as plotly
figures with their own sliders and dropdowns for the first text. Force either path with
`explore(..., mode="static")` / `mode="widget"` or the environment variable `GAMLAB_WIDGETS`.
"""

# %%
# the probed text, then passages of the model's own validation text
# (the stories: the first sentence of four)
texts = [text]
if data.name == "embedded":
    texts.append("Tom had a small dog. The dog liked to run in the park.")
    texts += [s.split(". ")[0] + "." for s in val_text.split("\n\n")[:4]]
else:
    words = val_text.split()  # four passages of 20 words
    texts += [" ".join(words[i:i + 20]) for i in range(60, 140, 20)]
say("explorer path:", pick_mode())
explorer = explore(model, tokenizer, texts, corpus=corpus)
explorer

# %% [markdown]
"""
## What to look for

- **Layer 0 cannot use context in its memory read.** There `h` is the normalised embedding of
  the token and its position, so `w` depends on nothing else: the same character at the same
  place always reads the same slots. Only the convolution mixes neighbours, and only the
  layers above see its result. The memory bank `M` is one parameter, the same for every text:
  the global path is a learned lookup, not a memory of this text.
- **Which path does a token lean on?** Compare the two bars per token in the contributions
  figure: is the convolution's bar many times the memory's at every token and in every layer,
  as section 2's median for this model says, for the reason Lesson 2's two norms give?
- **How far back can a prediction look?** With kernel `k` and `L` layers, at most
  `L·(k−1)+1` tokens (the cell below prints it for this model). A name introduced earlier
  than that cannot be recalled
  through the global path, whatever the slots hold.
- **Slots are shared.** Pick a slot: the tokens that read it most are often a family (vowels,
  spaces and punctuation, capitals).
"""

# %%
reach = gamlab.receptive_field(model.config.n_layer, model.config.conv_kernel)
say(f"kernel {model.config.conv_kernel}, {model.config.n_layer} layers: "
    f"each prediction sees the last {reach} tokens")
assert reach == model.config.n_layer * (model.config.conv_kernel - 1) + 1

# %% [markdown]
"""
## Exercises

Each exercise ends with a check: `exercises.check` says whether your answer is right, and if
not, what is wrong in it. Uncomment the `exercises.hint(...)` line for a hint (one more each time).

**6.1 Predict.** A GAM with L = 3 layers and kernel k = 5 reads a long text. Change only the
token at position 0. Up to which position do the retrieval weights `w` of the top layer
(layer 2) change? Give a whole number (or `"all"`). Predict first; then try it with `probe` on
two texts that differ only in their first character.
"""

# %%
from gamlab import exercises

last_changed = 8  # SOLUTION
# exercises.hint("6.1")
exercises.check("6.1", last_changed)

# %% [markdown]
"""
**6.2 Code: the slot-usage table.** `slot_usage` (section 2) and the explorer's slot view
average, over a corpus, the weight with which each token reads each slot. Write that table
with plain tensor ops: `slot_means(ids, w, vocab_size)` takes a corpus's token ids `ids` (N,)
and their retrieval weights `w` (N, S) in one layer, and returns a (V, S) table whose row `v`
is the mean of `w[n]` over the reads with `ids[n] == v` (a row of zeros for a token that never
occurs).
"""

# %%
def slot_means(ids, w, vocab_size):
    """ids (N,) int64, w (N, S) -> (V, S): the mean weight with which each
    token id reads each slot."""
    # BEGIN SOLUTION
    table = torch.zeros(vocab_size, w.size(1), dtype=w.dtype)  # (V, S)
    sums = table.index_add_(0, ids, w)
    # (V,); 1 for unseen tokens, whose rows stay 0
    count = torch.bincount(ids, minlength=vocab_size).clamp(min=1)
    return sums / count[:, None]
    # END SOLUTION


# exercises.hint("6.2")
exercises.check("6.2", slot_means)

# %% [markdown]
"""
**6.3 Explore: a slot for capital letters.** In the explorer above, find a slot (in any layer)
whose top readers are mostly capital letters: the first letters of names and of sentences.
Move the slot control, or list a slot's readers with `explorer.slot_tokens(layer, slot)`. The
check counts the capitals among that slot's readers, as the explorer lists them (on your own
text without capitals it says so, and any slot counts).
"""

# %%
capital_slot = None  # (layer, slot), e.g. (0, 12)
# BEGIN SOLUTION
def n_capitals(layer, slot):  # how many of its top readers are capitals
    readers = explorer.slot_tokens(layer, slot)[0]
    return sum(t.strip()[:1].isupper() for t in readers)


every_slot = [(layer, s) for layer in range(L) for s in range(S)]
capital_slot = max(every_slot, key=lambda ls: n_capitals(*ls))
# END SOLUTION
# exercises.hint("6.3")
exercises.check("6.3", (explorer, capital_slot))

# %% [markdown]
"""
**What we saw:** a trained GAM beats the unigram loss, so it uses context, and all of that
context comes through the convolution: the memory bank is one parameter for every text, and in
layer 0 a token's retrieval weights depend only on the token and its place. How much the memory
path adds next to the convolution, how far training moved the slots and where the gates sit
were measured and printed in section 2 for the model section 1 named; while the slots stay
short, the read-out stays an average that almost cancels (Lesson 2's 0.08 against 22.6). A slot
is shared by the tokens that read it, often a family (exercise 6.3 looks for one of capitals);
and no prediction can use a token more than `L·(k−1)+1` places back.

**Further reading:** Acharya, *Gated Associative Memory: A Parallel O(N) Architecture for
Efficient Sequence Modeling* (arXiv 2509.00605, 2025), the block we opened; Elhage et al., *A
Mathematical Framework for Transformer Circuits* (2021), reading a model as contributions added
to a residual stream; Olah, Mordvintsev & Schubert, *Feature Visualization* (Distill, 2017), on
finding what a unit of a trained network responds to; Geva et al., *Transformer Feed-Forward
Layers Are Key-Value Memories* (2021), reading learned slots by the inputs that use them most.

**Next:** [Lesson 7](07_beyond_the_paper.ipynb), beyond the paper: a recall task that needs a
real memory, and a memory the sequence writes as it goes.
"""
