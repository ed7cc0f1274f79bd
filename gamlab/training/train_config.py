"""TrainConfig: a run's optimisation settings, and the training ingredients of the run presets.

    config = TrainConfig.preset("tiny", steps=200)     # the settings that go with the preset tiny
    config.total_steps(steps_per_epoch)                # the run's length in optimizer steps
    config.recorded(device)                            # what a checkpoint records (precision resolved)

The run presets (gamlab.experiments.runs.PRESETS, what `--preset NAME` names) combine these
settings with a model size and a data budget; the loop that uses them is gamlab/training/train.py.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from ..errors import GamlabError
from ..runtime import check_precision, check_seed, pick_precision
from .recipes import get_recipe


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
