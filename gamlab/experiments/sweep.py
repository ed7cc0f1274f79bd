"""Equal effort: each model's learning rate, chosen by a sweep on a log grid.

A fair race gives every model the learning rate that suits it, not one shared value. `sweep`
trains each model at each learning rate of a grid (factors of 2) for a shorter budget (half
the preset's steps by default) and keeps the one with the lowest validation loss over the
whole validation split (mean over seeds). The chosen values are stored as data, with the
command that made them and every loss it measured, in gamlab/experiments/tuned_lr.json (one entry per
run preset); `gamlab compare` reads them by default (learning_rates) and prints each
model's learning rate in its table.

    result = sweep(["gam", "transformer"], PRESETS["tiny"], tc)    # {"lr": {...}, "val_loss": {...}, ...}
    save_tuned("tiny", result, command="gamlab sweep --preset tiny")

A chosen value at either end of the grid is flagged (`at_edge`): the best may lie beyond it.
Used by gamlab/commands/sweep.py and gamlab/commands/compare.py; read in notebooks/05_showdown.ipynb.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from importlib import resources
from pathlib import Path

from ..errors import GamlabError
from ..model import shapes_only
from ..runtime import check_seed
from ..training.files import read_refusal, write_atomic
from ..training.train import TrainingDiverged
from .runs import load_run_data, make_trainer, matched_config, model_config

GRID = (1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2)  # factors of 2 from half the presets' 2e-3
TUNED = "tuned_lr.json"  # package data: {preset: sweep result + "command"}


def sweep(names, preset, tc, grid=GRID, *, steps: int | None = None, seeds: int = 1, dataset: str = "embedded",
          progress: bool = False, log=print) -> dict:
    """Train every model in `names` at every learning rate in `grid`; keep the best per model.

    preset, tc: a runs.RunPreset and its TrainConfig (tc.lr is ignored; tc.seed is the first seed).
    steps: the sweep's budget per run (default: half of tc.steps); one evaluation, at the end.
    Returns {"steps", "seeds", "grid", "val_loss": {model: {lr: [loss per seed]}},
    "lr": {model: best lr}, "at_edge": [models whose best lr is the grid's first or last]}.
    Losses in nats/token over the whole validation split (inf: the run diverged). Raises GamlabError for an empty or
    non-positive grid, or steps/seeds < 1.
    """
    grid = [float(lr) for lr in grid]
    if not grid or not all(0 < lr < math.inf for lr in grid):  # nan too: it is not above 0
        raise GamlabError(f"the learning-rate grid must hold positive, finite values, got {grid}; "
                          "e.g. --grid 1e-3,2e-3,4e-3.")
    grid = sorted(grid)
    steps = steps if steps is not None else max(1, (tc.steps or 2) // 2)
    if steps < 1 or seeds < 1:
        raise GamlabError(f"--steps and --seeds must be positive, got {steps} and {seeds}.")
    check_seed(tc.seed + seeds - 1, f"the last seed (--seed {tc.seed} + --seeds {seeds} - 1)")
    data = load_run_data(preset, tc, dataset)
    base = model_config(preset, data.vocab_size)
    target = shapes_only("gam", base).num_params()
    losses: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    for name in names:
        config = matched_config(name, base, target)
        for lr in grid:
            for seed in range(tc.seed, tc.seed + seeds):
                run_tc = tc.replace(lr=lr, steps=steps, seed=seed, eval_every=steps)
                trainer = make_trainer(name, config, dataclasses.replace(data, seed=seed), run_tc, progress=progress)
                try:
                    trainer.fit()
                    loss = trainer.evaluate_full()
                except TrainingDiverged:  # too high a learning rate for this model: it loses
                    loss = math.inf
                losses[name].setdefault(f"{lr:g}", []).append(loss)
                log(f"{name:<12} lr {lr:<8g} seed {seed}: val loss {loss:.3f}")
    best = {name: float(min(table, key=lambda lr: statistics.fmean(table[lr]))) for name, table in losses.items()}
    edge = [name for name, lr in best.items() if lr in (grid[0], grid[-1])]
    return {"steps": steps, "seeds": seeds, "grid": grid, "val_loss": losses, "lr": best, "at_edge": edge}


def tuned_path() -> Path:
    """gamlab/experiments/tuned_lr.json, package data beside this module."""
    return Path(str(resources.files(__package__) / TUNED))


def load_tuned(path: Path | None = None) -> dict:
    """{preset name: stored sweep} from gamlab/experiments/tuned_lr.json (or `path`); {} if there is none."""
    path = path or tuned_path()
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except OSError as exc:  # there, but not readable: say so rather than fall back silently
        raise read_refusal(path, exc, "stored sweep") from None


def save_tuned(preset_name: str, result: dict, command: str, path: Path | None = None, **about) -> Path:
    """Store a sweep's result for `preset_name` with the command that made it (and `about`:
    machine, dataset, seconds); other presets' entries are kept."""
    path = path or tuned_path()
    table = load_tuned(path)
    table[preset_name] = {"command": command, **about, **result}
    write_atomic(path, json.dumps(table, indent=1) + "\n")
    return path


def learning_rates(preset_name: str, names, lr: float | None = None, default: float | None = None,
                   path: Path | None = None) -> dict[str, tuple[float, str]]:
    """{model: (learning rate, where it came from)} for a race on `preset_name`.

    lr given (--lr): every model at it ("--lr"). Otherwise the sweep stored for the preset
    ("tuned: <command>"), and `default` (the preset's lr, "preset, not tuned") for a model the
    sweep did not cover.
    """
    if lr is not None:
        return {name: (lr, "--lr") for name in names}
    stored = load_tuned(path).get(preset_name, {})
    tuned = stored.get("lr", {})
    return {name: (tuned[name], f"tuned: {stored['command']}") if name in tuned else (default, "preset, not tuned")
            for name in names}
