"""Trained recall models shipped with the package: lesson 07 looks inside models that learned MQAR
on a CPU, where training the full grid takes 5 to 30 minutes.

    trained = load_recall_models(RecallGrid())       # {model: {64: LanguageModel}}, eval mode

The file holds, per model, the float16 weights of the default grid's run at T = 64 (what
run_grid(..., keep_models=True) returns), the grid that trained them (RecallGrid's fields) and
their accuracy. Loading reads it with weights_only=True and refuses, in one sentence, a grid
other than the one asked for or weights that no longer fit the model the library builds.

Made by `PYTHONPATH=. python -m gamlab.experiments.recall_models gam-fw transformer` (trains
each named model on the default grid with one thread, minutes each; writes recall_models.pt
beside this file). Used in notebooks/07_beyond_the_paper.ipynb.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import torch

from ..errors import GamlabError
from ..model import build_model
from .recall import RecallGrid, prepare_for_recall, run_grid

PATH = Path(__file__).with_name("recall_models.pt")
RUNTIME = ("device", "precision", "models")  # grid fields that do not change what a model learned


def _defining(grid: RecallGrid) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(grid).items() if k not in RUNTIME}


def save_recall_models(results: dict, grid: RecallGrid, path: str | Path = PATH) -> Path:
    """Write run_grid(grid, keep_models=True)'s trained models (float16, every length) with the grid
    and their accuracy to `path`."""
    models = {name: {T: {k: v.detach().to("cpu", torch.float16) for k, v in m.state_dict().items()}
                     for T, m in per_len.items()} for name, per_len in results["trained"].items()}
    torch.save({"grid": _defining(grid), "models": models, "accuracy": results["accuracy"]}, path)
    return Path(path)


def load_recall_models(grid: RecallGrid, path: str | Path = PATH) -> dict[str, dict[int, torch.nn.Module]]:
    """{model: {seq_len: trained model in eval mode, float32, on the CPU}} for the models the file
    holds (in the file's order); GamlabError when it is missing or was trained on another grid."""
    path = Path(path)
    remake = "remake it with `python -m gamlab.experiments.recall_models gam-fw transformer`"
    if not path.is_file():
        raise GamlabError(f"no saved recall models at {path}; {remake}.")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    changed = [k for k, v in _defining(grid).items() if saved["grid"].get(k) != v]
    if changed:
        raise GamlabError(f"{path} holds models trained on another grid ({', '.join(changed)} differ); {remake}.")
    out = {}
    for name, per_len in saved["models"].items():
        for T, state in per_len.items():
            model = prepare_for_recall(build_model(name, grid.config(int(T))), grid)
            model.load_state_dict({k: v.float() for k, v in state.items()})
            out.setdefault(name, {})[int(T)] = model.eval()
    return out


if __name__ == "__main__":
    names = tuple(sys.argv[1:]) or ("gam-fw", "transformer")
    grid = RecallGrid(models=names, device="cpu")
    print(save_recall_models(run_grid(grid, keep_models=True), grid))
