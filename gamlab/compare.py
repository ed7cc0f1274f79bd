"""The race: GAM, a Transformer and a Mamba-style model on the same data, side by side.

Same tokens, same batches in the same order, same optimiser settings, a matched parameter
budget; `compare` returns the rows of the paper's Table 1 layout (runs.format_table) with each
model's history and a sample. The command `gamlab compare` (gamlab/commands/compare.py) prints
them and writes results.json and loss_curves.html.

Parameter matching: GAM's block costs about 10 C^2 + S C, the Transformer's 12 C^2, Mamba's
about 3 * expand * C^2. GAM and the Transformer keep the preset's width; Mamba's expand is
chosen (1..8) to bring its count closest to GAM's. The table prints every count.

Used in notebooks/05_showdown.ipynb.
"""

from __future__ import annotations

import math

from .errors import GamlabError
from .model import MODELS, shapes_only
from .runs import load_run_data, make_trainer, matched_config, model_config, sample
from .runtime import seed_everything

DEFAULT_MODELS = ("gam", "transformer", "mamba")


def parse_models(text: str) -> list[str]:
    """"gam,transformer" -> ["gam", "transformer"]; GamlabError for an empty, unknown or repeated name."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise GamlabError("--models is empty; give names such as gam,transformer,mamba.")
    for n in names:
        if n not in MODELS:
            raise GamlabError(f"Unknown model {n!r}; choose from {', '.join(MODELS)}.")
    if len(set(names)) != len(names):
        raise GamlabError("--models names a model twice; list each once.")
    return names


def compare(names, preset, tc, *, dataset: str = "embedded", tokenizer: str | None = None,
            progress: bool = True, log=print) -> dict:
    """Train each model in `names` on the same data and batches (run preset `preset`,
    TrainConfig `tc`); Mamba's expand is matched to GAM's parameter count.

    Returns {"data": TextData, "unigram": val loss, "model_config": base ModelConfig,
    "rows": [summary per model], "histories": {name: history}, "samples": {name: text}}.
    `log` receives one line per stage (print by default).
    """
    data = load_run_data(preset, tc, dataset, tokenizer)
    unigram = data.unigram_loss()
    base = model_config(preset, data.vocab_size)
    log(f"data: {data.name}, {data.tokenizer.kind} tokenizer (vocab {data.vocab_size}), "
        f"{data.train.numel():,} training / {data.val.numel():,} validation tokens; "
        f"unigram baseline: val loss {unigram:.3f} (PPL {math.exp(unigram):.2f})")
    seed_everything(tc.seed)
    target = shapes_only("gam", base).num_params() if any(n.startswith("mamba") for n in names) else None
    rows, histories, samples = [], {}, {}
    for name in names:
        config = matched_config(name, base, target)
        trainer = make_trainer(name, config, data, tc, progress=progress)
        log(f"training {name} ({trainer.model.num_params():,} params, {trainer.total} steps of "
            f"{tc.batch_size} x {config.block_size} tokens) ...")
        trainer.fit()
        row = trainer.summary()  # validation over the whole split
        row["config_changes"] = {"expand": config.expand} if name.startswith("mamba") else {}
        rows.append(row)
        histories[name] = trainer.history
        samples[name] = sample(trainer.model, data.tokenizer, seed=tc.seed)
    return {"data": data, "unigram": unigram, "model_config": base, "rows": rows, "histories": histories,
            "samples": samples}
