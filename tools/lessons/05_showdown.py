# %% [markdown]
"""
# Lesson 5: The showdown

The paper's main claim (its Table 1) is that GAM trains faster than a Transformer and a
Mamba-style model and reaches a lower validation perplexity. In this lesson we run that
experiment ourselves, small enough for the machine in front of us, and read the result with
care.

**You will:** size three models from one preset; train them on the same batches (or replay the
run `gamlab compare` saved); read a table in the layout of the paper's Table 1 next to the
unigram baseline; compare what the models write; list what one short run can and cannot show;
measure the race against count tables (n-grams) in the exercises.
**Time:** about 30 minutes (plus 3 to 8 minutes if you retrain the race on a CPU).
**Paper:** Section 4 (experiments) and Table 1, the comparison with a Transformer and Mamba.

What we keep the same, and what we cannot:

- **same data, same batches in the same order** (the batch of step `s` depends only on the seed and `s`);
- **same optimiser settings** (AdamW, warm-up then cosine, gradient clipping);
- **a parameter budget matched for Mamba only**: Mamba's expansion factor is chosen to bring its
  size closest to GAM's, but the Transformer keeps the preset's width and is larger (7.7% more
  parameters than GAM in the saved `tiny` run; section 2 prints the counts), a head start to
  keep in mind when it wins;
- **baselines built well**: the Transformer uses the fused attention kernel, and each Mamba
  mixer sits in a block with a norm and a residual connection (the paper's baselines had neither).

So the race is fair in data and optimiser, not quite in size. On a GPU the run uses bf16 and
larger models; on a CPU it takes a few minutes; in fast mode (CI) it takes seconds and the
numbers mean little.
"""

# %% install

# %%
import math
from pathlib import Path

from IPython.display import Markdown, display

import gamlab
from gamlab.runs import PRESETS, format_table, matched_config, model_config, sample
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
job = PRESETS[preset]
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
parameter count as closely as it can. Only Mamba is matched: compare the Transformer's count
with GAM's below.

**Think!** Why not also shrink the Transformer to GAM's size?

<details><summary>Answer</summary>

Its only size knobs are coarse: the width `C` must stay divisible by the number of heads `nh`,
and changing `C` or the number of layers changes every block at once. Any step lands further
from GAM's count than keeping the preset's width does, and a narrower model would also differ
from GAM in shape, not only in size. Keeping the width and naming the gap is more honest than a
match that changes the architecture.
</details>
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

**On a CPU the race takes minutes** (the `tiny` preset: 3 to 8 minutes, depending on the machine), too long for a
lecture. So by default a CPU replays the result that the project's own command saved, `gamlab
compare` (`make run`): `runs/compare/results.json` if you made one, else the copy in
`docs/compare_results.json`; the cell prints which file, and the figure and table below are
that run's. Set `RETRAIN = True` to train the race here instead. A GPU, and fast mode, always train.
"""

# %%
import json

# the repository (from notebooks/ or notebooks/solutions/), or Colab's /content
root = next((p for p in (Path(".."), Path("../..")) if (p / "pyproject.toml").exists()), Path("."))
out = root / "runs" / ("showdown-fast" if gamlab.fast_mode() else "showdown")

RETRAIN = False  # True: train the race here even on a CPU (minutes)
SAVED = [root / "runs" / "compare" / "results.json", root / "docs" / "compare_results.json"]  # by `gamlab compare`


def saved_run():
    """(path, results) of a saved `gamlab compare` run of this preset, data and models, or (None, None)."""
    for path in (p for p in SAVED if p.exists()):
        run = json.loads(path.read_text())
        if ((run.get("preset"), run.get("dataset"), run.get("vocab_size")) == (preset, data.name, data.vocab_size)
                and all(name in run["histories"] for name in MODELS)):
            return path, run
    return None, None


replay = device.type == "cpu" and not gamlab.fast_mode() and not RETRAIN
path, saved = saved_run() if replay else (None, None)
live = LiveLoss(MODELS, unigram=unigram, title=f"Loss on {data.name} ({data.tokenizer.kind} tokens)",
                mode="static" if saved else "auto")  # a replay redraws nothing: a plain figure will do
display(live)
rows, trained, saved_samples = [], {}, {}
if saved:  # replay: the figure, the table and the samples are that run's
    print(f"replaying {path}, a run of `gamlab compare --preset {preset}` ({saved['wall_seconds'] / 60:.0f} min; "
          f"{saved['describe']})\n-> set RETRAIN = True to train here instead")
    for name in MODELS:
        live.update(name, saved["histories"][name])
    rows = [row for row in saved["results"] if row["model"] in MODELS]
    saved_samples = {name: saved["samples"][name] for name in MODELS}
else:
    if replay:
        print("no saved `gamlab compare` run of this preset and data: training here (minutes on a CPU)")
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
for name, text in saved_samples.items():  # a replayed run: the samples `gamlab compare` wrote with it
    print(f"--- {name} (saved with the replayed run)\n{text}\n")

# %% [markdown]
"""
## 6. Reading the numbers honestly

What this run **does** show: on these data, at this size and this many steps, how the three
models' losses compare, and how fast each trains **with this implementation on this device**.

What it does **not** show:

- **A ranking that holds in general.** It is one seed, one short run and one size. Differences
  of a few hundredths of a nat are within what another seed would change. To see how much
  moves, add `tc = tc.replace(seed=1)` in section 1's code cell, on the line right after the
  one that makes `tc` and before `load_data` (the data take their batch order from the same
  seed), set `RETRAIN = True` in section 3 (the saved run is seed 0), and run the lesson again
  from section 1.
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

# %% [markdown]
"""
## Exercises

Each exercise ends with a check: `exercises.check` says whether your answer is right, and if not,
what is wrong in it. Uncomment the `exercises.hint` line for a hint (run it again for the next one).

**5.1 Predict.** A count table (an *n-gram*, `gamlab.ngram`) predicts the next token from the
n − 1 tokens before it, by counting. The paper's GAM has L = 6 blocks with kernel k = 3. Which
order n gives a count table that sees exactly the context the paper's GAM sees when it
predicts token t + 1? Decide before you compute.
"""

# %%
from gamlab import exercises

n_order = 14  # SOLUTION
# exercises.hint("5.1")
exercises.check("5.1", n_order)

# %% [markdown]
"""
**5.2 Code: perplexity.** The table's PPL column comes from the validation loss. Write
`perplexity(losses)`: given a (B, T) tensor of per-token losses (−log p of the right token, in
nats), return the perplexity as one number.
"""

# %%
def perplexity(losses):
    """losses (B, T): per-token cross-entropies in nats -> the perplexity, one number."""
    # BEGIN SOLUTION
    return losses.mean().exp()
    # END SOLUTION


# exercises.hint("5.2")
exercises.check("5.2", perplexity)

# %% [markdown]
"""
**5.3 Code: the bigram yardstick.** The unigram row ignores context. The next yardstick counts
pairs: write `bigram_loss(train_ids, val_ids, vocab_size, alpha)`, the validation loss of a
table `p(next | previous)` counted on `train_ids` with `alpha` added to every count (so that a
pair never seen in training keeps a small probability). Use plain tensor operations.
"""

# %%
import torch


def bigram_loss(train_ids, val_ids, vocab_size, alpha=0.01):
    """train_ids (N,), val_ids (M,) token ids -> validation cross-entropy (nats/token) of the bigram table."""
    # BEGIN SOLUTION
    V = vocab_size
    counts = torch.zeros(V, V, dtype=torch.float64)  # counts[previous, next]
    ones = torch.ones(len(train_ids) - 1, dtype=torch.float64)
    counts.index_put_((train_ids[:-1], train_ids[1:]), ones, accumulate=True)
    p = (counts + alpha) / (counts + alpha).sum(1, keepdim=True)  # each row sums to 1
    return float(-p[val_ids[:-1], val_ids[1:]].log().mean())
    # END SOLUTION


# exercises.hint("5.3")
exercises.check("5.3", bigram_loss)

# %% [markdown]
"""
Once 5.3 is right, read the race against the count tables: a model below the bigram uses more
than the previous token. And 5.1's idea for this lesson's GAM: the count table of order
`reach + 1` sees exactly what this GAM sees (`gamlab.ngram` counts it for you). Is the GAM
below it, or has it not yet learned all that its window holds? What about the Transformer,
which sees the whole block?
"""

# %%
from gamlab.ngram import ngram_loss, order_for_reach

if exercises.check("5.3", bigram_loss) and data.vocab_size <= 4096:  # a (V, V) table: fine for characters
    n = order_for_reach(reach)
    tables = {"unigram": unigram, "bigram": bigram_loss(data.train, data.val, data.vocab_size),
              f"{n}-gram (GAM's window)": ngram_loss(data.train, data.val, n, data.vocab_size)}
    for name, loss in tables.items():
        print(f"{name:<24} {loss:.3f} nats/token")
    for row in rows:
        print(f"{row['model']:<24} {row['val_loss']:.3f}")
else:
    print("solve 5.3 first (or use a character tokenizer: a BPE vocabulary makes the V x V table too big)")

# %% [markdown]
"""
**What we saw:** with the same batches and optimiser, three models of about the same size (the
Transformer about 8% larger) rank themselves on one short run (the saved `tiny` run, validation
loss in nats: Mamba 0.30, GAM 0.47, Transformer 1.57, not the paper's order); one seed, one size
and one step count cannot rank them in general, and seconds per epoch measure this code on this
device, not the ideas; GAM sees only its last `L·(k−1)+1` tokens, so a count table of that
order is the yardstick for what its window holds; the unigram row says how much any model uses
context at all.

**Further reading:** Vaswani et al., *Attention Is All You Need* (2017), the Transformer; Gu &
Dao, *Mamba: Linear-Time Sequence Modeling with Selective State Spaces* (2023); Dodge et al.,
*Show Your Work: Improved Reporting of Experimental Results* (2019), on seeds and budgets when
comparing models; Jurafsky & Martin, *Speech and Language Processing*, chapter 3 (n-gram
language models and perplexity).

**Next:** [Lesson 6](06_inside_gam.ipynb), a look inside the GAM trained here: what its memory
slots and gates do.
"""
