# %% [markdown]
"""
# Lesson 6: Inside GAM, token by token

A trained GAM decides, for every token and every channel, how much of its **local** path (the
causal convolution) and of its **global** path (retrieval from the memory bank `M`) to add to
the residual stream. In this lesson we open a trained model and watch it do that:

1. get a trained GAM (load the one Lesson 5 or `gamlab train` saved, or train one here: about 15
   seconds on a quiet 2-core CPU, several minutes on a busy one);
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
from pathlib import Path

import torch

import gamlab
from gamlab.experiments.runs import make_trainer
from gamlab.inspection import plots
from gamlab.inspection.probes import probe, slot_usage
from gamlab.inspection.widgets import explore, pick_mode
from gamlab.training.checkpoint import load_checkpoint
from gamlab.training.data import load_data, load_texts, run_dataset, unigram_loss
from gamlab.training.train import TrainConfig, load_run

device = gamlab.pick_device()
print(gamlab.describe(device))
gamlab.seed_everything(0)

# %% [markdown]
"""
## 1. A trained GAM

Looking inside an untrained model shows only its random initialisation, so we need a trained
one. If Lesson 5 (`notebooks/05_showdown.ipynb`) or the command `gamlab train --model gam --out
runs/gam` has saved a run, we load it; otherwise we train a small GAM here on the project's own
stories (character tokens), with the same trainer. Empty `RUNS` to force training here.
"""

# %%
RUNS = ["runs/showdown/gam", "runs/gam"]  # where Lesson 5 and `gamlab train` save their GAM
found = [p for run in RUNS for p in (Path(run), Path("..") / run) if (p / "checkpoint.pt").exists()]

if found:
    model, tokenizer, history = load_run(found[0], device=device)
    saved = load_checkpoint(found[0])
    dataset = run_dataset(saved)  # the text the run trained on: a name, or the path of your own file
    print(f"loaded {found[0]}: {model.name}, {model.num_params():,} parameters, {history[-1]['step']} steps "
          f"on {saved.get('dataset', dataset)}")
    # Check its loss on its own dataset's validation text, encoded with its own tokenizer. An embedded
    # story's split depends on its number alone, so these 60 are validation stories of the run too.
    train_text, val_text = load_texts(dataset, n_stories=600)
    train_ids, val_ids = (torch.tensor(tokenizer.encode(text)[:200_000]) for text in (train_text, val_text))
    val_ids = val_ids[:20_000]
else:
    fast, gpu = gamlab.fast_mode(), device.type == "cuda"
    T, dataset, n_stories = 64, "embedded", 300 if fast else (3000 if gpu else 2000)
    train_text, val_text = load_texts(dataset, n_stories=n_stories)
    data = load_data(dataset, tokenizer="char", block_size=T, batch_size=8 if fast else 32, n_stories=n_stories)
    tokenizer = data.tokenizer
    config = gamlab.ModelConfig.preset("small" if gpu else "tiny", vocab_size=data.vocab_size, block_size=T,
                                       n_layer=2 if fast else 4)
    steps = 30 if fast else (1500 if gpu else 160)  # 160 steps: 12 s on a quiet 2-core CPU, 27 s with 1 thread at load 6
    tc = TrainConfig.preset("tiny", steps=steps, batch_size=data.batch_size, eval_every=max(1, steps // 5),
                            eval_batches=4, device=str(device))
    trainer = make_trainer("gam", config, data, tc)  # the run layer: seed, build, Trainer (as gamlab train)
    model = trainer.model
    history = trainer.fit()
    train_ids = data.train
    model.eval()
    val_ids = data.val[:20_000]
    print(f"trained {model.num_params():,} parameters for {steps} steps in {trainer.elapsed:.0f} s")

# Evaluate on validation text only: no preset's run (up to 6000 stories, gamlab.experiments.runs.PRESETS) trains on it.
if dataset == "embedded":
    training_stories = set(load_texts("embedded", n_stories=6000)[0].split("\n\n"))
    assert not training_stories & set(val_text.split("\n\n")), "the validation stories are in a training split"

# %% [markdown]
"""
Is it trained? A model that ignores context can do no better than the **unigram** loss (the
entropy of the character frequencies). A GAM that has learned anything sits below it.
"""

# %%
T = model.config.block_size
blocks = val_ids[: (len(val_ids) - 1) // (T + 1) * (T + 1)].view(-1, T + 1)[:16]  # (16, T + 1)
with torch.no_grad():
    _, val_loss = model(blocks[:, :-1].to(device), blocks[:, 1:].to(device))
unigram = unigram_loss(train_ids, val_ids, model.config.vocab_size)  # frequencies from training text
print(f"validation loss {float(val_loss):.3f} nats/token, unigram {unigram:.3f}")
assert float(val_loss) < unigram, "the model has not learned anything beyond token frequencies"

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
text = "There was a girl named Mia. Mia had a red ball."
ids = torch.tensor(tokenizer.encode(text))[: model.config.block_size]  # (T,)
internals = probe(model, ids)
L, S = internals.n_layer, model.config.n_slots
print("gate_local ", tuple(internals.gate_local.shape), "  (L, T, C)")
print("weights    ", tuple(internals.weights.shape), "  (L, T, S)")
print("local_norm ", tuple(internals.local_norm.shape), "     (L, T): |σ(g_l) · local| per token")

with torch.no_grad():
    plain_logits, _ = model(ids[None].to(device))
assert torch.allclose(internals.logits, plain_logits[0].float().cpu(), atol=1e-4), "probing changed the output"
assert ((internals.gate_local > 0) & (internals.gate_local < 1)).all()  # sigmoids
assert torch.allclose(internals.weights.sum(-1), torch.ones(L, len(ids)), atol=1e-5)  # softmax over S slots

# %% [markdown]
"""
The mean gate values per layer and token (over the `C` channels). Values near 1 let a path
through, values near 0 shut it. Hover to read the numbers.
"""

# %%
tokens = [tokenizer.decode([i]) for i in ids.tolist()]
plots.gate_heatmap(internals.gate_local.mean(-1), internals.gate_global.mean(-1), tokens)

# %% [markdown]
"""
How much does each path add? `internals.local_norm` and `internals.global_norm` are the sizes
(L2 norms over `C`) of `σ(g_l)·local` and `σ(g_g)·global`, per layer and token. Their ratio,
over 40 stretches of validation text and split by the kind of token, says how much the memory
path adds next to the convolution.
"""

# %%
chunks = val_ids[: len(val_ids) // T * T].view(-1, T)[:40]  # (up to 40, T) validation text
ratio, kind = [], []
for chunk in chunks:
    inside = probe(model, chunk)
    ratio.append(inside.global_norm / inside.local_norm)  # (L, T): memory's addition / convolution's
    pieces = [tokenizer.decode([i]) for i in chunk.tolist()]
    kind += ["space" if not p.strip() else "word start" if p[0].isspace() or q[-1:].isspace() else "in a word"
             for q, p in zip([" "] + pieces, pieces)]  # the first token counts as a word start
ratio = torch.cat(ratio, dim=1)  # (L, N) over all N probed tokens
for name in ("space", "word start", "in a word"):
    at = torch.tensor([k == name for k in kind])
    print(f"{name:<11} ({int(at.sum()):>5} tokens): memory / convolution, median per layer:",
          "  ".join(f"{100 * float(r[at].median()):.1f}%" for r in ratio))
means = lambda rows: [round(float(r.mean()), 2) for r in rows]  # one mean per layer
print("mean size of what each path adds, last chunk: convolution", means(inside.local_norm),
      " memory", means(inside.global_norm))
xavier = (2 * model.config.d_model / (S + model.config.d_model)) ** 0.5  # a slot row's expected norm at init
print("slot norms |M_s| per layer (mean):", means([b.memory.slots.detach().norm(dim=-1) for b in model.blocks]),
      f" at initialisation (xavier): about {xavier:.2f}")

# %% [markdown]
"""
The memory path adds a small fraction of what the convolution adds (about 5 to 10% in the
160-step model trained here; read the numbers above for yours), and a similar fraction at every
kind of token: no kind of token leans on the memory, not spaces nor word starts, and the
contributions figure of section 3 shows the same at each token of one text. Lesson 2 prepared
the reason. At the paper's width, `h` has norm about 22.6 (`√C`) while the first read-out
`w M` has norm about 0.08: it is a near-uniform average of slots that point every way, and such
an average almost cancels. The convolution adds a weighted sum of `k` neighbouring `h`
vectors, which does not cancel. Training moves the slots little (their norms above are still
about where xavier put them), so the read-out stays an average of short vectors, and both
gates sit near 0.5 (the heatmap above): they pass the gap on rather than close it.

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
What a memory slot stands for: average, over a corpus (here validation stories), the weight
with which each token reads a slot. `slot_usage` returns the tokens that read it most.
"""

# %%
corpus = list(val_ids[: len(val_ids) // T * T].view(-1, T)[:32].split(8))  # 4 batches of (8, T)
layer = L - 1
mia = len(tokenizer.encode(text[: text.rindex("Mia")]))  # position of the second "Mia"
slot = int(internals.top_slots(layer, mia, k=1)[0][0])   # the slot it reads most
top_ids, top_w = slot_usage(model, corpus, layer=layer, slot=slot, top=8)
print(f"layer {layer}: the second 'Mia' reads slot {slot} most; over the corpus, that slot is read most by:\n ",
      ", ".join(f"{tokenizer.decode([i])!r} {w:.2f}" for i, w in zip(top_ids.tolist(), top_w.tolist())))

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
stories = val_text.split("\n\n")  # validation stories of the model's own dataset (section 1)
texts = [text, "Tom had a small dog. The dog liked to run in the park with Tom."]
texts += [s.split(". ")[0] + "." for s in stories[:4]]
print("explorer path:", pick_mode())
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
  figure: the convolution's bar is many times the memory's at every token and in every layer
  (section 2 measured about 5 to 10%), for the reason Lesson 2's two norms give.
- **How far back can a prediction look?** With kernel `k` and `L` layers, at most
  `L·(k−1)+1` tokens (the cell below prints it for this model). A name introduced earlier than that cannot be recalled
  through the global path, whatever the slots hold.
- **Slots are shared.** Pick a slot: the tokens that read it most are often a family (vowels,
  spaces and punctuation, capitals).
"""

# %%
reach = gamlab.receptive_field(model.config.n_layer, model.config.conv_kernel)
print(f"kernel {model.config.conv_kernel}, {model.config.n_layer} layers: each prediction sees the last {reach} tokens")
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
    """ids (N,) int64, w (N, S) -> (V, S): the mean weight with which each token id reads each slot."""
    # BEGIN SOLUTION
    sums = torch.zeros(vocab_size, w.size(1), dtype=w.dtype).index_add_(0, ids, w)  # (V, S)
    count = torch.bincount(ids, minlength=vocab_size).clamp(min=1)  # (V,); 1 for unseen tokens: their rows stay 0
    return sums / count[:, None]
    # END SOLUTION


# exercises.hint("6.2")
exercises.check("6.2", slot_means)

# %% [markdown]
"""
**6.3 Explore: a slot for capital letters.** In the explorer above, find a slot (in any layer)
whose top readers are mostly capital letters: the first letters of names and of sentences.
Move the slot control, or list a slot's readers with `explorer.slot_tokens(layer, slot)`. The
check counts the capitals among that slot's readers, as the explorer lists them.
"""

# %%
capital_slot = None  # (layer, slot), e.g. (0, 12)
# BEGIN SOLUTION
def n_capitals(layer, slot):  # how many of the slot's top readers begin with a capital letter
    return sum(t.strip()[:1].isupper() for t in explorer.slot_tokens(layer, slot)[0])


capital_slot = max(((l, s) for l in range(L) for s in range(S)), key=lambda ls: n_capitals(*ls))
# END SOLUTION
# exercises.hint("6.3")
exercises.check("6.3", (explorer, capital_slot))

# %% [markdown]
"""
**What we saw:** a trained GAM beats the unigram loss, so it uses context, and all of that
context comes through the convolution: the memory bank is one parameter for every text, and in
layer 0 a token's retrieval weights depend only on the token and its place. The memory path adds
between a twentieth and a tenth of what the convolution adds, at every kind of token and in every layer,
because its read-out is an average of slots that stays short (Lesson 2's 0.08 against 22.6)
and training moves the slots little. The gates average near 0.5; a slot is shared by the
tokens that read it, often a family (exercise 6.3 looks for one of capitals); and no prediction
can use a token more than `L·(k−1)+1` places back.

**Further reading:** Acharya, *Gated Associative Memory: A Parallel O(N) Architecture for
Efficient Sequence Modeling* (arXiv 2509.00605, 2025), the block we opened; Elhage et al., *A
Mathematical Framework for Transformer Circuits* (2021), reading a model as contributions added
to a residual stream; Olah, Mordvintsev & Schubert, *Feature Visualization* (Distill, 2017), on
finding what a unit of a trained network responds to; Geva et al., *Transformer Feed-Forward
Layers Are Key-Value Memories* (2021), reading learned slots by the inputs that use them most.

**Next:** [Lesson 7](07_beyond_the_paper.ipynb), beyond the paper: a recall task that needs a
real memory, and a memory the sequence writes as it goes.
"""
