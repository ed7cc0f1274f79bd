"""The Trainer's collaborators: where batches come from, what is measured, and the checkpoint.

    source = BatchSource(data.get_batch, data.val_batches, eval_batches=20)
    idx, targets = source.train_batch(step)      # (b, T) each: this rank's rows of batch `step`
    meter = Meter()
    meter.start(); ...; meter.stop(loss_value, tokens, device)   # around one optimizer step
    entry = meter.record(step, val_loss, lr)     # one history dict; the window starts again
    checkpoints = Checkpoints(out, every=100)
    checkpoints.due(step, total)                 # the run's end, or every `every` steps
    state = checkpoints.load(path, None, meta, train_config)   # refused if it is another run's

Each piece keeps its own part of checkpoint.pt under the keys the format has always had
(gamlab/training/checkpoint.py): Meter "elapsed", "tokens", "cpu_seconds", "acc"; rng_state() "rng";
Checkpoints "resumes". Each is a part of gamlab.training.train.Trainer, which reads them in its loop.

Used in notebooks/05_showdown.ipynb and 06_inside_gam.ipynb (through gamlab.experiments.runs).
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import torch

from ..errors import GamlabError
from . import distributed
from .checkpoint import FREE_ON_RESUME, LENGTH_FIELDS, check_matches, checkpoint_path, load_checkpoint, save_checkpoint

# ---------------------------------------------------------------- batches


def stated_batch_size(batches) -> int | None:
    """The batch size a batch source states itself (TextData.get_batch's owner), else None."""
    own = getattr(getattr(batches, "__self__", None), "batch_size", None)
    return own if isinstance(own, int) else None


class BatchSource:
    """One interface over the two batch contracts of gamlab/training/train.py's docstring.

    batches:       get_batch(split, step) -> (idx, targets), or an iterable of (idx, targets)
    val_batches:   None, an iterable of (idx, targets), or a zero-argument callable returning one.
                   None with a callable source: get_batch("val", i) for i < eval_batches.
    batch_size:    the config's global batch B; a source that states its own must agree with it.
    """

    def __init__(self, batches, val_batches=None, *, batch_size: int, eval_batches: int | None = None):
        own = stated_batch_size(batches)
        if own is not None and own != batch_size:  # it sizes the memory estimate, the torchrun split, the tokens
            raise GamlabError(f"the data gives batches of {own} rows but TrainConfig.batch_size is {batch_size}; "
                              f"make them agree, e.g. load_data(..., batch_size=config.batch_size).")
        self.batches, self.val_source, self.eval_batches = batches, val_batches, eval_batches
        self._iter = None  # the training iterator, for an iterable source

    def train_batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Training batch `step`: this rank's b = B / world rows of (idx, targets), each (b, T)."""
        if callable(self.batches):  # the global batch; under torchrun this rank keeps its rows
            return distributed.local_rows(*self.batches("train", step))
        if self._iter is None:
            self._iter = iter(self.batches)
            for _ in range(step):  # a resumed run skips what the first part consumed
                next(self._iter)
        try:
            return distributed.local_rows(*next(self._iter))
        except StopIteration:
            raise GamlabError(f"the batch iterable ran out at step {step}; give more batches or fewer steps.") from None

    def val_batches(self, limit: int | None):
        """Up to `limit` validation batches (None: all of the validation source), whole (evaluate splits them)."""
        src = self.val_source
        if src is None:
            if not callable(self.batches):
                raise GamlabError("no validation batches: pass val_batches when the batch source is an iterable.")
            n = limit or self.eval_batches or 20
            return [self.batches("val", i) for i in range(n)]
        batches = src() if callable(src) else src
        if limit is None:
            return batches
        return [b for _, b in zip(range(limit), batches)]


# ---------------------------------------------------------------- measurements


class Meter:
    """Training seconds, CPU seconds and tokens of the run, and the window since the last record.

    The window's mean loss and throughput become one history entry (record); evaluation and
    checkpoints happen outside start()/stop(), so they are not counted as training time.
    """

    def __init__(self):
        self.elapsed = 0.0  # training seconds so far
        self.cpu_seconds = 0.0  # CPU time of this process while training (all threads)
        self.tokens = 0  # training tokens so far
        self.window = self._empty()
        self._t0 = self._c0 = 0.0

    @staticmethod
    def _empty() -> dict:
        return {"loss": 0.0, "n": 0, "tokens": 0, "time": 0.0}

    def start(self) -> None:
        self._t0, self._c0 = time.perf_counter(), time.process_time()

    def stop(self, loss: float, tokens: int, device: torch.device) -> None:
        """Count the step begun at start(): its loss (mean over ranks) and the global batch's tokens."""
        if device.type == "cuda":  # the GPU's work is queued: wait for it, or the time is the launch's
            torch.cuda.synchronize(device)
        dt = time.perf_counter() - self._t0
        self.elapsed += dt
        self.cpu_seconds += time.process_time() - self._c0
        self.tokens += tokens
        w = self.window
        w["loss"], w["n"], w["tokens"], w["time"] = w["loss"] + loss, w["n"] + 1, w["tokens"] + tokens, w["time"] + dt

    def record(self, step: int, val_loss: float, lr: float) -> dict:
        """The history entry at `step` (module docstring of gamlab/training/train.py); the window restarts."""
        w, self.window = self.window, self._empty()
        return {"step": step, "train_loss": w["loss"] / max(1, w["n"]), "val_loss": val_loss, "lr": lr,
                "tokens_per_s": w["tokens"] / max(w["time"], 1e-9), "elapsed": self.elapsed}

    def state(self) -> dict:
        return {"elapsed": self.elapsed, "tokens": self.tokens, "cpu_seconds": self.cpu_seconds,
                "acc": dict(self.window)}

    def load(self, state: dict) -> None:
        """Continue the counts of a checkpoint (one saved before a count existed starts it at 0)."""
        self.elapsed = float(state.get("elapsed", 0.0))
        self.tokens = int(state.get("tokens", 0))
        self.cpu_seconds = float(state.get("cpu_seconds", 0.0))
        self.window = dict(state.get("acc", self._empty()))


# ---------------------------------------------------------------- random state


def rng_state() -> dict:
    """Python's and torch's random states (CUDA's too when present): a resumed run draws the same dropout."""
    rng = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def set_rng_state(rng: dict) -> None:
    """Put back what rng_state() captured."""
    random.setstate(rng["python"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


# ---------------------------------------------------------------- the checkpoint


class Checkpoints:
    """The run's checkpoint file <out>/checkpoint.pt: when one is due, writing it, reading one to resume.

    out:     folder (None: nothing is written)
    every:   steps between checkpoints (None: only at the end of the run)
    last_saved: step of the newest checkpoint on disk (None: none yet)
    resumes: {step, changed: {field: [saved, new]}} per resume that changed a setting
    """

    def __init__(self, out: str | Path | None, every: int | None = None):
        self.out = Path(out) if out is not None else None
        self.every = every
        self.last_saved: int | None = None
        self.resumes: list[dict] = []

    def due(self, step: int, total: int) -> bool:
        return self.out is not None and (step == total or bool(self.every and step % self.every == 0))

    def save(self, state: dict, step: int) -> Path | None:
        """Write `state` atomically (nothing when out is None; under torchrun rank 0 alone writes)."""
        if self.out is None:
            return None
        kept = (f"the last good checkpoint (step {self.last_saved}) is intact" if self.last_saved is not None
                else None)  # None: save_checkpoint says whether a previous file is unchanged
        path = save_checkpoint(self.out, state, kept=kept) if distributed.is_main() else None
        self.last_saved = step
        return path

    def load(self, path, state: dict | None, meta: dict, train_config: dict) -> dict:
        """The checkpoint at `path` (default: <out>/checkpoint.pt), or `state` already read from it.

        Everything that defines the run must be the saved run's (checkpoint.check_matches says
        which setting differs); only its length and FREE_ON_RESUME may change, and a change is
        recorded in `resumes`.
        """
        path = checkpoint_path(path if path is not None else self.out)
        must_match = dict(meta, model_config=meta["model_config"] or None, train_config=train_config,
                          dataset_path=None)  # a moved file: the same digest
        state = load_checkpoint(path) if state is None else state
        (state.get("train_config") or {}).setdefault("recipe", "careful")  # saved before recipes existed: gamlab's
        check_matches(state, path, **must_match)
        self.resumes = list(state.get("resumes", []))
        saved = state.get("train_config") or {}
        changed = {k: [saved[k], v] for k, v in train_config.items()
                   if k in FREE_ON_RESUME + LENGTH_FIELDS and k in saved and saved[k] != v}
        if changed:  # the checkpoint will say from which step the new settings ran
            self.resumes.append({"step": int(state["step"]), "changed": changed})
        self.last_saved = int(state["step"])
        return state
