"""Model configuration: one dataclass for every mixer, and named presets.

Glossary (paper symbol -> field): C -> d_model, S -> n_slots, k -> conv_kernel,
L (layers) -> n_layer, block size -> block_size. Mamba: d_state (N), d_conv, expand
(d_inner = expand * C), dt_rank (auto: ceil(C / 16)).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .errors import GamlabError

FUSIONS = ("gated", "sum", "local", "global", "local-nogate", "global-nogate")
ATTENTIONS = ("sdpa", "naive")
SCANS = ("sequential", "parallel", "cuda")


@dataclass
class ModelConfig:
    vocab_size: int = 10_000
    block_size: int = 256
    d_model: int = 512
    n_layer: int = 6
    n_head: int = 8  # heads: the Transformer's attention, gam-fw's fast-weight memory
    n_slots: int = 512  # GAM: S, rows of the memory bank M
    conv_kernel: int = 3  # GAM: k, the causal convolution's width
    dropout: float = 0.1
    d_state: int = 16  # Mamba: N
    d_conv: int = 4  # Mamba: width of its causal convolution
    expand: int = 2  # Mamba: d_inner = expand * d_model
    dt_rank: int | None = None  # Mamba: None means ceil(d_model / 16)
    fusion: str = "gated"  # GAM ablation: gated | sum | local | global | local-nogate | global-nogate
    scale_scores: bool = False  # GAM: divide h @ M^T by sqrt(C) (the paper does not)
    attention: str = "sdpa"  # Transformer: sdpa (fused kernel) | naive (full T x T matrix)
    attn_dropout: float = 0.0  # Transformer: dropout on attention weights (leaves the fused kernel on CPU)
    mamba_residual: bool = True  # Mamba: norm + mixer + residual; False is the paper's bare stack
    mamba_scan: str = "sequential"  # Mamba: sequential (reference; optimized: chunked) | parallel (doubling) | cuda (mamba_ssm)

    def __post_init__(self) -> None:
        positive = ("vocab_size", "block_size", "d_model", "n_layer", "n_head", "n_slots",
                    "conv_kernel", "d_state", "d_conv", "expand")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise GamlabError(f"ModelConfig.{name} must be a positive integer, got {value!r}.")
            if value >= 2**31:  # torch's sizes overflow long before; no model this size trains anywhere
                raise GamlabError(f"ModelConfig.{name} must be below 2**31, got {value!r}.")
        if self.dt_rank is not None and (not isinstance(self.dt_rank, int) or self.dt_rank < 1):
            raise GamlabError(f"ModelConfig.dt_rank must be a positive integer or None (auto), got {self.dt_rank!r}.")
        for name in ("dropout", "attn_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise GamlabError(f"ModelConfig.{name} must be in [0, 1), got {value!r}.")
        if self.d_model % self.n_head:
            raise GamlabError(
                f"d_model ({self.d_model}) must be divisible by n_head ({self.n_head}); "
                "pick a head count that divides the width.")
        for name, allowed in (("fusion", FUSIONS), ("attention", ATTENTIONS), ("mamba_scan", SCANS)):
            if getattr(self, name) not in allowed:
                raise GamlabError(f"ModelConfig.{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}.")

    @property
    def d_inner(self) -> int:
        return self.expand * self.d_model

    @property
    def dt_rank_(self) -> int:
        return self.dt_rank if self.dt_rank is not None else math.ceil(self.d_model / 16)

    def replace(self, **changes) -> ModelConfig:
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise GamlabError(f"ModelConfig has no field {', '.join(sorted(unknown))}; "
                              f"fields are {', '.join(f.name for f in dataclasses.fields(self))}.")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        return cls().replace(**upgrade_config_dict(data))

    @classmethod
    def preset(cls, name: str, **changes) -> ModelConfig:
        """A named model size, optionally with some fields changed: an ingredient of the run
        presets (gamlab.experiments.runs.PRESETS), which are the presets that `--preset NAME`
        and the lessons name, each with its own block size and the vocabulary its tokenizer gets.

        "paper": the paper's settings (DESIGN.md: vocabulary 10,000, block 256, C = 512, 6 layers).
        "tiny": seconds per step on a laptop CPU. "small": minutes of CPU training that still
        learns structure. Raises GamlabError for another name.
        """
        if name not in _SIZES:
            raise GamlabError(f"Unknown preset {name!r} for ModelConfig; its sizes are {', '.join(_SIZES)}.")
        return cls(**_SIZES[name]).replace(**changes)


# Values that older gamlab versions saved and that now have another name. "chunked" was the
# Mamba scan's default before the chunked scan became the optimized form of the sequential one
# (gamlab/blocks/optimized/mamba.py): the same function, so such a run loads and resumes as it was.
_RENAMED_VALUES = {"mamba_scan": {"chunked": "sequential"}}


def upgrade_config_dict(data: dict) -> dict:
    """A saved model configuration (a checkpoint's, a results file's) in today's names; a copy."""
    data = dict(data)
    for key, renamed in _RENAMED_VALUES.items():
        if data.get(key) in renamed:
            data[key] = renamed[data[key]]
    return data


# The ingredients of the run presets (gamlab/experiments/runs.py), not presets of their own.
_SIZES: dict[str, dict] = {
    "paper": dict(vocab_size=10_000, block_size=256, d_model=512, n_layer=6, n_head=8,
                  n_slots=512, conv_kernel=3, dropout=0.1, d_state=16, d_conv=4, expand=3),
    "small": dict(vocab_size=256, block_size=128, d_model=128, n_layer=4, n_head=4,
                  n_slots=128, conv_kernel=3, dropout=0.0, d_state=16, d_conv=4, expand=2),
    "tiny": dict(vocab_size=256, block_size=64, d_model=64, n_layer=2, n_head=4,
                 n_slots=64, conv_kernel=3, dropout=0.0, d_state=8, d_conv=4, expand=2),
}
