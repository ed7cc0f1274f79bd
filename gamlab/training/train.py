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
gamlab/training/trainer_parts.py. Its ingredients have modules of their own: the settings
(train_config.py), AdamW and the schedule (optim.py), the progress bar (progress.py), the run
folder (run_folder.py: run_meta, load_run) and the memory estimate (memory_estimate.py). Under torchrun the caller joins the process group before building a
Trainer (gamlab.training.distributed.setup); a new run is seeded with TrainConfig.seed when fit starts.

Used in notebooks/05_showdown.ipynb and 06_inside_gam.ipynb.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import torch
from torch import nn

from ..errors import GamlabError
from ..runtime import autocast, eval_mode, pick_device, pick_precision, seed_everything
from . import distributed
from .checkpoint import load_model_state, plain_model
from .memory_estimate import estimate_train_memory
from .optim import make_optimizer, make_scheduler
from .progress import progress_bar
from .recipes import get_recipe
from .run_folder import hash_ids, load_run, run_meta
from .stopping import Interrupt, Stopped, StopRequest
from .train_config import TrainConfig
from .trainer_parts import BatchSource, Checkpoints, Meter, rng_state, set_rng_state, stated_batch_size

# The names callers import from here: the loop's own, and its ingredients, each defined in its module.
__all__ = ["TrainConfig", "Trainer", "TrainingDiverged", "evaluate", "perplexity", "train", "make_optimizer",
           "make_scheduler", "progress_bar", "estimate_train_memory", "run_meta", "hash_ids", "load_run"]


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

def train(model: nn.Module, batches, config: TrainConfig | None = None, **kwargs) -> list[dict]:
    """Shortcut: Trainer(model, config, batches, **kwargs).fit(); returns the history.

    Without a config: the "tiny" preset, at the batch size of the data when it states one.
    """
    if config is None:
        own = stated_batch_size(batches)
        config = TrainConfig.preset("tiny", **({"batch_size": own} if own else {}))
    return Trainer(model, config, batches, **kwargs).fit()
