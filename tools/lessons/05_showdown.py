# %% [markdown]
"""
# Lesson 5: The showdown

The paper's main claim (its Table 1) is that GAM trains faster than a Transformer and a
Mamba-style model and reaches a lower validation perplexity. In this lesson we run that
experiment ourselves, small enough for the machine in front of us, and read the result with
care.

**You will:** size three models from one preset and give each its own tuned learning rate;
train them on the same batches over several seeds (or replay the run `gamlab compare` saved);
read a table in the layout of the paper's Table 1 with its spread, next to count tables that
estimate what a short window can hold; see the race per step and per second; measure who uses
context that GAM cannot see; see where a longer run reverses the ranking.

**Time:** about 35 minutes (plus 2 to 10 minutes a seed if you retrain the race on a CPU).

**Paper:** Section 4 (experiments) and Table 1, the comparison with a Transformer and Mamba.

**The code behind this lesson:** `gamlab/experiments/runs.py` (the presets and one run),
`gamlab/experiments/compare.py` (the race), `gamlab/experiments/race_record.py` (its record),
`gamlab/experiments/sweep.py` (learning rates), `gamlab/training/train.py` (the loop).

What we keep the same, and what we cannot:

- **same data, same batches in the same order** for a given seed (the batch of step `s`
  depends only on the seed and `s`), and a block of 512 characters: a whole story fits in it;
- **each model at its own learning rate**, the best of a grid found by `gamlab sweep` on a
  shorter run (section 2 prints them and the sweep behind them): one shared rate would favour
  whichever model it happens to suit;
- **several seeds**: each number is a mean ± standard deviation over seeds, and the reading
  says which gaps lie within that spread;
- **the same engineering** for every model (the same optimiser, the same fast-path policy),
  and baselines built well: the Transformer uses the fused attention kernel, and each Mamba
  mixer sits in a block with a norm and a residual connection (the paper's baselines had neither);
- **a parameter budget matched for Mamba only**: Mamba's expansion factor is chosen to bring its
  size closest to GAM's, but the Transformer keeps the preset's width and is larger (6.2% more
  parameters than GAM in the `tiny` preset; section 2 prints the counts), a head start to keep in mind when it wins.

So the race is fair in data, optimiser and tuning, not quite in size, and short: the regime
(steps and seconds) is part of every result. On a GPU the run uses mixed precision and larger
models: bf16 where the GPU has bf16 hardware (A100, L4, H100), fp16 with loss scaling on older
ones such as Colab's T4, whose bf16 would be emulated and slow (`PRECISION` in the first cell
chooses otherwise); on a CPU it trains in float32 and takes minutes; in fast mode (CI) it takes
seconds and the numbers mean little.
"""

# %% install

# %%
import math
from pathlib import Path

import torch
from IPython.display import HTML, display

import gamlab
from gamlab.experiments.timing import set_training_threads
from gamlab.experiments.compare import compare
from gamlab.experiments.race_record import RaceResult
from gamlab.experiments.runs import (PRESETS, check_learned, load_run_data,
                                    race_configs, train_config)
from gamlab.experiments.sweep import learning_rates, load_tuned
from gamlab.inspection.plots import context_gain, loss_panels, lr_sweep
from gamlab.inspection.text import say
from gamlab.inspection.widgets import LiveLoss
from gamlab.runtime import seed_everything
from gamlab.training.train import Trainer, make_optimizer, make_scheduler

device = gamlab.pick_device()
# "bf16", "fp16", "fp32", or "auto": bf16 on an A100/L4/H100, fp16 on a T4,
# fp32 on a CPU
PRECISION = "auto"
# on a busy CPU (Colab, Binder) fewer threads train faster: as many as are free
set_training_threads(device)
say(gamlab.describe(device, PRECISION))

# %% [markdown]
"""
## 1. Data and sizes

`DATASET` picks the text: `"embedded"` (the project's own stories, made offline in a second),
`"wikitext2"` or `"tinystories"` (downloaded by Hugging Face `datasets`, so they need the
network), or the path of your own `.txt` file. Offline, the real datasets fail with one clear
message and the lesson falls back to the embedded stories.

The model, its training and the data come from one of the presets that `gamlab compare --preset`
names (`gamlab.experiments.runs.PRESETS`): `tiny` on a CPU, `small` on a GPU, `fast` in fast
mode. The run layer turns the preset into a training configuration and the data, as the command does.
"""

# %%
DATASET = "embedded"  # or "wikitext2", "tinystories", "path/to/text.txt"
MODELS = ["gam", "transformer", "mamba"]

cpu_or_gpu = "small" if device.type == "cuda" else "tiny"
preset = PRESETS["fast" if gamlab.fast_mode() else cpu_or_gpu]
tc = train_config(preset, device=str(device), precision=PRECISION)
dataset = DATASET
try:
    data = load_run_data(preset, tc, dataset)
except gamlab.GamlabError as err:
    say(f"{err}\n-> using the embedded stories instead")
    dataset = "embedded"
    data = load_run_data(preset, tc, dataset)
unigram = data.unigram_loss()
say(f"preset {preset.name!r} | data {data.name!r}: "
    f"{data.train.numel():,} training and {data.val.numel():,} validation "
    f"tokens, vocabulary {data.vocab_size} ({data.tokenizer.kind})")
say(f"unigram baseline (a model that ignores context): "
    f"loss {unigram:.3f}, perplexity {math.exp(unigram):.2f}")

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
configs = race_configs(MODELS, preset, data.vocab_size)  # as `gamlab compare`
for name, config in configs.items():
    n = gamlab.build_model(name, config).num_params()
    say(f"{name:<12} {n:>10,} parameters")

# %% [markdown]
"""
**Each model's learning rate.** A learning rate that suits one architecture can starve or
destabilise another, so a race at one shared rate measures the rate as much as the models.
`gamlab sweep` trains every model at six rates (factors of 2 from 0.001 to 0.032) for a shorter
run (240 steps) and keeps the one with the lowest validation loss; the chosen rates are stored in
`gamlab/experiments/tuned_lr.json` with the command that made them, and `gamlab compare` uses them. The
figure shows the sweep's validation loss per rate: a flat bottom says the choice matters
little, a steep one that a shared rate would have tilted the race.
"""

# %%
# {model: (lr, where it came from)}
lrs = learning_rates(preset.name, MODELS, default=tc.lr)
for source in dict.fromkeys(source for _, source in lrs.values()):
    same = [f"{n} {lr:g}" for n, (lr, s) in lrs.items() if s == source]
    say("learning rates:", ", ".join(same), f"({source})")
stored = load_tuned().get(preset.name)
if stored:
    lr_sweep(stored).show()

# %% [markdown]
"""
**One loop for every model.** Every model in the race trains through the same `Trainer`
(`gamlab/training/train.py`). Stripped of what only a long run needs (checkpoints, a stop
signal, several GPUs, progress bars), its loop is a dozen lines, and the cell below runs them:
take batch `step` (a function of the seed and `step` only), run the model to get the mean
cross-entropy, backpropagate, clip the gradient norm to `grad_clip`, take an AdamW step
(`make_optimizer`: weight decay on matrices only) and a step of the learning-rate schedule
(`make_scheduler`: linear warm-up, then cosine). Then it trains the same model with the
`Trainer` and checks that both give exactly the same losses, step by step.

Two seeds make them equal: one before the model is built (its initial weights), and one when
training starts (the dropout masks), as the `Trainer` does. The check runs on the CPU in
float32; on a GPU the `Trainer` adds mixed precision, and in fp16 a `scaler` that multiplies
the loss by a large scale so that small gradients do not round to zero in 16 bits (in bf16
and fp32 it passes everything through).
"""

# %%
def train_by_hand(name, config, steps):
    """The Trainer's loop in plain code -> the training loss of each step."""
    seed_everything(tc.seed)  # the initial weights
    model = gamlab.build_model(name, config)
    opt = make_optimizer(model, tc.lr, tc.weight_decay, tc.betas)
    schedule = make_scheduler(opt, tc.warmup_for(steps), steps, tc.min_lr_ratio)
    seed_everything(tc.seed)  # the dropout masks
    losses = []
    for step in range(steps):
        idx, targets = data.get_batch("train", step)  # (B, T) each
        _, loss = model(idx, targets)  # mean cross-entropy
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        opt.step()
        schedule.step()
        losses.append(loss.item())
    return losses


STEPS = 5
# dropout on (the paper's 0.1), so that the random masks must match too
config = configs["gam"].replace(dropout=0.1)
by_hand = train_by_hand("gam", config, STEPS)

# The library's Trainer on the same model, batches and seed (CPU, float32)
seed_everything(tc.seed)  # the same initial weights as train_by_hand's
model = gamlab.build_model("gam", config)
check = tc.replace(steps=STEPS, eval_every=1, eval_batches=1,
                   device="cpu", precision="fp32")
trainer = Trainer(model, check, data.get_batch,
                  val_batches=data.val_batches, progress=False)
trainer.fit()
by_trainer = [entry["train_loss"] for entry in trainer.history]
for step, (a, b) in enumerate(zip(by_hand, by_trainer)):
    say(f"step {step}: by hand {a:.6f}, Trainer {b:.6f}")
assert len(by_trainer) == STEPS
assert by_hand == by_trainer, "the loop differs from the Trainer's"

# %% [markdown]
"""
## 3. The race

Each model trains in turn with the same trainer, once per seed; the figure redraws at every
evaluation of the first seed (solid: validation loss, dotted: training loss, dashed grey: the
unigram baseline). When the race trains here, the first seed's models are saved
(`runs/showdown/<model>/checkpoint.pt`, the format of `gamlab train`), and Lesson 6 looks
inside that GAM; a replay saves no model, so Lesson 6 then opens the GAM that gamlab ships
(the `tiny` preset on the stories, 300 steps at its default learning rate) or trains one.
Fast-mode runs go to `runs/showdown-fast/` instead, so they never replace a real run.

**On a CPU the race takes minutes** (the `tiny` preset: about 2 minutes a seed on a quiet 2-core
CPU, several on a busy one), too long for a lecture. So by default a CPU replays the result that the project's own
command saved, `docs/compare_results.json` (three seeds); the cell prints which file and
command, and the figures and table below are that run's. Set `RETRAIN = True` to train the race
here instead (`SEEDS` seeds). A GPU, and fast mode, always train.

Either way the race comes as one record, a `RaceResult` (`gamlab/experiments/race_record.py`):
its regime (preset, data, steps, machine), one entry per model with a run per seed, the
baselines and the reading. `gamlab compare` saves the same record as `results.json`, and
`RaceResult.load` reads it back, as this cell does for the replay.
"""

# %%
# the repository (from notebooks/ or notebooks/solutions/), or Colab's /content
here = (Path(".."), Path("../.."))
root = next((p for p in here if (p / "pyproject.toml").exists()), Path("."))
out = root / "runs" / ("showdown-fast" if gamlab.fast_mode() else "showdown")

RETRAIN = False  # True: train the race here even on a CPU (minutes)
SEEDS = 1  # seeds to train when training here; the saved run has 3
SAVED = [root / "runs" / "compare" / "results.json",  # by `gamlab compare`
         root / "docs" / "compare_results.json"]  # by the project


def saved_race():
    """(path, record) of the first saved race of these models, this
    preset and data, and tc's budget; (None, None) if there is none."""
    for path in (p for p in SAVED if p.exists()):
        try:
            race = RaceResult.load(path)
        except gamlab.GamlabError as err:
            say(f"not replaying: {err}")
            continue
        why = race.differs(preset, data, tc, MODELS)
        if why is None:
            return path, race
        say(f"not replaying {path}: it {why}")
    return None, None


replay = device.type == "cpu" and not gamlab.fast_mode() and not RETRAIN
path, saved = saved_race() if replay else (None, None)
title = (f"Loss on {data.name} ({data.tokenizer.kind} tokens), "
         f"preset {preset.name!r}")
# a replay redraws nothing: a plain figure will do, drawn once, whole
# (JupyterLab does not redraw a plain figure that is updated in place)
live = LiveLoss(MODELS, unigram=unigram, title=title,
                mode="static" if saved else "auto")
for name, history in (saved.histories() if saved else {}).items():
    live.update(name, history)
display(live)
if saved:  # replay: the figures, the table and the samples are that run's
    r = saved.regime
    say(f"replaying {path}: `{r.command}`, {len(r.seeds)} seeds, "
        f"{r.wall_seconds / 60:.0f} min ({r.describe})\n"
        "-> set RETRAIN = True to train here instead")
    race = saved
else:
    if replay:
        say("no saved `gamlab compare` run of this preset and data: "
            "training here (minutes on a CPU)")

    def redraw(name, seed, history):
        if seed == tc.seed:  # the first seed's curves
            live.update(name, history)

    race = compare(MODELS, preset, tc, data=data, seeds=SEEDS, lrs=lrs,
                   out=out, on_eval=redraw, log=say)
    say("saved:", ", ".join(str(out / n / "checkpoint.pt") for n in MODELS))
rows = race.rows()  # one per model: mean and spread over the seeds

# %% [markdown]
"""
## 4. The table

In the layout of the paper's Table 1: parameters, learning rate, training time (seconds, and
seconds per epoch over the training split), throughput, validation loss and perplexity
(`exp(loss)`), each as mean ± standard deviation over the seeds, and the context gain of
section 6. Below the models: the unigram baseline, and count tables (n-grams, `gamlab.experiments.ngram`)
counted on the same training split. The row marked (R) sees exactly what this GAM sees: the
last R tokens (section 6 explains R). For reference, the paper reports on WikiText-2 (BPE,
10,000 tokens, 5 epochs on a GPU):

| Model | Params | s/epoch | PPL |
|---|---|---|---|
| Transformer | 24.2M | 131.9 | 918.99 |
| Mamba | 20.5M | 127.1 | 1017.54 |
| GAM | 22.6M | 117.2 | 882.57 |

Why the (R) row is GAM's yardstick: a model that sees only the last R tokens cannot, in
expectation, predict the next one better than the best possible predictor from those R tokens,
whatever it learns. The count table *estimates* that best predictor from the training split,
with interpolated Kneser-Ney smoothing for contexts it saw rarely or never; it is an estimate,
not a bound: on little data it can come out above or below the true best. A GAM well above it
has probably not yet learned all its window holds; the longer tables show what a wider window
is worth on this text.

The table is HTML, so that it fits a projector; `print(race.table())` gives the same table as
text, as `gamlab compare` prints it. The lines under the table read it: a gap between two models
counts only if it is larger than about twice its standard error over seeds.

The table's validation loss is over the whole validation split, once training has ended; the
live curves of section 3 evaluate every `eval_every` steps on only `eval_batches` batches
so their last point can differ from the table in the second or third
decimal: the same model, measured on fewer tokens.
"""

# %%
display(HTML(race.html_table()))
say("\n".join(race.reading))
# every model beats a uniform guess, and a real run the unigram (it uses
# context): checked on the stories; on your own text said, as a small text
# (learned by heart) or one without patterns may not allow it
bars = {"a uniform guess": math.log(data.vocab_size)}
if not gamlab.fast_mode():
    bars["the unigram counts"] = unigram
for row in rows:
    for what, bar in bars.items():
        check_learned(row["model"], row["val_loss"], what, bar, data.name)

# %% [markdown]
"""
## 5. Per step, and per second

A step costs each model a different time, so "who is ahead" depends on the budget's unit. The
left panel is the race per optimizer step (the same data seen), the right one per second of
training on this machine (evaluation excluded). A model ahead per step can be behind per second.
The cell prints who leads at the first evaluation every model has reached, on each axis.
"""

# %%
where = f"{race.regime.dataset}, preset {race.regime.preset!r}"
loss_panels(race.histories(), unigram=unigram,  # the first seed's
            title=f"The race on {where}").show()
for by, unit in (("step", "steps"), ("elapsed", "s of training")):
    name, x = race.leader(by)
    say(f"ahead after {x:.3g} {unit}: {name}")

# %% [markdown]
"""
## 6. Who uses what GAM cannot see

GAM's memory bank is the same for every text, so the only path from an early token to a late
one is the stack of convolutions: a GAM of `L` blocks with kernel `k` sees the last
`R = L·(k−1)+1` tokens and nothing before them. `gamlab.inspection.context_use` measures what each model
draws from further back: it swaps every token at lag `d` or more for the tokens of another
validation text (positions kept) and reports how much the loss rises. For GAM the rise is
exactly zero from `d = R` on, by construction; for the Transformer and Mamba it is what they
gain from context GAM cannot reach (the table's last column is the value at `d = R`).

A gain a little below zero is noise, not harm: another text's far context cannot help a model on
average, but the rise is measured on a sample of validation windows and differs from seed to
seed; the table's ± is that spread, and the reading names any negative gain.
"""

# %%
reach, gam = race.reach, configs["gam"]
say(f"GAM here: L = {gam.n_layer} layers, kernel k = {gam.conv_kernel} "
    f"-> sees the last {reach} tokens; the Transformer sees all "
    f"{gam.block_size} tokens of its block")
context_gain({m.name: m.context_curve for m in race.models}, reach).show()
gam_gain = race.model("gam").row()["context_gain"]
assert abs(gam_gain) < 1e-5, "GAM cannot see beyond its reach: its gain is 0"

# %% [markdown]
"""
## 7. What they write

Each model continues the same prompt (temperature 0.8, the first seed). Loss numbers are
averages; samples show what the models actually picked up (spelling, names, sentence shapes).
"""

# %%
for m in race.models:
    say(f"--- {m.name}\n{m.sample}\n")

# %% [markdown]
"""
## 8. Reading the numbers honestly

What this run **does** show: on these data, at this size and **this many steps**, how the three
models' losses compare over a few seeds, and how fast each trains **with this implementation
on this device**.

What it does **not** show:

- **A ranking that holds at any budget.** A short run favours the model that learns its first
  facts fastest. GAM's convolution hands it local context from the first step, while the
  Transformer must first learn from scratch where to look; given more steps, it can catch up.
  The figure below is the project's longer run on the embedded stories (its data, preset and
  command are printed with it): where its curves cross, the ranking reverses.
- **Speed of the ideas.** Seconds per epoch measure this code: PyTorch's fused attention, a
  Mamba scan written in plain PyTorch (no fused CUDA kernel), GAM's convolution and matrix
  products. A dedicated kernel changes the picture; Lesson 0 measures the growth with sequence
  length, which is what "linear time" is about.
- **The paper's numbers.** Its baselines and training recipe differ from ours
  (`gamlab reproduce --recipe paper` follows the author's script; see docs/reproduce.md), and
  the unigram and count-table rows are the yardsticks for any perplexity.
"""

# %%
# `gamlab compare` with more steps, saved by the project
CROSSOVER = root / "docs" / "crossover_results.json"
if CROSSOVER.exists():
    long = RaceResult.load(CROSSOVER)
    r = long.regime
    say(f"`{r.command}`: {len(r.seeds)} seed(s), {r.steps} steps, "
        f"{r.wall_seconds / 60:.0f} min ({r.describe})")
    loss_panels(long.histories(), unigram=long.unigram,
                title=f"A longer race ({r.steps} steps) on {r.dataset}, "
                      f"preset {r.preset!r}: where the curves cross").show()
    say("\n".join(long.reading))
else:
    say(f"{CROSSOVER} is missing (it comes with the repository): "
        "see the README's results section.")

# %% [markdown]
"""
## Exercises

Each exercise ends with a check: `exercises.check` says whether your answer is right, and if not,
what is wrong in it. Uncomment the `exercises.hint` line for a hint (run it again for the next one).

**5.1 Predict.** A count table (an *n-gram*, `gamlab.experiments.ngram`) predicts the next token from the
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
    """losses (B, T): per-token cross-entropies in nats -> the perplexity."""
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
    """train_ids (N,), val_ids (M,) token ids -> validation cross-entropy
    (nats/token) of the bigram table."""
    # BEGIN SOLUTION
    V = vocab_size
    counts = torch.zeros(V, V, dtype=torch.float64)  # counts[previous, next]
    ones = torch.ones(len(train_ids) - 1, dtype=torch.float64)
    counts.index_put_((train_ids[:-1], train_ids[1:]), ones, accumulate=True)
    smoothed = counts + alpha
    p = smoothed / smoothed.sum(1, keepdim=True)  # each row sums to 1
    return float(-p[val_ids[:-1], val_ids[1:]].log().mean())
    # END SOLUTION


# exercises.hint("5.3")
exercises.check("5.3", bigram_loss)

# %% [markdown]
"""
Once 5.3 is right, read the race against the count tables: a model below the bigram uses more
than the previous token. And 5.1's idea for this lesson's GAM: the count table of order
`reach + 1` sees exactly what this GAM sees (`gamlab.experiments.ngram` counts it for you). Is the GAM
below it, or has it not yet learned all that its window holds? What about the Transformer,
which sees the whole block?
"""

# %%
from gamlab.experiments.ngram import ngram_loss, order_for_reach

V = data.vocab_size  # a (V, V) table: fine for characters
if exercises.check("5.3", bigram_loss) and V <= 4096:
    n = order_for_reach(reach)
    tables = {"unigram": unigram,
              "bigram": bigram_loss(data.train, data.val, V),
              f"{n}-gram (GAM's window)":
                  ngram_loss(data.train, data.val, n, V)}
    for name, loss in tables.items():
        say(f"{name:<24} {loss:.3f} nats/token")
    for row in rows:
        say(f"{row['model']:<24} {row['val_loss']:.3f}")
else:
    say("solve 5.3 first (or use a character tokenizer: a BPE vocabulary "
        "makes the V x V table too big)")

# %% [markdown]
"""
**What we saw:** the numbers come from the race in front of you, printed by the cell below:
the saved `tiny` run of `docs/compare_results.json` when this lesson replayed it, your own
run when it trained here. With the same batches and each model at its own tuned learning rate,
the reading gives the ranking at this budget and says which gaps exceed the spread over seeds.
Who leads can differ per step and per second, because the models' steps cost different times.
GAM sees only its last `R = L·(k−1)+1` tokens: its context gain beyond them is exactly zero,
and the distance to the (R) count table estimates how much of what that window holds it has
not learned yet. The models that see further draw what the last line says from context GAM
cannot see. The project's longer run, printed last, shows whether more steps reverse the
ranking: a ranking is a statement about a budget, not about the architectures.
"""

# %%
r = race.regime
say(f"The race above: {r.dataset}, preset {r.preset!r}, {r.steps} steps, "
    f"{len(r.seeds)} seed(s)")
say("\n".join(race.reading))
for by, unit in (("step", "steps"), ("elapsed", "s of training")):
    name, x = race.leader(by)
    say(f"ahead after {x:.3g} {unit}: {name}")
if CROSSOVER.exists():
    r, h = long.regime, long.histories()
    say(f"\nThe longer race: {r.dataset}, preset {r.preset!r}, "
        f"{r.steps} steps, {len(r.seeds)} seed(s)")
    say(long.reading[0])
    if {"gam", "transformer"} <= h.keys():
        passes = [t["step"] for t, g in zip(h["transformer"], h["gam"])
                  if t["val_loss"] < g["val_loss"]]
        say(f"the Transformer first below GAM at step {passes[0]}"
            if passes else "the Transformer never passes GAM")

# %% [markdown]
"""
**Further reading:** Vaswani et al., *Attention Is All You Need* (2017), the Transformer; Gu &
Dao, *Mamba: Linear-Time Sequence Modeling with Selective State Spaces* (2023); Dodge et al.,
*Show Your Work: Improved Reporting of Experimental Results* (2019), on seeds and budgets when
comparing models; Jurafsky & Martin, *Speech and Language Processing*, chapter 3 (n-gram
language models and perplexity).

**Next:** [Lesson 6](06_inside_gam.ipynb), a look inside the GAM trained here: what its memory
slots and gates do.
"""
