# %% [markdown]
"""
# Lesson 5: The showdown

The paper's main claim (its Table 1) is that GAM trains faster than a Transformer and a
Mamba-style model and reaches a lower validation perplexity. In this lesson we run that
experiment ourselves, small enough for the machine in front of us, and read the result with
care.

A fair race needs the same track for everyone:

- **same data, same batches in the same order** (the batch of step `s` depends only on the seed and `s`);
- **same optimiser settings** (AdamW, warm-up then cosine, gradient clipping);
- **a matched parameter budget** (Mamba's expansion factor is chosen to bring its size closest to GAM's);
- **fair baselines**: the Transformer uses the fused attention kernel, and each Mamba mixer sits
  in a block with a norm and a residual connection (the paper's baselines had neither).

On a GPU the run uses bf16 and larger models; on a CPU it takes a few minutes; in fast mode
(CI) it takes seconds and the numbers mean little.
"""

# %% install

# %%
import math
from pathlib import Path

from IPython.display import Markdown, display

import gamlab
from gamlab.compare import JOBS, format_table, matched_config, model_config, sample
from gamlab.data import load_data
from gamlab.train import Trainer, TrainConfig
from gamlab.widgets import LiveLoss

device = gamlab.pick_device()
print(gamlab.describe(device))

# %% [markdown]
"""
## 1. Data and sizes

`DATASET` picks the text: `"embedded"` (the project's own stories, made offline in a second),
`"wikitext2"` or `"tinystories"` (downloaded by Hugging Face `datasets`, so they need the
network), or the path of your own `.txt` file. Offline, the real datasets fail with one clear
message and the lesson falls back to the embedded stories.

The sizes come from the presets of `gamlab compare`: `tiny` on a CPU, `small` on a GPU, `fast` in fast mode.
"""

# %%
DATASET = "embedded"  # or "wikitext2", "tinystories", "path/to/text.txt"
MODELS = ["gam", "transformer", "mamba"]

preset = "fast" if gamlab.fast_mode() else ("small" if device.type == "cuda" else "tiny")
job = JOBS[preset]
tc = TrainConfig.preset(job.train_preset, **dict(job.train_changes, device=str(device)))
block_size = model_config(job, 256).block_size
try:
    data = load_data(DATASET, block_size=block_size, batch_size=tc.batch_size, seed=tc.seed, **job.data)
except gamlab.GamlabError as err:
    print(f"{err}\n-> using the embedded stories instead")
    data = load_data("embedded", block_size=block_size, batch_size=tc.batch_size, seed=tc.seed, **job.data)
unigram = data.unigram_loss()
print(f"preset {preset!r} | data {data.name!r}: {data.train.numel():,} training and {data.val.numel():,} "
      f"validation tokens, vocabulary {data.vocab_size} ({data.tokenizer.kind})")
print(f"unigram baseline (a model that ignores context): loss {unigram:.3f}, perplexity {math.exp(unigram):.2f}")

# %% [markdown]
"""
## 2. Three models, one budget

GAM and the Transformer keep the preset's width; Mamba's `expand` is picked to match GAM's
parameter count as closely as it can.
"""

# %%
base = model_config(job, data.vocab_size)
target = gamlab.build_model("gam", base).num_params()
configs = {name: matched_config(name, base, target) for name in MODELS}
for name, config in configs.items():
    print(f"{name:<12} {gamlab.build_model(name, config).num_params():>10,} parameters")

# %% [markdown]
"""
## 3. The race

Each model trains in turn with the same trainer; the figure redraws at every evaluation
(solid: validation loss, dotted: training loss, dashed grey: the unigram baseline). Each
trained model is saved (`runs/showdown/<model>/checkpoint.pt`, the format of `gamlab train`),
so Lesson 6 can look inside the GAM without training it again. Fast-mode runs go to
`runs/showdown-fast/` instead, so they never replace a real run.
"""

# %%
root = Path("..") if Path("../pyproject.toml").exists() else Path(".")  # the repository, or Colab's /content
out = root / "runs" / ("showdown-fast" if gamlab.fast_mode() else "showdown")
live = LiveLoss(MODELS, unigram=unigram, title=f"Loss on {data.name} ({data.tokenizer.kind} tokens)")
display(live)

rows, trained = [], {}
for name in MODELS:
    gamlab.seed_everything(tc.seed)
    model = gamlab.build_model(name, configs[name])
    trainer = Trainer(model, tc, data.get_batch, val_batches=data.val_batches, out=out / name,
                      steps_per_epoch=data.steps_per_epoch, progress=True,
                      on_eval=lambda history, name=name: live.update(name, history),
                      meta={"model_name": name, "model_config": model.config.to_dict(),
                            "tokenizer": data.tokenizer.to_dict(), "dataset": data.name})
    trainer.fit()
    rows.append(trainer.summary())  # validation loss over the whole validation split
    trained[name] = trainer.model
print("saved:", ", ".join(str(out / name / "checkpoint.pt") for name in MODELS))

# %% [markdown]
"""
## 4. The table

In the layout of the paper's Table 1: parameters, training time (seconds, and seconds per
epoch over the training split), throughput, validation loss and perplexity (`exp(loss)`),
and the unigram baseline for scale. For reference, the paper reports on WikiText-2
(BPE, 10,000 tokens, 5 epochs on a GPU):

| Model | Params | s/epoch | PPL |
|---|---|---|---|
| Transformer | 24.2M | 131.9 | 918.99 |
| Mamba | 20.5M | 127.1 | 1017.54 |
| GAM | 22.6M | 117.2 | 882.57 |
"""

# %%
print(format_table(rows, unigram))
uniform = math.log(data.vocab_size)  # the loss of a model that guesses uniformly
for row in rows:
    assert row["val_loss"] < uniform, f"{row['model']} did not learn at all"
    if not gamlab.fast_mode():  # a real run must beat the unigram baseline: it uses context
        assert row["val_loss"] < unigram, f"{row['model']} is no better than letter counts"
best = min(rows, key=lambda r: r["val_loss"])
display(Markdown(f"Lowest validation loss: **{best['model']}** ({best['val_loss']:.3f}, PPL {best['ppl']:.2f})."))

# %% [markdown]
"""
## 5. What they write

Each model continues the same prompt (temperature 0.8, same seed). Loss numbers are averages;
samples show what the models actually picked up (spelling, names, sentence shapes).
"""

# %%
n_new = 60 if gamlab.fast_mode() else 200
for name, model in trained.items():
    print(f"--- {name}\n{sample(model, data.tokenizer, prompt='Once upon a time', n=n_new, seed=0)}\n")

# %% [markdown]
"""
## 6. Reading the numbers honestly

What this run **does** show: on these data, at this size and this many steps, how the three
models' losses compare, and how fast each trains **with this implementation on this device**.

What it does **not** show:

- **A ranking that holds in general.** It is one seed, one short run and one size. Differences
  of a few hundredths of a nat are within what another seed would change; rerun with
  `tc = tc.replace(seed=1)` and see how much moves.
- **Speed of the ideas.** Seconds per epoch measure this code: PyTorch's fused attention, a
  Mamba scan written in plain PyTorch (no fused CUDA kernel), GAM's convolution and matrix
  products. A dedicated kernel changes the picture; Lesson 0 measures the growth with sequence
  length, which is what "linear time" is about.
- **Long-range memory.** GAM's memory bank is the same for every text, so the only path from an
  early token to a late one is the stack of convolutions: `L·(k−1)+1` tokens. The cell below
  prints that reach next to the block size. Whatever lies further back (the name of a character
  met in the first sentence) GAM cannot see, while attention can.
- **The paper's numbers.** Its baselines differ from ours (no fused attention, Mamba without
  norms or residuals), and the unigram row of our table is the yardstick for any perplexity:
  a model is only using context to the extent that it sits below it.
"""

# %%
reach = gamlab.receptive_field(base.n_layer, base.conv_kernel)
print(f"GAM here: L = {base.n_layer} layers, kernel k = {base.conv_kernel} -> sees the last {reach} tokens; "
      f"the Transformer sees all {base.block_size} tokens of its block")
assert reach < base.block_size
