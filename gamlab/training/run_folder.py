"""What defines a run besides its settings, and a finished run rebuilt from its folder.

    meta = run_meta(model, data)              # saved in checkpoint.pt, compared on resume
    model, tokenizer, history = load_run("runs/gam")

A run folder is what `gamlab train` and the run layer (gamlab/experiments/runs.py) write:
checkpoint.pt (gamlab/training/checkpoint.py) and history.json.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from ..config import ModelConfig
from ..errors import GamlabError
from .checkpoint import load_checkpoint, load_model_state


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
