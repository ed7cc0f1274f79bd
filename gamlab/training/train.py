"""Training loop: AdamW, warm-up then cosine, gradient clipping, evaluation, checkpoints, history.

    config = TrainConfig.preset("tiny", steps=200, batch_size=data.batch_size)
    trainer = Trainer(model, config, data.get_batch, val_batches=data.val_batches, out="runs/gam")
    history = trainer.fit()            # list of dicts, one per evaluation
    trainer.evaluate_full()            # loss over the whole validation split

Batch source contract (anything that yields (idx, targets) int64 tensors of shape (B, T):
token ids and the next tokens to predict, docs/naming.md):
  - a callable get_batch(split, step) -> (idx, targets); split is "train" or "val". Training batch
    `step` must depend only on (its seed, step): then a resumed run is exact.
  - or an iterable of (idx, targets); on resume the first `step` items are skipped.
Targets equal to -100 carry no loss (F.cross_entropy's ignore_index), so a synthetic task
can score only the positions it asks about.

History: one dict per evaluation, {step, train_loss, val_loss, lr, tokens_per_s, elapsed}:
train_loss is the mean since the previous record, elapsed counts training seconds (not
evaluation), tokens_per_s is the training throughput since the previous record.

Trainer.fit is the loop itself (forward, loss, backward, clip, step, schedule, record); the
batch source adapter, the meter and the checkpoint file are its collaborators in
gamlab/training/trainer_parts.py. Under torchrun the caller joins the process group before building a
Trainer (gamlab.training.distributed.setup); a new run is seeded with TrainConfig.seed when fit starts.

Used in notebooks/05_showdown.ipynb and 06_inside_gam.ipynb.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from torch import nn

from ..config import ModelConfig
from ..errors import GamlabError
from ..runtime import autocast, check_precision, check_seed, eval_mode, pick_device, pick_precision, seed_everything
from . import distributed
from .checkpoint import load_checkpoint, load_model_state, plain_model
from .recipes import get_recipe
from .stopping import Interrupt, Stopped, StopRequest
from .trainer_parts import BatchSource, Checkpoints, Meter, rng_state, set_rng_state, stated_batch_size


@dataclass
class TrainConfig:
    """Optimisation settings; the defaults are the paper's (DESIGN.md)."""

    lr: float = 3e-4
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.1
    warmup_steps: int = 100  # capped at a tenth of the run for short runs (see warmup_for)
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio
    grad_clip: float = 1.0
    batch_size: int = 32
    steps: int | None = None  # total optimizer steps of the run; None: epochs * steps_per_epoch
    epochs: float = 5.0
    eval_every: int = 100
    eval_batches: int | None = 20  # validation batches per periodic evaluation (None: all)
    checkpoint_every: int | None = None  # steps; a checkpoint is also written at the end
    seed: int = 0
    device: str = "auto"
    recipe: str = "careful"  # gamlab/training/recipes.py: weight-decay groups, warm-up start, validation mean
    precision: str = "auto"  # auto (runtime.pick_precision: bf16, fp16 or fp32 by device), bf16, fp16 or fp32

    def __post_init__(self) -> None:
        get_recipe(self.recipe)  # an unknown name is refused here
        check_precision(self.precision)
        self.betas = tuple(self.betas)
        if not (0 < self.lr < math.inf) or self.batch_size < 1 or self.eval_every < 1:
            raise GamlabError("TrainConfig needs a finite lr > 0, batch_size >= 1 and eval_every >= 1.")
        if not (0 < self.epochs < math.inf):
            raise GamlabError(f"epochs must be a finite number above 0, got {self.epochs}.")
        check_seed(self.seed, "TrainConfig.seed")
        if self.steps is not None and self.steps < 1:
            raise GamlabError(f"steps must be a positive number of optimizer steps, got {self.steps}.")
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise GamlabError(f"checkpoint_every must be a positive number of steps, got {self.checkpoint_every}.")

    def total_steps(self, steps_per_epoch: int | None = None) -> int:
        """Optimizer steps of the run: `steps`, or `epochs` epochs of `steps_per_epoch`."""
        if self.steps is not None:
            return self.steps
        if steps_per_epoch is None:
            raise GamlabError("TrainConfig.steps is None and the batch source has no epoch length; set steps.")
        return max(1, round(self.epochs * steps_per_epoch))

    def warmup_for(self, total: int) -> int:
        """Warm-up steps: the configured number, but at most a tenth of a short run."""
        return max(1, min(self.warmup_steps, total // 10))

    def recorded(self, device: torch.device | str) -> dict:
        """to_dict() with the precision resolved on `device` ("auto" -> bf16, fp16 or fp32): what a
        checkpoint records and a resume compares, so that it compares the dtype that ran."""
        return dict(self.to_dict(), precision=pick_precision(device, self.precision))

    def replace(self, **changes) -> TrainConfig:
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise GamlabError(f"TrainConfig has no field {', '.join(sorted(unknown))}.")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        return cls().replace(**data)

    @classmethod
    def preset(cls, name: str, **changes) -> TrainConfig:
        """Settings that go with ModelConfig's size of the same name: an ingredient of the run
        presets (gamlab.experiments.runs.PRESETS, the presets `--preset NAME` names)."""
        if name not in _SETTINGS:
            raise GamlabError(f"Unknown preset {name!r} for TrainConfig; its settings are {', '.join(_SETTINGS)}.")
        return cls(**_SETTINGS[name]).replace(**changes)


# The ingredients of the run presets (gamlab/experiments/runs.py), not presets of their own.
_SETTINGS: dict[str, dict] = {
    # The paper: batch 32, lr 3e-4, 100 warm-up steps, 5 epochs.
    "paper": dict(lr=3e-4, batch_size=32, warmup_steps=100, epochs=5, eval_every=200, eval_batches=50),
    # Small models on short CPU runs learn faster with a larger step size.
    "small": dict(lr=1e-3, batch_size=32, warmup_steps=50, steps=1000, eval_every=100, eval_batches=20),
    "tiny": dict(lr=2e-3, batch_size=16, warmup_steps=20, steps=300, eval_every=50, eval_batches=10),
}


# ---------------------------------------------------------------- reusable pieces

def make_optimizer(model: nn.Module, lr: float = 3e-4, weight_decay: float = 0.1,
                   betas: tuple[float, float] = (0.9, 0.95), decay: str = "matrices") -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (decay="matrices"), or on everything (decay="all").

    "matrices": decayed are the parameters with 2 or more dimensions (linear and conv weights,
    the embeddings, GAM's memory bank M); not decayed are biases, LayerNorm gains, 1-D vectors,
    and Mamba's A_log (a decay there would pull every state's timescale toward 1, as Mamba's
    authors note). "all": the paper author's AdamW(model.parameters(), weight_decay=0.1)
    (gamlab/training/recipes.py). Two groups either way: [decayed, not decayed].
    """
    if decay not in ("matrices", "all"):
        raise GamlabError(f"decay={decay!r}: choose 'matrices' or 'all'.")
    decay_all = decay == "all"
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if decay_all or (p.dim() >= 2 and not name.endswith("A_log")) else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas))


def make_scheduler(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                   min_lr_ratio: float = 0.1, warmup_from_zero: bool = False) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over `warmup_steps`, then cosine decay to lr * min_lr_ratio at `total_steps`.

    The first step's factor is 1 / warmup_steps, or 0 with warmup_from_zero (the paper author's
    step / warmup_steps: its first update has learning rate 0; gamlab/training/recipes.py).
    """
    start = 0 if warmup_from_zero else 1

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + start) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable, device: torch.device | str | None = None,
             average: str = "token", precision: str = "auto") -> float:
    """Mean cross-entropy (nats per scored token) of `model` over `batches` of (idx, targets), each (B, T).

    Positions with targets == -100 are not scored. Perplexity is exp(loss). average="batch" is the
    paper author's mean of per-batch means instead (a smaller last batch weighs as much as a
    full one; gamlab/training/recipes.py). Under torchrun each rank scores every world-th batch and the
    sums are added across ranks (gamlab/training/distributed.py). precision: the autocast it runs
    under (runtime.autocast; the Trainer passes its run's).
    """
    if average not in ("token", "batch"):
        raise GamlabError(f"average={average!r}: choose 'token' or 'batch'.")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    total, count = 0.0, 0
    with eval_mode(model):
        for i, (idx, targets) in enumerate(batches):
            if not distributed.mine(i):
                continue
            idx, targets = idx.to(device), targets.to(device)
            with autocast(device, precision):
                _, loss = model(idx, targets)
            n = int((targets != -100).sum())
            if n:  # a batch with nothing to score has a NaN mean loss: skip it
                w = 1 if average == "batch" else n  # weight of this batch's mean
                total += float(loss) * w
                count += w
    total, count = distributed.all_reduce_sum(total, count)
    if count == 0:
        raise GamlabError("evaluation got no scored tokens; the validation batches are empty.")
    return total / count


def perplexity(loss: float) -> float:
    """exp(loss), capped so that an untrained model prints a number rather than inf."""
    return math.exp(min(loss, 50.0))


def estimate_train_memory(model: nn.Module, batch_size: int, block_size: int | None = None) -> int:
    """A rough upper estimate, in bytes, of what training `model` takes.

    Weights, gradients and AdamW's two moments (4 copies, float32), plus the activations each
    block keeps for the backward pass, as the block estimates them (Block.memory_estimate:
    about 34 floats per (token, channel), and Mamba's scan and naive attention their larger
    tensors); the logits add (B, T, vocab) three times.
    """
    cfg: ModelConfig = model.config
    T = block_size or cfg.block_size
    B = batch_size
    weights = 4 * 4 * sum(p.numel() for p in model.parameters())
    if hasattr(model, "blocks"):
        blocks = sum(block.memory_estimate(B, T) for block in model.blocks)
    else:  # a model without gamlab blocks: Block.memory_estimate's 34 floats per (token, channel, layer)
        blocks = 4 * 34 * B * T * cfg.d_model * cfg.n_layer
    return weights + blocks + 4 * 3 * B * T * cfg.vocab_size


# ---------------------------------------------------------------- the trainer

class TrainingDiverged(GamlabError):
    """The loss became NaN or infinite."""


class Trainer:
    """Train `model` on a batch source; see the module docstring for the contract.

    model:        a gamlab LanguageModel (or any module with forward(idx, targets) -> (logits, loss))
    config:       TrainConfig
    batches:      get_batch(split, step) -> (idx, targets), or an iterable of (idx, targets)
    val_batches:  None, an iterable of (idx, targets), or a zero-argument callable returning one
                  (e.g. data.val_batches). None with a callable source: get_batch("val", i)
                  for i < config.eval_batches.
    out:          folder for checkpoint.pt (None: no checkpoints)
    on_eval:      called with the history list after each evaluation (live plots)
    meta:         plain data saved in the checkpoint: model_name, model_config, tokenizer,
                  dataset, ... (load_run needs model_name, model_config and tokenizer)
    steps_per_epoch: lets config.epochs set the run length, and s/epoch be reported

    Building a Trainer changes nothing outside it. Under torchrun the caller joins the process
    group first (distributed.setup; gamlab.experiments.runs.make_trainer does); a new run seeds the global
    generators with config.seed when fit() starts at step 0, a resumed one restores its saved
    random state in resume(). Its collaborators (gamlab/training/trainer_parts.py): `source` gives the
    batches, `meter` measures, `checkpoints` writes and reads checkpoint.pt.
    """

    def __init__(self, model: nn.Module, config: TrainConfig, batches, val_batches=None, *,
                 out: str | Path | None = None, on_eval: Callable[[list], None] | None = None,
                 meta: dict | None = None, steps_per_epoch: int | None = None, progress: bool = True):
        distributed.check_joined()
        distributed.check_batch(config.batch_size)
        self.config, self.on_eval, self.progress = config, on_eval, progress
        self.device = distributed.local_device(pick_device(config.device))  # under torchrun: this rank's GPU
        self.source = BatchSource(batches, val_batches, batch_size=config.batch_size, eval_batches=config.eval_batches)
        self.meter = Meter()
        self.checkpoints = Checkpoints(out, config.checkpoint_every)
        self.model = model.to(self.device)
        self._net: nn.Module | None = None  # what fit() calls: DDP(model) under torchrun, else model
        self.meta = dict(meta or {})
        plain = plain_model(model)  # what a torch.compile / DDP wrapper holds: its name and config are the run's
        self.meta.setdefault("model_name", getattr(plain, "name", type(plain).__name__))
        cfg = getattr(plain, "config", None)
        self.meta.setdefault("model_config", cfg.to_dict() if hasattr(cfg, "to_dict") else {})
        self.steps_per_epoch = steps_per_epoch
        self.total = config.total_steps(steps_per_epoch)
        self.recipe = get_recipe(config.recipe)  # which parameters decay, where warm-up starts, the validation mean
        self.optimizer = make_optimizer(model, config.lr, config.weight_decay, config.betas, self.recipe.decay)
        self.scheduler = make_scheduler(self.optimizer, config.warmup_for(self.total), self.total, config.min_lr_ratio,
                                        self.recipe.warmup_from_zero)
        # "bf16", "fp16" or "fp32" (runtime.pick_precision); fp16 scales the loss so that small
        # gradients do not underflow to 0 in float16. A disabled scaler passes everything through.
        self.precision = pick_precision(self.device, config.precision)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.skipped_steps = 0  # steps whose fp16 gradients overflowed: the scaler left the weights alone
        self.step, self.history = 0, []

    @property
    def out(self) -> Path | None:
        """Folder of checkpoint.pt (None: none is written); kept by the Checkpoints collaborator."""
        return self.checkpoints.out

    @out.setter
    def out(self, folder: str | Path | None) -> None:
        self.checkpoints.out = Path(folder) if folder is not None else None

    @property
    def elapsed(self) -> float:
        """Training seconds so far (evaluation and checkpoints excluded)."""
        return self.meter.elapsed

    # ---- state

    def state(self) -> dict:
        """Everything checkpoint.pt holds (gamlab/training/checkpoint.py)."""
        return {"model": plain_model(self.model).state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                "skipped_steps": self.skipped_steps, "step": self.step, "history": self.history,
                **self.meter.state(), "rng": rng_state(), "train_config": self._recorded_config(),
                "resumes": self.checkpoints.resumes, **self.meta}

    def _recorded_config(self) -> dict:
        """The TrainConfig as the checkpoint records it: the precision that runs, not "auto"."""
        return dict(self.config.to_dict(), precision=self.precision)

    def save(self) -> Path | None:
        """Write <out>/checkpoint.pt atomically (nothing when out is None, or on ranks other than 0)."""
        return self.checkpoints.save(self.state(), self.step)

    def resume(self, path: str | Path | None = None, state: dict | None = None) -> int:
        """Continue from a checkpoint (default: <out>/checkpoint.pt); returns the step reached.

        `state`: a checkpoint already read from `path` (load_checkpoint), not read again. A
        checkpoint of another run is refused (Checkpoints.load). The run length stays this
        trainer's: a run resumed with the same `steps` ends where an uninterrupted one would,
        with the same losses.
        """
        state = self.checkpoints.load(path, state, self.meta, self._recorded_config())
        load_model_state(self.model, state["model"], path or self.out)  # into the plain model, if wrapped
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):  # fp16: the loss scale reached; older and fp32/bf16 checkpoints have none
            self.scaler.load_state_dict(state["scaler"])
        self.skipped_steps = int(state.get("skipped_steps", 0))
        self.step, self.history = int(state["step"]), list(state["history"])
        self.meter.load(state)
        set_rng_state(state["rng"])  # the same dropout masks as the uninterrupted run
        return self.step

    def evaluate(self, max_batches: int | None = None) -> float:
        """Validation loss over `max_batches` batches (None: the whole validation source)."""
        return evaluate(self.model, self.source.val_batches(max_batches), self.device, self.recipe.val_average,
                        self.precision)

    def evaluate_full(self) -> float:
        """Validation loss over the whole validation source (the number a table reports)."""
        return self.evaluate(None)

    # ---- the loop

    def fit(self, steps: int | None = None) -> list[dict]:
        """Train until `steps` optimizer steps in total (default: the configured run length).

        Stopping early (e.g. steps smaller than the run length) leaves the schedule as it
        would be in the full run, so continuing later is exact. A SIGTERM during fit finishes
        the current step, saves a checkpoint and raises Stopped; a Ctrl-C (a notebook's stop
        button) finishes it, saves (with an output folder) and raises KeyboardInterrupt, so
        that fit() again ends exactly where an uninterrupted run does (gamlab/training/stopping.py).
        """
        cfg, dev, world = self.config, self.device, distributed.world_size()
        stop = self.total if steps is None else min(steps, self.total)
        if self.step == 0:  # a new run starts from its seed; a resumed one continues its saved random state
            seed_everything(cfg.seed)
        if self._net is None:  # DDP(model) under torchrun: it averages the gradients over ranks
            self._net = distributed.wrap(self.model, dev)
        net = self._net.train()
        with StopRequest() as stop_request, Interrupt() as interrupt, self._bar() as bar:
            while self.step < stop:
                self.meter.start()
                idx, targets = self.source.train_batch(self.step)  # (b, T) each: this rank's rows
                idx, targets = idx.to(dev, non_blocking=True), targets.to(dev, non_blocking=True)
                interrupt.undoable(partial(set_rng_state, rng_state()))  # nothing lasting changes until commit()
                with autocast(dev, self.precision):
                    _, loss = net(idx, targets)  # mean cross-entropy over the scored tokens
                # The mean loss over ranks and "has any rank been asked to stop?", in one
                # reduction, so every rank takes the same decision at the same step.
                loss_sum, stops, interrupted = distributed.all_reduce_sum(
                    loss.detach(), stop_request.requested, interrupt.requested)
                loss_value = loss_sum / world
                self._check_finite(loss_value)  # the unscaled loss: fp16's skipped steps are not divergence
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()  # fp16: the loss times the scale, so small gradients survive
                interrupt.commit()  # from here to the step boundary a Ctrl-C waits: the step counts whole or not at all
                if cfg.grad_clip:
                    self.scaler.unscale_(self.optimizer)  # the true gradients again, for the clip
                    nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
                self.scaler.step(self.optimizer)  # self.optimizer.step(), unless fp16 gradients hold inf/NaN
                if self._updated():  # after a skipped fp16 step the schedule waits for a real update
                    self.scheduler.step()
                self.step += 1
                self.meter.stop(loss_value, idx.numel() * world, dev)  # tokens of the global batch
                bar.update(1)
                if self.step % cfg.eval_every == 0 or self.step == self.total:
                    self._record(bar)
                if self.checkpoints.due(self.step, self.total):
                    self.save()
                if stops:
                    self._stop(stop_request.name)
                if interrupted or (world == 1 and interrupt.requested):
                    self._interrupted()
        return self.history

    def _updated(self) -> bool:
        """After scaler.step: False if fp16 skipped the step; updates the loss scale either way.

        The scaler (torch.amp.GradScaler, a pass-through unless fp16) skips a step whose
        gradients hold inf or NaN: weights and AdamW's moments stay, the scale halves for the
        next step (it grows again after 2,000 steps without overflow); `skipped_steps` counts
        them. Two counts then differ, both saved in the checkpoint, so a resume is exact:
        `self.step` counts batches (the batch drawn, the run's length, evaluations and
        checkpoints follow it), the schedule counts the updates made (its step is
        step - skipped_steps), so a skip neither eats warm-up nor advances the decay.
        """
        if not self.scaler.is_enabled():
            return True
        scale = self.scaler.get_scale()
        self.scaler.update()
        skipped = self.scaler.get_scale() < scale  # the scale falls only after a skipped step
        self.skipped_steps += skipped
        return not skipped

    def _bar(self):
        return progress_bar(total=self.total, initial=self.step, disable=not self.progress or not distributed.is_main(),
                            desc=self.meta.get("model_name", "train"), unit="step")

    def _check_finite(self, loss: float) -> None:
        if math.isfinite(loss):
            return
        # Resuming would replay the same steps from the last checkpoint and diverge again
        # (and that checkpoint's weights may already be growing), so the way out is a new run.
        last = self.checkpoints.last_saved
        kept = (f"the last good checkpoint (step {last}) stays in {self.out}, but resuming it would repeat the "
                "same steps" if last is not None else "no checkpoint was written")
        raise TrainingDiverged(f"the training loss became {loss} at step {self.step + 1}; {kept}; start a new run "
                               "with a lower learning rate (--lr, or TrainConfig.lr) in a fresh --out folder.")

    def _record(self, bar) -> None:
        """Evaluate, append the history entry, show it, and tell on_eval."""
        entry = self.meter.record(self.step, self.evaluate(self.config.eval_batches), self.scheduler.get_last_lr()[0])
        self.history.append(entry)
        bar.set_postfix(loss=f"{entry['train_loss']:.3f}", val=f"{entry['val_loss']:.3f}")
        if self.on_eval is not None:
            self.on_eval(self.history)

    def _stop(self, why: str) -> None:
        """Save at this step boundary (unless just saved) and raise Stopped."""
        if self.out is None:
            raise Stopped(f"stopped by {why} after step {self.step} of {self.total}; no checkpoint (no output folder).")
        if self.checkpoints.last_saved != self.step:
            self.save()
        raise Stopped(f"stopped by {why} after step {self.step} of {self.total}; checkpoint saved in {self.out}; "
                      "continue with --resume.")

    def _interrupted(self) -> None:
        """Ctrl-C at this step boundary: save (with an output folder) and raise KeyboardInterrupt."""
        if self.out is not None and self.checkpoints.last_saved != self.step:
            self.save()
        kept = f"; checkpoint saved in {self.out}" if self.out is not None else ""
        raise KeyboardInterrupt(f"stopped after step {self.step} of {self.total}{kept}; fit() again continues "
                                "exactly where it stopped")

    def summary(self, val_loss: float | None = None) -> dict:
        """Numbers for a results table: params, seconds, s/epoch, tokens/s, val loss, PPL."""
        val_loss = self.evaluate_full() if val_loss is None else val_loss
        seconds, spe = self.meter.elapsed, self.steps_per_epoch
        return {"model": self.meta["model_name"],
                "params": sum(p.numel() for p in self.model.parameters()),
                "steps": self.step, "seconds": seconds, "cpu_seconds": self.meter.cpu_seconds,
                "s_per_epoch": seconds / self.step * spe if spe and self.step else None,
                "tokens_per_s": self.meter.tokens / seconds if seconds else None,
                "val_loss": val_loss, "ppl": perplexity(val_loss), "precision": self.precision}


def progress_bar(**kwargs):
    """A tqdm bar: in a terminal, plain tqdm that clears itself when done (leave=False); in a
    notebook, tqdm.notebook's widget, left in place, whose saved text is its final state.

    tqdm.notebook's widget is drawn only by a live kernel's widget manager; a saved notebook
    (nbviewer, nbconvert, a pre-run copy) shows the widget output's text/plain instead, which
    is fixed when the bar is displayed ("0%"). So the notebook bar is displayed with a display
    id and its output is replaced once at close: same widget, final text ("100%", the losses).
    """
    from tqdm.auto import tqdm
    from tqdm.notebook import tqdm_notebook

    if not issubclass(tqdm, tqdm_notebook):  # a terminal (or no ipywidgets)
        return tqdm(leave=False, **kwargs)
    return _saved_bar_class()(leave=True, **kwargs)


def _saved_bar_class():
    """tqdm.notebook's bar, re-displayed at close so the saved output holds its final text."""
    from IPython.display import display
    from tqdm.notebook import tqdm_notebook

    class SavedBar(tqdm_notebook):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, display=False, **kwargs)  # displayed here, with a handle
            self._handle = None if self.disable else display(self.container, display_id=True)

        def close(self):
            super().close()
            handle, self._handle = getattr(self, "_handle", None), None
            if handle is not None:  # the same widget again: its text/plain is now the last meter
                handle.update(self.container)

    return SavedBar


def train(model: nn.Module, batches, config: TrainConfig | None = None, **kwargs) -> list[dict]:
    """Shortcut: Trainer(model, config, batches, **kwargs).fit(); returns the history.

    Without a config: the "tiny" preset, at the batch size of the data when it states one.
    """
    if config is None:
        own = stated_batch_size(batches)
        config = TrainConfig.preset("tiny", **({"batch_size": own} if own else {}))
    return Trainer(model, config, batches, **kwargs).fit()


def run_meta(model: nn.Module, data) -> dict:
    """What defines a run besides its TrainConfig, saved in its checkpoint and compared on resume.

    model: a gamlab LanguageModel; data: a TextData (gamlab.training.data). The digest of the token ids
    catches a dataset with the same name and other content (a file edited between runs).
    "dataset" is the name shown (a local file's basename); "dataset_path", for a local file or
    folder, its absolute path, where gamlab.training.data.run_dataset finds the text again.
    It is not compared on resume: a file moved elsewhere is still the same data.
    """
    digest = hashlib.sha256()
    for idx in (data.train, data.val):  # (N,) token ids of each split
        hash_ids(digest, idx)
    return {"model_name": model.name, "model_config": model.config.to_dict(), "tokenizer": data.tokenizer.to_dict(),
            "dataset": getattr(data, "label", data.name), "data_digest": digest.hexdigest()[:16],
            **({"dataset_path": data.path} if getattr(data, "path", None) else {})}


def hash_ids(digest, idx: torch.Tensor, piece: int = 1 << 20) -> None:
    """Feed the int64 bytes of token ids idx (N,) to `digest` without copying the split: a
    contiguous int64 CPU tensor is read where it lies, anything else `piece` ids at a time.
    (The bytes, so the digest, are those of idx.to(torch.int64).numpy().tobytes().)"""
    idx = idx.reshape(-1)
    if idx.dtype == torch.int64 and idx.device.type == "cpu" and idx.is_contiguous():
        digest.update(idx.numpy())  # the buffer itself (C-contiguous), no copy
        return
    for start in range(0, idx.numel(), piece):
        digest.update(idx[start:start + piece].to("cpu", torch.int64).contiguous().numpy())


def load_run(out_dir: str | Path, device: str | torch.device = "cpu"):
    """Rebuild (model, tokenizer, history) from a run folder written by `gamlab train`.

    The model is in eval mode on `device`; tokenizer is None when the run saved none.
    """
    from ..model import build_model
    from .tokenizer import tokenizer_from_dict

    state = load_checkpoint(out_dir, map_location="cpu")
    try:
        model = build_model(state["model_name"], ModelConfig.from_dict(state["model_config"]))
    except (KeyError, TypeError) as exc:
        raise GamlabError(f"checkpoint in {out_dir} names model {state['model_name']!r} with a configuration this "
                          f"gamlab version cannot build ({type(exc).__name__}: {exc}); load it with the gamlab "
                          "version that wrote it.") from None
    load_model_state(model, state["model"], out_dir)  # one sentence naming the parameters that do not fit
    tok = tokenizer_from_dict(state["tokenizer"]) if state.get("tokenizer") else None
    return model.to(device).eval(), tok, list(state["history"])
