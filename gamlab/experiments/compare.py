"""The race: GAM, a Transformer and a Mamba-style model on the same data, side by side.

Same tokens, the same batches in the same order for a given seed, each model at its own
learning rate (tuned by `gamlab sweep`, gamlab/experiments/sweep.py), a matched parameter budget; each
seed trains every model once. `compare` returns the rows of the paper's Table 1 layout
(race_table.format_table) as mean and standard deviation over seeds, each model's history, a
sample, how much each model draws from context beyond GAM's reach (gamlab.inspection.context_use), and
count-table baselines (gamlab.experiments.ngram) at GAM's reach and beyond, as one typed record
(gamlab.experiments.race_record.RaceResult). The command `gamlab compare` (gamlab/commands/compare.py)
prints it and saves it as results.json, beside loss_curves.html.

Parameter matching: GAM's block costs about 10 C^2 + S C, the Transformer's 12 C^2, Mamba's
about 3 * expand * C^2. A model whose block has a budget knob (gamlab.model.budget_knob:
Mamba's expand) gets the value 1..8 that brings its count closest to GAM's; the others keep
the preset's sizes. The table prints every count.

Used in notebooks/05_showdown.ipynb.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from pathlib import Path

import torch

from ..blocks.conv import receptive_field
from ..errors import GamlabError
from ..inspection.context_use import context_use
from ..model import MODELS, budget_knob
from ..runtime import check_seed, describe, pick_device, pick_precision
from .ngram import ngram_losses, order_for_reach
from .race_record import MEASURED, ModelRace, RaceResult, Regime, SeedRun, aggregate, mean_std  # noqa: F401
from .runs import load_run_data, make_trainer, model_config, race_configs, sample, sample_prompt

DEFAULT_MODELS = ("gam", "transformer", "mamba")
# context_use's sample: 8 validation blocks, 16 cuts each (about 128 losses per lag).
CONTEXT_BLOCKS, CONTEXT_CUTS = 8, 16


def parse_models(text: str) -> list[str]:
    """"gam,transformer" -> ["gam", "transformer"]; GamlabError for an empty, unknown or repeated name."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise GamlabError("--models is empty; give names such as gam,transformer,mamba.")
    for n in names:
        if n not in MODELS:
            raise GamlabError(f"Unknown model {n!r}; choose from {', '.join(MODELS)}.")
    if len(set(names)) != len(names):
        raise GamlabError("--models names a model twice; list each once.")
    return names


def count_tables(data, reach: int, longer: int = 2) -> dict[int, float]:
    """{n: validation loss} of Kneser-Ney n-gram count tables on the run's training split for
    the orders that see R = reach tokens (n = R + 1) and `longer` more: estimates of the best
    predictor of a window that size (yardsticks, not bounds; gamlab.experiments.ngram)."""
    n_reach = order_for_reach(reach)
    losses = ngram_losses(data.train, data.val, data.vocab_size, max_n=n_reach + longer)
    return {n: losses[n] for n in range(n_reach, n_reach + longer + 1)}


def compare(names, preset, tc, *, dataset: str = "embedded", tokenizer: str | None = None, seeds: int = 1,
            lrs: dict[str, tuple[float, str]] | None = None, context: bool = True, progress: bool = True,
            on_eval=None, out=None, data=None, log=print) -> RaceResult:
    """Train each model in `names` on the same data and batches, once per seed.

    preset: a runs.RunPreset; tc: its TrainConfig (tc.seed is the first seed; seeds tc.seed,
    tc.seed + 1, ... each draw their own initial weights and batch order).
    lrs: {model: (learning rate, where it came from)}, gamlab.experiments.sweep.learning_rates'
        answer; a model not in it trains at tc.lr ("preset, not tuned").
    context: measure each trained model's context gain beyond GAM's reach (gamlab.inspection.context_use).
    on_eval: called as on_eval(name, seed, history) after each evaluation (live plots).
    out: a folder; the first seed's run of each model saves its checkpoint in out/<model>
        (the format of `gamlab train`, read by gamlab.training.run_folder.load_run and lesson 6).
    data: the run's TextData when the caller has already loaded it (runs.load_run_data's, for
        this preset and dataset); None loads it.
    log: receives one line per stage (print by default).

    Returns the race's record (gamlab.experiments.race_record.RaceResult): the regime, the
    baselines, one ModelRace per model with a SeedRun per seed, and the reading. Losses in
    nats/token. Raises GamlabError for seeds < 1.
    """
    if seeds < 1:
        raise GamlabError(f"--seeds must be a positive number of seeds, got {seeds}.")
    check_seed(tc.seed + seeds - 1, f"the last seed (--seed {tc.seed} + --seeds {seeds} - 1)")
    t0 = time.perf_counter()
    data = load_run_data(preset, tc, dataset, tokenizer) if data is None else data
    unigram = data.unigram_loss()
    configs = race_configs(names, preset, data.vocab_size)
    base = model_config(preset, data.vocab_size)  # the preset's model, before any budget match
    reach = receptive_field(base.n_layer, base.conv_kernel)
    log(f"data: {data.name}, {data.tokenizer.kind} tokenizer (vocab {data.vocab_size}), "
        f"{data.train.numel():,} training / {data.val.numel():,} validation tokens; "
        f"unigram baseline: val loss {unigram:.3f} (PPL {math.exp(unigram):.2f})")
    ngrams = count_tables(data, reach)
    log("count tables: " + ", ".join(f"{n}-gram {loss:.3f}" for n, loss in ngrams.items())
        + f" (the {order_for_reach(reach)}-gram sees what GAM sees: R = {reach} tokens)")
    lrs = {name: (lrs or {}).get(name, (tc.lr, "preset, not tuned")) for name in names}
    _warm_up(configs, data, tc.device, tc.precision)
    models = {name: ModelRace(name, lrs[name][0], lrs[name][1], {}, []) for name in names}
    curves = {name: [] for name in names}
    for seed in range(tc.seed, tc.seed + seeds):
        seeded = dataclasses.replace(data, seed=seed)  # same tokens, this seed's batch order
        for name in names:
            config = configs[name]
            run_tc = tc.replace(seed=seed, lr=lrs[name][0])
            hook = None if on_eval is None else (lambda history, name=name, seed=seed: on_eval(name, seed, history))
            folder = None if out is None or seed != tc.seed else Path(out) / name
            trainer = make_trainer(name, config, seeded, run_tc, out=folder, progress=progress, on_eval=hook)
            log(f"training {name} (seed {seed}, lr {run_tc.lr:g}, {trainer.model.num_params():,} params, "
                f"{trainer.total} steps of {run_tc.batch_size} x {config.block_size} tokens) ...")
            trainer.fit()
            row = trainer.summary()  # validation over the whole split
            knob = budget_knob(name)  # e.g. Mamba's expand, set to match GAM's parameter count
            models[name].config_changes = {knob: getattr(config, knob)} if knob else {}
            gain = None
            if context:
                use = context_use(trainer.model, data.val, reach=reach, n_blocks=CONTEXT_BLOCKS, n_cuts=CONTEXT_CUTS)
                gain = use.gain
                curves[name].append(use.by_distance.tolist())
            numbers = {k: row[k] for k in ("params", "steps", "seconds", "cpu_seconds", "s_per_epoch",
                                            "tokens_per_s", "val_loss", "ppl")}
            models[name].runs.append(SeedRun(seed=seed, lr=run_tc.lr, context_gain=gain,
                                             history=list(trainer.history), **numbers))
            if seed == tc.seed:
                models[name].sample = sample(trainer.model, data.tokenizer, sample_prompt(data), seed=tc.seed)
    for name, c in curves.items():
        models[name].context_curve = [statistics.fmean(v) for v in zip(*c)] if c else None
    device = pick_device(tc.device)
    regime = Regime(preset=preset.name, dataset=data.name, tokenizer=data.tokenizer.kind, vocab_size=data.vocab_size,
                    train_tokens=data.train.numel(), val_tokens=data.val.numel(),
                    steps_per_epoch=data.steps_per_epoch, model_config=base, train_config=tc,
                    seeds=list(range(tc.seed, tc.seed + seeds)), device=str(device),
                    threads=torch.get_num_threads(), describe=describe(device, tc.precision),
                    precision=pick_precision(device, tc.precision),  # the arithmetic that ran, never "auto"
                    wall_seconds=time.perf_counter() - t0)
    rows = [m.row() for m in models.values()]
    return RaceResult(regime, list(models.values()), unigram, ngrams, reach, reading(rows, ngrams, reach))


def _warm_up(configs: dict, data, device: str, precision: str = "auto") -> None:
    """One untimed forward and backward of each model in the run's precision, so that one-time
    costs (thread pools, the allocator's first pages, lazy kernels) are not charged to whichever
    model trains first. Its random draws leave no trace: make_trainer reseeds every run."""
    from ..model import build_model
    from ..runtime import autocast, pick_device

    dev = pick_device(device)
    idx, targets = (t.to(dev) for t in data.get_batch("train", 0))
    for name, config in configs.items():
        model = build_model(name, config).to(dev)
        with autocast(dev, precision):
            loss = model(idx, targets)[1]
        loss.backward()


def within_spread(a: dict, b: dict, key: str = "val_loss") -> bool | None:
    """Whether rows a and b differ in `key` by no more than twice the standard error of the
    difference, sqrt(sa^2/na + sb^2/nb) (about a 95% band); None with fewer than two seeds."""
    sa, sb = a.get(key + "_std"), b.get(key + "_std")
    if sa is None or sb is None:
        return None
    return abs(a[key] - b[key]) <= 2 * math.sqrt(sa ** 2 / len(a["seeds"]) + sb ** 2 / len(b["seeds"]))


def reading(rows: list[dict], ngrams: dict[int, float] | None = None, reach: int | None = None) -> list[str]:
    """The table read in sentences: the ranking and which gaps lie within the seeds' spread,
    where GAM sits against the count table of its own window, and who uses context beyond it."""
    ranked = sorted(rows, key=lambda r: r["val_loss"])
    n = len(ranked[0]["seeds"])
    lines = [f"Ranking by validation loss ({n} seed{'s' if n > 1 else ''}): "
             + " < ".join(f"{r['model']} {r['val_loss']:.3f}" for r in ranked) + "."]
    for a, b in zip(ranked, ranked[1:]):
        close = within_spread(a, b)
        if close is None:
            lines.append(f"{a['model']} vs {b['model']}: one seed, so no spread was measured; run --seeds 3 "
                         "before reading a gap this size as a difference between the models.")
        else:
            lines.append(f"{a['model']} vs {b['model']}: the gap ({b['val_loss'] - a['val_loss']:.3f}) "
                         + ("lies within the spread over seeds: not a difference this run can show."
                            if close else "exceeds the spread over seeds (2 standard errors)."))
    if ngrams and reach is not None:
        n_reach = order_for_reach(reach)
        table = ngrams[n_reach]
        for r in (r for r in rows if r["model"] == "gam"):  # the paper's GAM: conv reach R, memory per token
            side = "above" if r["val_loss"] > table else "below"
            lines.append(f"{r['model']} sees the last R = {reach} tokens; its loss {r['val_loss']:.3f} is {side} "
                         f"the {n_reach}-gram count table of that window ({table:.3f}).")
    gains = [r for r in rows if r.get("context_gain") is not None]
    if gains and reach is not None:
        lines.append(f"Context beyond R = {reach} tokens (loss increase when it is another text's, nats/token): "
                     + ", ".join(f"{r['model']} {r['context_gain']:.3f}" for r in gains) + ".")
        for r in (r for r in gains if round(r["context_gain"], 3) < 0):  # as printed: -0.000 is 0
            std = r.get("context_gain_std")
            spread = f"its spread over seeds is ±{std:.3f}" if std is not None else "one seed measured no spread"
            lines.append(f"{r['model']}'s gain below zero ({r['context_gain']:.3f}) is noise, not harm: another "
                         f"text's far context cannot help on average, and the measure is a mean over a sample of "
                         f"validation windows; {spread}.")
    return lines
