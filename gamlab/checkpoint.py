"""Checkpoints: one file, plain data only, written atomically, loaded with weights_only=True.

`<out>/checkpoint.pt` holds (all tensors, numbers, strings, lists and dicts):

    format, version        "gamlab-checkpoint", 1
    model                  the model's state_dict
    optimizer, scheduler   their state_dicts
    step, history          optimizer steps done, the history list (see gamlab/train.py)
    rng                    Python and torch random states, so a resumed run continues the same
    model_name, model_config, train_config, tokenizer, dataset, extra

Taught in notebooks/05_showdown.ipynb.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from .errors import GamlabError

FORMAT, VERSION = "gamlab-checkpoint", 1
FILENAME = "checkpoint.pt"
REQUIRED = ("model", "optimizer", "scheduler", "step", "history", "model_name", "model_config")


def checkpoint_path(path) -> Path:
    """`path` itself if it names a file, else `path/checkpoint.pt`."""
    p = Path(path)
    return p / FILENAME if p.is_dir() or p.suffix != ".pt" else p


def save_checkpoint(path, state: dict) -> Path:
    """Write `state` to `path` atomically: a crash mid-write leaves the previous file intact.

    The bytes go to a temporary file in the same folder, are flushed to disk (fsync), and
    then replace the old file in one rename (os.replace is atomic on POSIX and Windows).
    """
    path = checkpoint_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT, "version": VERSION, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path, *, model_name: str | None = None, model_config: dict | None = None,
                    map_location="cpu", **expected) -> dict:
    """Read a checkpoint written by save_checkpoint; refuse anything else with one sentence.

    model_name / model_config, when given, must match the checkpoint's (a resumed run must
    continue the same model); so must any other plain field given by keyword and not None,
    e.g. tokenizer=tok.to_dict() or dataset="wikitext2".
    """
    path = checkpoint_path(path)
    if not path.is_file():
        raise GamlabError(f"no checkpoint at {path}; train first (gamlab train --out {path.parent}) or check the path.")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise GamlabError(f"checkpoint {path} is truncated or corrupt ({type(exc).__name__}); "
                          "delete it and train again, or resume from a good copy.") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or any(k not in state for k in REQUIRED):
        raise GamlabError(f"{path} is not a gamlab checkpoint (wrong format or missing fields); "
                          "point at a checkpoint written by gamlab train.")
    if state.get("version") != VERSION:
        raise GamlabError(f"checkpoint {path} has format version {state.get('version')}, this gamlab reads {VERSION}.")
    return check_matches(state, path, model_name=model_name, model_config=model_config, **expected)


def check_matches(state: dict, path, *, model_name: str | None = None, model_config: dict | None = None,
                  **expected) -> dict:
    """Refuse, in one sentence, a checkpoint read from `path` that belongs to another run; returns it."""
    if model_name is not None and state["model_name"] != model_name:
        raise GamlabError(f"checkpoint {path} holds model {state['model_name']!r}, not {model_name!r}; "
                          f"resume with --model {state['model_name']} or choose another --out folder.")
    if model_config is not None and state["model_config"] != model_config:
        diff = sorted(k for k in set(model_config) | set(state["model_config"])
                      if model_config.get(k) != state["model_config"].get(k))
        raise GamlabError(f"checkpoint {path} was trained with a different model configuration "
                          f"({', '.join(diff)} differ); resume with the same preset and dataset, or use another --out folder.")
    for key, want in expected.items():
        if want is not None and state.get(key) != want:
            raise GamlabError(f"checkpoint {path} was written for a different {key.replace('_', ' ')}"
                              f"{f' ({state.get(key)!r}, not {want!r})' if isinstance(want, str) else ''}; "
                              "resume with the same settings, or use another --out folder.")
    return state
