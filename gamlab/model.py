"""One language-model shell for every mixer, and the registry of model names.

    idx (B, T) -> token embedding + learned position embedding -> dropout
               -> N blocks -> final LayerNorm -> head (tied to the token embedding)
               -> logits (B, T, vocab)

Taught in notebooks/04_gam_block.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .dropout import Dropout
from .errors import GamlabError
from .fastweight import FastWeightGAMBlock
from .gam import GAMBlock
from .mamba import MambaBlock
from .transformer import TransformerBlock


class LanguageModel(nn.Module):
    def __init__(self, config: ModelConfig, block: Callable[[ModelConfig], nn.Module], name: str = ""):
        super().__init__()
        self.config, self.name = config, name
        C = config.d_model
        self.tok_emb = nn.Embedding(config.vocab_size, C)
        self.pos_emb = nn.Embedding(config.block_size, C)
        self.drop = Dropout(config.dropout)
        self.blocks = nn.ModuleList(block(config) for _ in range(config.n_layer))
        self.norm_f = nn.LayerNorm(C)
        self.head = nn.Linear(C, config.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # weight tying: one (vocab, C) matrix
        # Small embeddings keep the tied head's first logits near uniform (N(0, 1) would not).
        nn.init.normal_(self.tok_emb.weight, std=0.02)
        nn.init.normal_(self.pos_emb.weight, std=0.02)

    def num_params(self) -> int:
        """Trainable parameters, the tied embedding counted once (as the paper counts)."""
        return sum(p.numel() for p in self.parameters())

    def check_input(self, idx: torch.Tensor) -> None:
        """Refuse what would otherwise fail deep inside PyTorch, with a sentence that says why."""
        if idx.dim() != 2 or idx.dtype not in (torch.int64, torch.int32):
            raise GamlabError(f"expected token ids of shape (batch, time) and an integer dtype, "
                              f"got shape {tuple(idx.shape)} and {idx.dtype}.")
        T, V = idx.size(1), self.config.vocab_size
        if T > self.config.block_size:
            raise GamlabError(f"sequence of {T} tokens is longer than block_size "
                              f"{self.config.block_size}; crop it or build the model with a larger block_size.")
        if idx.numel():
            lo, hi = (int(v) for v in idx.aminmax())  # one reduction: one device sync on a GPU
            if lo < 0 or hi >= V:
                raise GamlabError(f"token id {hi if hi >= V else lo} is outside the vocabulary [0, {V}); "
                                  "encode with the tokenizer the model was built for.")

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx: (B, T) token ids -> (logits (B, T, vocab), mean cross-entropy or None)."""
        self.check_input(idx)
        logits = self.head(self.body(self.drop(self.embed(idx))))  # (B, T, vocab)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())
        return logits, loss

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        """idx: (B, T) -> token + position embedding (B, T, C), what the first block reads (before dropout)."""
        pos = torch.arange(idx.size(1), device=idx.device)
        return self.tok_emb(idx) + self.pos_emb(pos)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        """Embedded x (B, T, C) -> final hidden state (B, T, C): the blocks, then the final LayerNorm."""
        for block in self.blocks:
            x = block(x)
        return self.norm_f(x)

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Sample max_new_tokens after idx (B, T); the context is cropped to block_size."""
        if temperature <= 0:
            raise GamlabError(f"temperature must be positive, got {temperature}; use a small value such as 0.1 for near-greedy sampling.")
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.config.block_size:])
            logits = logits[:, -1, :] / temperature  # (B, vocab)
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            nxt = torch.multinomial(logits.softmax(-1), 1, generator=generator)  # (B, 1)
            idx = torch.cat([idx, nxt], dim=1)
        return idx


@dataclass(frozen=True)
class ModelSpec:
    description: str
    block: Callable[[ModelConfig], nn.Module]
    changes: Callable[[ModelConfig], dict]  # config fields this variant fixes


MODELS: dict[str, ModelSpec] = {
    "gam": ModelSpec("GAM, the paper's block (gated fusion)", GAMBlock, lambda c: {"fusion": "gated"}),
    "gam-sum": ModelSpec("GAM ablation: local + global, no gates", GAMBlock, lambda c: {"fusion": "sum"}),
    "gam-local": ModelSpec("GAM ablation: gated convolution only", GAMBlock, lambda c: {"fusion": "local"}),
    "gam-global": ModelSpec("GAM ablation: gated memory only", GAMBlock, lambda c: {"fusion": "global"}),
    "transformer": ModelSpec("Transformer, fused SDPA attention (fair baseline)", TransformerBlock,
                             lambda c: {"attention": "sdpa"}),
    "transformer-naive": ModelSpec("Transformer as in the paper: full T x T matrix, attention dropout",
                                   TransformerBlock, lambda c: {"attention": "naive", "attn_dropout": c.dropout}),
    "mamba": ModelSpec("Mamba-style, norm + mixer + residual (fair baseline)", MambaBlock,
                       lambda c: {"mamba_residual": True}),
    "mamba-bare": ModelSpec("Mamba-style as in the paper: bare stack of mixers", MambaBlock,
                            lambda c: {"mamba_residual": False}),
    "gam-fw": ModelSpec("GAM whose memory is written by the sequence (fast weights), beyond the paper",
                        FastWeightGAMBlock, lambda c: {"fusion": "gated"}),
}


def list_models() -> dict[str, str]:
    """Model names accepted by build_model, with one line each."""
    return {name: spec.description for name, spec in MODELS.items()}


def shapes_only(name: str, config: ModelConfig | None = None) -> LanguageModel:
    """build_model on the meta device: every shape, no memory, no initialisation. For counting
    parameters and estimating memory before anything is trained."""
    with torch.device("meta"):
        return build_model(name, config)


def build_model(name: str, config: ModelConfig | None = None) -> LanguageModel:
    """A language model with the named mixer; the variant's fixed fields override `config`."""
    if name not in MODELS:
        raise GamlabError(f"Unknown model {name!r}; choose one of {', '.join(MODELS)}.")
    config = config if config is not None else ModelConfig.preset("tiny")
    spec = MODELS[name]
    config = config.replace(**spec.changes(config))
    return LanguageModel(config, spec.block, name)
