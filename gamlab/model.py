"""One language-model shell for every mixer, and the registry of model names.

    idx (B, T) -> token embedding + learned position embedding -> dropout
               -> N blocks -> final LayerNorm -> head (tied to the token embedding)
               -> logits (B, T, vocab)

Blocks are gamlab.blocks.block.Block subclasses, each in its own file: a new mixer is its file plus
one line in MODELS. build_model puts every model's layers in the same optimized forms (gamlab.blocks.optimized).

Used in notebooks/03_gating.ipynb onwards; 04_gam_block.ipynb describes the shell and checks the
paper's parameter counts with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .blocks.fastweight import FastWeightGAMBlock
from .blocks.gam import GAMBlock
from .blocks.mamba import MambaBlock
from .blocks.optimized import use_optimized_forms
from .blocks.transformer import TransformerBlock
from .config import ModelConfig
from .errors import GamlabError
from .model_inputs import IGNORE, check_tokens, whole_number


class LanguageModel(nn.Module):
    """init: how the embeddings start, "careful" (gamlab's) or "paper" (the author's script;
    see init_embeddings and gamlab/training/recipes.py)."""

    def __init__(self, config: ModelConfig, block: Callable[[ModelConfig], nn.Module], name: str = "",
                 init: str = "careful"):
        super().__init__()
        self.config, self.name = config, name
        C = config.d_model
        self.tok_emb = nn.Embedding(config.vocab_size, C)
        self.pos_emb = nn.Embedding(config.block_size, C)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(block(config) for _ in range(config.n_layer))
        self.norm_f = nn.LayerNorm(C)
        self.head = nn.Linear(C, config.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # weight tying: one (vocab, C) matrix
        self.init_embeddings(init)

    def init_embeddings(self, init: str = "careful") -> None:
        """Start the tied (vocab, C) matrix and the (T, C) position embedding the recipe's way.

        "careful": both N(0, 0.02). "paper": as in the author's script, positions keep
        nn.Embedding's N(0, 1) and the tied matrix keeps nn.Linear's U(-1/sqrt(C), 1/sqrt(C)).
        Raises GamlabError for another name.
        """
        if init == "careful":
            # Small embeddings keep the tied head's first logits near uniform (N(0, 1) would not).
            nn.init.normal_(self.tok_emb.weight, std=0.02)
            nn.init.normal_(self.pos_emb.weight, std=0.02)
        elif init == "paper":
            self.head.reset_parameters()  # the author ties token_embedding.weight = head.weight
            nn.init.normal_(self.pos_emb.weight, std=1.0)
        else:
            raise GamlabError(f"init={init!r}: choose 'careful' or 'paper'.")

    def num_params(self) -> int:
        """Trainable parameters, the tied embedding counted once (as the paper counts)."""
        return sum(p.numel() for p in self.parameters())

    def check_input(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> None:
        """Refuse what would otherwise fail deep inside PyTorch, with a sentence that says why.

        idx: (B, T) token ids of any integer dtype, 1 <= T <= block_size, values in [0, vocab);
        B may be 0. targets (optional): (B, T) integers in [0, vocab) or -100 (not scored).
        Raises GamlabError naming the first problem found (gamlab.model_inputs.check_tokens).
        """
        check_tokens(idx, targets, self.config.vocab_size, self.config.block_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx: (B, T) token ids -> (logits (B, T, vocab), mean cross-entropy or None).

        Any integer dtype is accepted (int64 and int32 go straight to the embedding). Targets
        equal to -100 are not scored; when none is scored the loss is NaN, as in F.cross_entropy.
        Raises GamlabError for ids or targets check_input refuses.
        """
        self.check_input(idx, targets)
        logits = self.head(self.body(self.drop(self.embed(idx))))  # (B, T, vocab)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten().long(), ignore_index=IGNORE)
        return logits, loss

    def forward_with_internals(self, idx: torch.Tensor) -> tuple[torch.Tensor, list]:
        """idx: (B, T) token ids -> (logits (B, T, vocab), one record per block: what its
        `forward_with_internals` returns, None for a block that keeps none). gamlab.inspection.probes reads it.
        Raises GamlabError for ids check_input refuses."""
        self.check_input(idx)
        x, records = self.drop(self.embed(idx)), []
        for block in self.blocks:
            x, record = block.forward_with_internals(x)
            records.append(record)
        return self.head(self.norm_f(x)), records

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        """idx: (B, T) -> token + position embedding (B, T, C), what the first block reads (before dropout)."""
        if idx.dtype not in (torch.int64, torch.int32):  # nn.Embedding takes only these two
            idx = idx.long()
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
        """Sample max_new_tokens after the prompt idx (B, T) -> (B, T + max_new_tokens), int64.

        As in common sampling APIs: temperature 0 is greedy (argmax; ties go to the lowest
        id), top_k None or 0 keeps every token and a top_k above the vocabulary keeps them
        all; max_new_tokens 0 returns the prompt. The model sees the last block_size tokens,
        so a prompt longer than block_size works (it is cropped). Raises GamlabError for an
        empty prompt (T = 0: give at least one token), a negative max_new_tokens or top_k,
        a negative or non-finite temperature, and ids check_input refuses.

        Used in notebooks/04_gam_block.ipynb.
        """
        max_new_tokens = whole_number("max_new_tokens", max_new_tokens)
        top_k = 0 if top_k is None else whole_number("top_k", top_k)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature < math.inf:
            raise GamlabError(f"temperature must be a finite number >= 0 (0 means greedy), got {temperature!r}.")
        # empty, dtype, ids in range; a long prompt is cropped below
        check_tokens(idx, None, self.config.vocab_size, self.config.block_size, crop=True)
        idx = idx.long()
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.config.block_size:])
            # (B, vocab) in float64, which holds any positive temperature (MPS has no float64)
            logits = logits[:, -1, :].to(torch.float32 if logits.device.type == "mps" else torch.float64)
            if 0 < top_k < logits.size(-1):
                kth = torch.topk(logits, top_k).values[:, [-1]]  # (B, 1): the k-th largest logit
                logits = logits.masked_fill(logits < kth, float("-inf"))
            if temperature == 0:
                nxt = logits.argmax(-1, keepdim=True)  # (B, 1)
            else:
                # subtract the row max first: a tiny temperature then gives -inf, never inf - inf = NaN
                scaled = (logits - logits.max(-1, keepdim=True).values) / temperature
                nxt = torch.multinomial(scaled.softmax(-1), 1, generator=generator)  # (B, 1)
            idx = torch.cat([idx, nxt], dim=1)
        return idx


@dataclass(frozen=True)
class ModelSpec:
    description: str
    block: Callable[[ModelConfig], nn.Module]
    changes: Callable[[ModelConfig], dict]  # config fields this variant fixes


MODELS: dict[str, ModelSpec] = {
    "gam": ModelSpec("GAM, the paper's block (gated fusion)", GAMBlock, lambda c: {"fusion": "gated"}),
    "gam-sum": ModelSpec("GAM ablation as in the paper: local + global, no gates", GAMBlock, lambda c: {"fusion": "sum"}),
    "gam-local": ModelSpec("GAM ablation: gated convolution only", GAMBlock, lambda c: {"fusion": "local"}),
    "gam-global": ModelSpec("GAM ablation: gated memory only", GAMBlock, lambda c: {"fusion": "global"}),
    "gam-local-nogate": ModelSpec("GAM ablation as in the paper: convolution only, no gate", GAMBlock,
                                  lambda c: {"fusion": "local-nogate"}),
    "gam-global-nogate": ModelSpec("GAM ablation as in the paper: memory only, no gate", GAMBlock,
                                   lambda c: {"fusion": "global-nogate"}),
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


def block_class(name: str) -> type[nn.Module]:
    """The block class of a registered model name; raises GamlabError for an unknown name."""
    if name not in MODELS:
        raise GamlabError(f"Unknown model {name!r}; choose one of {', '.join(MODELS)}.")
    return MODELS[name].block


def budget_knob(name: str) -> str | None:
    """The ModelConfig field that sets the named model's parameter count when it is matched to
    another's (e.g. Mamba's "expand"), or None: it keeps the preset's sizes. Asked of its block."""
    return getattr(block_class(name), "budget_knob", None)


def shapes_only(name: str, config: ModelConfig | None = None,
                optimized: bool | tuple[str, ...] = True) -> LanguageModel:
    """build_model on the meta device: every shape, no memory, no initialisation. For counting
    parameters and estimating memory before anything is trained."""
    with torch.device("meta"):
        return build_model(name, config, optimized=optimized)


def build_model(name: str, config: ModelConfig | None = None, init: str = "careful",
                optimized: bool | tuple[str, ...] = True) -> LanguageModel:
    """A language model with the named mixer; the variant's fixed fields override `config`.

    init: "careful" or "paper", how the embeddings start (LanguageModel.init_embeddings).
    optimized: the optimized layer forms to use, the same for every model
    (gamlab.blocks.optimized.use_optimized_forms): True the measured default
    (gamlab.blocks.optimized.DEFAULT), False the reference forms only, or names from
    gamlab.blocks.optimized.FORMS. Same parameters and function either way.
    Raises GamlabError for an unknown name or form."""
    block = block_class(name)
    config = config if config is not None else ModelConfig.preset("tiny")
    config = config.replace(**MODELS[name].changes(config))
    return use_optimized_forms(LanguageModel(config, block, name, init), optimized)
