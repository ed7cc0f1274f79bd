"""A small trained GAM shipped with the package, for lessons that must show a trained model in
seconds on a CPU (lesson 03's gates; training it takes minutes on a busy 2-core CPU).

    run = load_small_gam()        # a TrainedRun: model (eval mode), data, history; print(run)
    save_small_gam(trained_model("gam", PRESETS["tiny"], out="runs/small-gam"))   # remake it

The file holds the weights in float16 (a quarter of a checkpoint's size: no optimizer state)
and the run's meta (gamlab.training.train.run_meta: model, configuration, tokenizer, data
digest), its preset, learning rate and history. Loading reads it with weights_only=True and
checks the meta against the preset's model and data as they are built today, so a weight file
that no longer matches the library is refused in one sentence instead of showing nonsense.

Made by `PYTHONPATH=. python -m gamlab.experiments.small_model` (trains the `tiny` preset's GAM
on the embedded stories, seed 0, into runs/small-gam, then writes small_gam.pt beside this
file). Used in notebooks/03_gating.ipynb.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import GamlabError
from ..model import build_model, shapes_only
from ..training.run_folder import run_meta
from .runs import PRESETS, TrainedRun, load_run_data, model_config, train_config

PATH = Path(__file__).with_name("small_gam.pt")
KEYS = ("model_name", "model_config", "tokenizer", "dataset", "data_digest")  # what must match


def save_small_gam(run: TrainedRun, path: str | Path = PATH) -> Path:
    """Write `run`'s model (float16 weights) with its meta, preset, lr and history to `path`."""
    meta = run_meta(run.model, run.data)
    state = {k: v.detach().to("cpu", torch.float16) for k, v in run.model.state_dict().items()}
    torch.save({"model": state, "meta": {k: meta[k] for k in KEYS}, "preset": run.preset, "lr": run.lr,
                "history": run.history}, path)
    return Path(path)


def load_small_gam(path: str | Path = PATH, device: str | torch.device = "cpu") -> TrainedRun:
    """The saved small GAM as a TrainedRun (model in eval mode on `device`, in float32, with the
    preset's data on the embedded stories). GamlabError when the file is missing or holds a model
    or data other than what its preset builds today (remake it: module docstring)."""
    path = Path(path)
    remake = "remake it with `python -m gamlab.experiments.small_model`"
    if not path.is_file():
        raise GamlabError(f"no saved small GAM at {path}; {remake}.")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    preset = PRESETS[saved["preset"]]
    data = load_run_data(preset, train_config(preset, device="cpu"), "embedded")
    config = model_config(preset, data.vocab_size)
    wanted = run_meta(shapes_only("gam", config), data)
    changed = [k for k in KEYS if saved["meta"].get(k) != wanted[k]]
    if changed:
        raise GamlabError(f"{path} holds a GAM whose {', '.join(changed)} differ from what preset "
                          f"{preset.name!r} builds now; {remake}.")
    model = build_model("gam", config)
    model.load_state_dict({k: v.float() for k, v in saved["model"].items()})
    return TrainedRun(model.to(device).eval(), data, list(saved["history"]), path, preset.name, saved["lr"], False)


if __name__ == "__main__":
    from .runs import trained_model

    print(save_small_gam(trained_model("gam", PRESETS["tiny"], out="runs/small-gam")))
