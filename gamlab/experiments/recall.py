"""The recall grid: train each model on MQAR, measure query accuracy by sequence length x pairs.

For every model and every sequence length, one fresh model (the "tiny" preset, same width and
depth for all, dropout off) is trained on a mix of the pair counts of the grid (each batch
draws one count in turn), then scored on fresh sequences of each count: the fraction of
queries whose argmax prediction is the right value. Chance is 1 / (number of values).

Two changes to the library's initialisation, for every model alike (RecallGrid.embed_std,
RecallGrid.tied_head): embeddings drawn at std 1 instead of 0.02, and an output layer of its
own instead of the one tied to the token embedding. With the library's small embeddings, the
blocks' outputs drown which token sits where in the residual stream; a 2-layer Transformer
then stays on the "guess a value seen in the sequence" plateau of MQAR for thousands of steps
(measured: still there after 2,500 steps at T=32 with 2 pairs). With both changes it leaves it
after a few hundred steps. (Unit embeddings with the tied head start with huge logits and
were not faster either.)

    gamlab recall                 the default grid (5.5 minutes on a quiet 2-core CPU, 30 under load)
    gamlab recall --fast          a tiny grid in seconds (CI)      (gamlab/commands/recall.py)

Used in notebooks/07_beyond_the_paper.ipynb.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..config import ModelConfig
from ..errors import GamlabError
from ..model import LanguageModel, build_model, list_models
from ..runtime import autocast, check_precision, check_seed, eval_mode, pick_device, pick_precision, seed_everything
from ..training import distributed
from ..training.files import read_refusal
from ..training.tasks import MQAR, answers_correct, batches
from ..training.train import Trainer
from ..training.train_config import TrainConfig
from .runs import PRESETS

DEFAULT_MODELS = ("gam", "transformer", "mamba", "gam-fw")


@dataclass
class RecallGrid:
    """What to train and where to score it. Every model gets the same data, steps and seed."""

    models: tuple[str, ...] = DEFAULT_MODELS
    lengths: tuple[int, ...] = (64,)
    pairs: tuple[int, ...] = (4, 8, 16)
    steps: int = 1000
    batch_size: int = 64
    lr: float = 2e-3
    vocab_size: int = 64
    min_gap: int = 1
    eval_sequences: int = 256
    seed: int = 0
    preset: str = "tiny"
    embed_std: float | None = 1.0  # re-draw token and position embeddings at this std (None: keep 0.02)
    tied_head: bool = False  # False: the output layer gets its own weights (see the module docstring)
    device: str = "auto"
    precision: str = "auto"  # auto, bf16, fp16 or fp32 (gamlab.runtime.pick_precision), as TrainConfig.precision
    changes: dict = field(default_factory=dict)  # ModelConfig fields to change (e.g. d_model)

    @classmethod
    def fast(cls, **changes) -> RecallGrid:
        """A grid that runs in seconds: CI and notebooks in fast mode."""
        return cls(**{"models": DEFAULT_MODELS, "lengths": (32,), "pairs": (2, 4), "steps": 20,
                      "batch_size": 32, "eval_sequences": 32, **changes})

    def __post_init__(self) -> None:
        self.models, self.lengths, self.pairs = tuple(self.models), tuple(self.lengths), tuple(self.pairs)
        unknown = [m for m in self.models if m not in list_models()]
        if unknown:
            raise GamlabError(f"Unknown model {unknown[0]!r}; choose from {', '.join(list_models())}.")
        if self.preset not in PRESETS:
            raise GamlabError(f"Unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}.")
        check_precision(self.precision)
        if self.steps < 1 or self.batch_size < 1:
            raise GamlabError(f"steps and batch_size must be positive, got {self.steps} and {self.batch_size}.")
        check_seed(self.seed + 1000, "the grid's seed + 1000 (its evaluation seed)")  # seeds up to seed + 1000 are drawn
        for T in self.lengths:  # build every task once: bad knobs fail before any training
            self.tasks(T)

    def tasks(self, seq_len: int) -> list[MQAR]:
        return [MQAR(seq_len=seq_len, n_pairs=n, vocab_size=self.vocab_size, min_gap=self.min_gap)
                for n in self.pairs]

    def config(self, seq_len: int) -> ModelConfig:
        """The run preset's model (gamlab.experiments.runs.PRESETS) at this task's vocabulary and length."""
        return PRESETS[self.preset].model.replace(**{"dropout": 0.0, **self.changes,
                                                     "vocab_size": self.vocab_size, "block_size": seq_len})


def recall_train_config(grid: RecallGrid, device: torch.device) -> TrainConfig:
    """The trainer's settings for a recall run: a high step size and no weight decay (tiny
    models, short runs), a short warm-up, then a constant step size (a cosine decay would
    shrink it just when attention is about to find the pairs), one evaluation at the end."""
    return TrainConfig(lr=grid.lr, betas=(0.9, 0.98), weight_decay=0.0, warmup_steps=50, min_lr_ratio=1.0,
                       batch_size=grid.batch_size, steps=grid.steps, eval_every=grid.steps, eval_batches=2,
                       seed=grid.seed, device=str(device), precision=grid.precision)


def prepare_for_recall(model: LanguageModel, grid: RecallGrid) -> LanguageModel:
    """Apply the grid's initialisation to a freshly built model (see the module docstring)."""
    if not grid.tied_head:
        model.head = nn.Linear(model.config.d_model, model.config.vocab_size, bias=False)
    if grid.embed_std is not None:
        nn.init.normal_(model.tok_emb.weight, std=grid.embed_std)
        nn.init.normal_(model.pos_emb.weight, std=grid.embed_std)
    return model


@torch.no_grad()
def accuracy(model: LanguageModel, task: MQAR, n_sequences: int, seed: int, device: torch.device,
             precision: str = "auto") -> float:
    """Fraction of queries answered right (argmax) on n_sequences fresh sequences, computed in
    `precision` (runtime.autocast: the one the model trained in)."""
    correct = asked = 0
    g = torch.Generator().manual_seed(seed)
    with eval_mode(model):
        for start in range(0, n_sequences, 64):
            x, y = task.sample(min(64, n_sequences - start), g)
            with autocast(device, precision):
                logits = model(x.to(device))[0]  # (B, T, vocab)
            c, n = answers_correct(logits.float().cpu(), y)
            correct, asked = correct + c, asked + n
    return correct / asked


def train_recall(name: str, grid: RecallGrid, seq_len: int, device: torch.device | None = None,
                 bar: bool = False):
    """One model trained on the grid's pair counts at seq_len -> (model, trainer history, seconds).
    bar=True shows the trainer's progress bar (a notebook)."""
    device = distributed.setup(device or pick_device(grid.device))  # under torchrun: join, own GPU (as make_trainer)
    seed_everything(grid.seed)
    model = prepare_for_recall(build_model(name, grid.config(seq_len)), grid)
    tasks = grid.tasks(seq_len)
    val = [b for _, b in zip(range(2), batches(tasks, grid.batch_size, seed=grid.seed + 1))]
    trainer = Trainer(model, recall_train_config(grid, device), batches(tasks, grid.batch_size, seed=grid.seed),
                      val, progress=bar)
    history = trainer.fit()
    return trainer.model, history, trainer.elapsed


def check_grid_fits(grid: RecallGrid, device: torch.device) -> None:
    """Refuse, in one sentence and before any training, a grid whose largest run would not fit the
    device's memory (gamlab.training.memory_estimate.estimate_train_memory against available_memory)."""
    from ..host_memory import available_memory
    from ..model import shapes_only
    from ..training.memory_estimate import estimate_train_memory

    free = available_memory(device)
    for name in grid.models:
        T = max(grid.lengths)
        need = estimate_train_memory(shapes_only(name, grid.config(T)), grid.batch_size)
        if free is not None and need > 0.9 * free:
            raise GamlabError(f"training {name} on sequences of {T} tokens (batch {grid.batch_size}) needs about "
                              f"{need / 2**30:.1f} GiB but only {free / 2**30:.1f} GiB is free on {device}; "
                              "use shorter --lengths.")


def run_grid(grid: RecallGrid, progress=print, keep_models: bool = False, bars: bool = False) -> dict:
    """Train and score every (model, length); returns a JSON-able dict:
    accuracy[model] is a list over lengths of lists over pairs; also params, training seconds and
    the final validation loss (on answer positions only).
    keep_models=True adds "trained": {model: {seq_len: LanguageModel}} (not JSON-able);
    bars=True shows a progress bar per model and length."""
    device = pick_device(grid.device)
    check_grid_fits(grid, device)
    out = {"grid": {k: v for k, v in asdict(grid).items()}, "device": str(device),
           "precision": pick_precision(device, grid.precision),
           "chance": 1 / (grid.vocab_size - 2 - MQAR(vocab_size=grid.vocab_size, n_pairs=1).n_keys),
           "accuracy": {}, "params": {}, "seconds": {}, "final_loss": {}}
    trained: dict = {}
    for name in grid.models:
        out["accuracy"][name], out["seconds"][name], out["final_loss"][name] = [], [], []
        for T in grid.lengths:
            model, history, seconds = train_recall(name, grid, T, device, bar=bars)
            accs = [accuracy(model, task, grid.eval_sequences, grid.seed + 1000, device, grid.precision)
                    for task in grid.tasks(T)]
            out["accuracy"][name].append(accs)
            out["seconds"][name].append(round(seconds, 2))
            out["final_loss"][name].append(round(history[-1]["val_loss"], 4))
            out["params"][name] = model.num_params()
            if keep_models:
                trained.setdefault(name, {})[T] = model
            if progress:
                progress(f"{name:<12} T={T:<4} {seconds:6.1f}s  accuracy "
                         + "  ".join(f"{n} pairs {a:.2f}" for n, a in zip(grid.pairs, accs)))
    if keep_models:
        out["trained"] = trained
    return out


SAVED = Path(__file__).with_name("recall_results.json")  # `gamlab recall` on the default grid, 2-core CPU


def saved_results() -> dict:
    """The default grid's results.json as `gamlab recall` wrote it (docs/recall.md has the table):
    lesson 07 shows it on a CPU instead of training for minutes. Same keys as run_grid's."""
    if not SAVED.exists():
        raise GamlabError(f"no saved recall results at {SAVED}; run `gamlab recall --out runs/recall` and copy "
                          "runs/recall/results.json there, or train the grid with run_grid(RecallGrid()).")
    try:
        return json.loads(SAVED.read_text(encoding="utf-8"))
    except OSError as exc:  # there but unreadable: a permission problem, named as one
        raise read_refusal(SAVED, exc, "saved recall results") from None


def format_table(results: dict) -> str:
    """Markdown table: one row per model and length, one column per pair count."""
    g = results["grid"]
    head = "| model | params | seq_len | " + " | ".join(f"{n} pairs" for n in g["pairs"]) + " | train s |"
    rows = [head, "|" + "---|" * (len(g["pairs"]) + 4)]
    for name, per_len in results["accuracy"].items():
        for T, accs, s in zip(g["lengths"], per_len, results["seconds"][name]):
            rows.append(f"| {name} | {results['params'][name]:,} | {T} | "
                        + " | ".join(f"{a:.2f}" for a in accs) + f" | {s:.0f} |")
    return "\n".join(rows)
