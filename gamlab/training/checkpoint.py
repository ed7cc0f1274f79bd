"""Checkpoints: one file, plain data only, written atomically, loaded with weights_only=True.

`<out>/checkpoint.pt` holds (all tensors, numbers, strings, lists and dicts):

    format, version        "gamlab-checkpoint", 1
    model                  the plain model's state_dict (no torch.compile / DDP wrapper prefixes)
    optimizer, scheduler   their state_dicts
    scaler, skipped_steps  fp16's loss scaler state_dict ({} in fp32 and bf16, absent before precision
                           was recorded) and the steps it skipped for inf/NaN gradients
    step, history          optimizer steps done, the history list (see gamlab/training/train.py)
    elapsed, tokens, cpu_seconds, acc   the Meter's counts (gamlab/training/trainer_parts.py)
    rng                    Python and torch random states, so a resumed run continues the same
    resumes                the settings a resume changed, and from which step (Checkpoints.load)
    model_name, model_config, train_config, tokenizer, dataset, extra
                           (train_config["precision"] is the one that ran: bf16, fp16 or fp32, never auto)

Used in notebooks/05_showdown.ipynb and 06_inside_gam.ipynb (through gamlab.experiments.runs).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import upgrade_config_dict
from ..errors import GamlabError
from .files import os_error_in, read_refusal, write_atomic

FORMAT, VERSION = "gamlab-checkpoint", 1
FILENAME = "checkpoint.pt"
REQUIRED = ("model", "optimizer", "scheduler", "step", "history", "model_name", "model_config")


def checkpoint_path(path) -> Path:
    """`path` itself if it names a file, else `path/checkpoint.pt`."""
    p = Path(path)
    return p / FILENAME if p.is_dir() or p.suffix != ".pt" else p


def save_checkpoint(path, state: dict, *, kept: str | None = None) -> Path:
    """Write `state` to `path` atomically: a crash mid-write leaves the previous file intact.

    The bytes go to a temporary file in the same folder, are flushed to disk (fsync), and
    then replace the old file in one rename (os.replace is atomic on POSIX and Windows); the
    file gets the mode open() would give under the umask (gamlab/training/files.py). A failed
    write (no space left, permission denied) raises GamlabError saying so and what was kept
    (`kept`, default: whether the previous checkpoint is unchanged); no temporary file is left.
    """
    path = checkpoint_path(path)
    return write_atomic(path, lambda f: torch.save({"format": FORMAT, "version": VERSION, **state}, f),
                        kept=kept, then="continue with --resume" if path.exists() else "train again")


def load_checkpoint(path, *, model_name: str | None = None, model_config: dict | None = None,
                    map_location="cpu", **expected) -> dict:
    """Read a checkpoint written by save_checkpoint; refuse anything else with one sentence.

    model_name / model_config, when given, must match the checkpoint's (a resumed run must
    continue the same model); so must any other plain field given by keyword and not None,
    e.g. tokenizer=tok.to_dict() or dataset="wikitext2".
    """
    path = checkpoint_path(path)
    try:
        found = path.is_file()
        state = torch.load(path, map_location=map_location, weights_only=True) if found else None
    except OSError as exc:  # it is there but cannot be read: not a damaged file
        raise read_refusal(path, exc, "checkpoint") from None
    except Exception as exc:
        if os_error_in(exc) is not None:  # a read error that torch wrapped
            raise read_refusal(path, os_error_in(exc), "checkpoint") from None
        raise GamlabError(f"checkpoint {path} is truncated or corrupt ({type(exc).__name__}); "
                          "delete it and train again, or resume from a good copy.") from None
    if not found:
        raise GamlabError(f"no checkpoint at {path}; train first (gamlab train --out {path.parent}) or check the path.")
    if not isinstance(state, dict) or state.get("format") != FORMAT or any(k not in state for k in REQUIRED):
        raise GamlabError(f"{path} is not a gamlab checkpoint (wrong format or missing fields); "
                          "point at a checkpoint written by gamlab train.")
    if state.get("version") != VERSION:
        raise GamlabError(f"checkpoint {path} has format version {state.get('version')}, this gamlab reads {VERSION}.")
    if isinstance(state["model_config"], dict):  # a run saved by an older gamlab, in today's names
        state["model_config"] = upgrade_config_dict(state["model_config"])
    state["model"] = plain_state_dict(state["model"])  # one trained through a wrapper (older gamlab, foreign)
    return check_matches(state, path, model_name=model_name, model_config=model_config, **expected)


# ---------------------------------------------------------------- wrapped models

# What wrappers put in front of a model's parameter names: torch.compile's OptimizedModule keeps the
# model as `_orig_mod`, DistributedDataParallel and DataParallel as `module`.
WRAPPER_PREFIXES = ("_orig_mod.", "module.")


def plain_model(model):
    """The model inside torch.compile / DDP / DataParallel wrappers (any nesting), or `model` itself."""
    while True:
        inner = getattr(model, "_orig_mod", None)
        if inner is None and isinstance(model, (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)):
            inner = model.module
        if not isinstance(inner, torch.nn.Module):
            return model
        model = inner


def plain_state_dict(weights: dict) -> dict:
    """`weights` with the wrapper prefixes (WRAPPER_PREFIXES) that every name carries removed,
    so that a state_dict saved from a wrapped model loads into the plain one."""
    while weights and (prefix := next((p for p in WRAPPER_PREFIXES if all(k.startswith(p) for k in weights)), None)):
        weights = {k[len(prefix):]: v for k, v in weights.items()}
    return weights


def load_model_state(model, weights: dict, path) -> None:
    """Load a checkpoint's weights into `model` (wrapped or not; prefixes stripped), or say in one
    sentence which names do not fit: a checkpoint of the same model always loads."""
    model = plain_model(model)
    weights = plain_state_dict(weights)
    mine = model.state_dict()
    missing, unexpected = sorted(set(mine) - set(weights)), sorted(set(weights) - set(mine))
    wrong = sorted(k for k in set(mine) & set(weights) if tuple(mine[k].shape) != tuple(weights[k].shape))
    if missing or unexpected or wrong:
        parts = [f"{len(names)} {what} (e.g. {names[0]})" for what, names in
                 (("missing", missing), ("unexpected", unexpected), ("of another shape", wrong)) if names]
        raise GamlabError(f"the weights in {path} do not fit model {getattr(model, 'name', type(model).__name__)!r}: "
                          f"{', '.join(parts)} parameter names; it was saved by another model or gamlab version, "
                          "so load it with the gamlab version and model that wrote it.")
    model.load_state_dict(weights)


# TrainConfig fields a resumed run may change without becoming another run: where the
# checkpoints go and which device computes. Changing the run's length (steps, epochs) is
# allowed too, as a deliberate change that Trainer.resume records; every other field
# defines the run and must match.
FREE_ON_RESUME = ("checkpoint_every", "device")
LENGTH_FIELDS = ("steps", "epochs")
# Fields a checkpoint written before they existed does not record: not compared then (such a
# checkpoint was trained as the old gamlab did: float32 on a CPU).
RECORDED_SINCE = ("precision",)


def check_matches(state: dict, path, *, model_name: str | None = None, model_config: dict | None = None,
                  train_config: dict | None = None, **expected) -> dict:
    """Refuse, in one sentence, a checkpoint read from `path` that belongs to another run; returns it.

    The one place where a resumed run is compared with the run that was saved: the model's
    name and configuration, the training configuration (every field but FREE_ON_RESUME and
    LENGTH_FIELDS), and any other plain field given by keyword and not None (tokenizer,
    dataset, the data's digest, the command's run options). Raises GamlabError naming the
    first field that differs, its saved and its requested value, and the way out.
    """
    if model_name is not None and state["model_name"] != model_name:
        raise GamlabError(f"checkpoint {path} holds model {state['model_name']!r}, not {model_name!r}; "
                          f"resume with --model {state['model_name']} or choose another --out folder.")
    # The data and tokenizer first: a model configuration that differs often follows from them.
    for key, want in expected.items():
        if want is not None and key in state and state[key] != want:
            _refuse(path, key, state[key], want)
    if model_config is not None and state["model_config"] != model_config:
        diff = _differing(state["model_config"], model_config)
        raise GamlabError(f"checkpoint {path} was trained with a different model configuration "
                          f"({', '.join(diff)} differ); resume with the same preset and dataset, or use another --out folder.")
    saved_tc = state.get("train_config")
    if train_config is not None and saved_tc is not None:
        for key in _differing(saved_tc, train_config):
            if key not in FREE_ON_RESUME + LENGTH_FIELDS and not (key in RECORDED_SINCE and key not in saved_tc):
                _refuse(path, key, saved_tc.get(key), train_config.get(key))
    return state


def _differing(saved: dict, wanted: dict) -> list[str]:
    return sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))


def _refuse(path, key: str, saved, wanted) -> None:
    """One sentence: which setting differs, its saved and requested values, and the two ways out."""
    if key == "data_digest":
        what, option = "other text (the dataset has the same name but different content)", "--dataset"
    else:
        if isinstance(saved, dict) and isinstance(wanted, dict):  # tokenizers: name their kinds
            same = saved.get("kind") == wanted.get("kind")
            shown = (f"a {saved.get('kind')} tokenizer with another vocabulary" if same else
                     f"a {saved.get('kind')} tokenizer, not a {wanted.get('kind')} one")
        else:
            shown = f"{saved!r}, not {wanted!r}"
        what, option = f"a different {key.replace('_', ' ')} ({shown})", "--" + key.replace("_", "-")
    raise GamlabError(f"checkpoint {path} was written for {what}; a resumed run keeps the settings it was saved "
                      f"with, so drop the change ({option}, or the same field in code) or start a new run in "
                      "another --out folder.")
