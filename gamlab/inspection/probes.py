"""Per-token internals of a GAM model: gate values and memory retrieval, on request.

A GAM block's `forward_with_internals(x)` returns its output and a typed record of what it
computed (gamlab.blocks.gam.GAMBlockInternals); a normal forward stores nothing. `probe(model, idx)`
runs one text through the model that way (LanguageModel.forward_with_internals, eval mode,
no gradients) and stacks the layers' records into plain tensors a student can index. It works
on GAM, its ablations and gam-fw; the slot views (slot_table, the explorer) need blocks whose
global path reads the slot memory.

Glossary (as in gamlab/blocks/gam.py):
    L  layers (GAM blocks)        T  tokens of the probed text
    C  channels (d_model)         S  memory slots (rows of M)     nh  heads (gam-fw)
    gate_local, gate_global (L, T, C)  sigmoid(g_l), sigmoid(g_g): how much of each path passes
    weights                 (L, T, S)  retrieval weights w = softmax(h M^T), rows sum to 1
    read_weights        (L, nh, T, T)  gam-fw: how much of each earlier token a query reads
    local_norm, global_norm (L, T)     size (L2 norm over C) of what each path adds to the
                                       residual stream: |sigmoid(g_l) * local|, |sigmoid(g_g) * global|
    update_norm             (L, T)     size of their sum, the block's whole mixer update

Used in notebooks/03_gating.ipynb and 06_inside_gam.ipynb.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from ..blocks.gam import GAMBlock, GAMBlockInternals
from ..errors import GamlabError
from ..runtime import eval_mode


def gam_blocks(model: torch.nn.Module, slots: bool = True) -> list[GAMBlock]:
    """The model's GAM blocks in order; a clear error when it has none (a Transformer, say).

    slots=True (the slot views): only when their global path is the slot memory (or none,
    gam-local); gam-fw's blocks read earlier tokens instead and are refused. slots=False: any.
    """
    gam = [m for m in model.modules() if isinstance(m, GAMBlock)]
    if not gam:
        raise GamlabError(f"{type(model).__name__} has no GAM blocks to probe; "
                          "build it with build_model('gam', ...) or one of the gam-* ablations.")
    blocks = [m for m in gam if not slots or m.memory is None or m.memory.reads == "slots"]
    if not blocks:
        raise GamlabError("this model's GAM blocks read earlier tokens, not memory slots, so the slot views do not "
                          "apply; probe(model, idx).read_weights shows what each query reads (notebooks/07).")
    return blocks


def can_probe(model: torch.nn.Module, slots: bool = True) -> bool:
    """slots=True: True when the slot views (slot_table, the explorer) work on the model: it has
    GAM blocks whose global path is the slot memory (or none). slots=False: True when `probe`
    works on it, i.e. it has GAM blocks of any kind (gam-fw's included)."""
    try:
        gam_blocks(model, slots)
    except GamlabError:
        return False
    return True


def probeable_models() -> list[str]:
    """The registry's model names whose blocks the slot views can read, found by asking each
    built model (on the meta device: no memory, no initialisation), not by matching names."""
    from ..model import MODELS, shapes_only

    return [name for name in MODELS if can_probe(shapes_only(name))]


def block_internals(model: torch.nn.Module, idx: torch.Tensor) -> tuple[torch.Tensor, list[GAMBlockInternals]]:
    """idx (B, T) -> (logits (B, T, vocab), the GAM blocks' records in order), in eval mode
    without gradients; the model's train/eval mode is restored afterwards, even on an error."""
    gam_blocks(model, slots=False)  # refuse a model without GAM blocks in one sentence
    device = next(model.parameters()).device
    # eval mode: dropout off, the probed values are the ones the model uses at inference
    with eval_mode(model), torch.no_grad():
        logits, records = model.forward_with_internals(idx.to(device))
    return logits, [r for r in records if isinstance(r, GAMBlockInternals)]


@dataclass
class GAMInternals:
    """One text's internals, every tensor on the CPU in float32. Shapes in the module docstring.

    A path the model does not have (an ablation) is None, e.g. gate_local for "gam-global".
    """

    ids: torch.Tensor  # (T,) token ids
    logits: torch.Tensor  # (T, vocab)
    gate_local: torch.Tensor | None  # (L, T, C)
    gate_global: torch.Tensor | None  # (L, T, C)
    weights: torch.Tensor | None  # (L, T, S)
    local_norm: torch.Tensor | None  # (L, T)
    global_norm: torch.Tensor | None  # (L, T)
    update_norm: torch.Tensor  # (L, T)
    read_weights: torch.Tensor | None = None  # (L, nh, T, T), gam-fw; None for the slot memory

    @property
    def n_layer(self) -> int:
        return self.update_norm.size(0)

    @property
    def n_tokens(self) -> int:
        return self.ids.numel()

    @property
    def has_gates(self) -> bool:
        """True when the model gates at least one path (gam-sum has no gates)."""
        return self.gate_local is not None or self.gate_global is not None

    @property
    def has_slots(self) -> bool:
        """True when the global path reads memory slots (gam-local has none, gam-fw reads tokens)."""
        return self.weights is not None

    def gate_means(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Each gate's mean over channels: (local (L, T), global (L, T)); None for a path the model lacks."""
        return tuple(None if g is None else g.mean(-1) for g in (self.gate_local, self.gate_global))

    def top_slots(self, layer: int, token: int, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
        """The k slots token `token` reads most in `layer`: (slot indices (k,), weights (k,))."""
        if self.weights is None:
            raise GamlabError("this model has no memory path (a local-only ablation), so no slots to show.")
        w = self.weights[layer, token]  # (S,)
        top = torch.topk(w, min(k, w.numel()))
        return top.indices, top.values


def _stack(records: list[GAMBlockInternals], key: str) -> torch.Tensor | None:
    """(1, ...) per layer -> (L, ...) float32 on the CPU, or None if the path is absent."""
    if getattr(records[0], key) is None:
        return None
    return torch.stack([getattr(r, key)[0].float().cpu() for r in records])


def probe(model: torch.nn.Module, idx: torch.Tensor) -> GAMInternals:
    """Run one sequence through `model` and return every GAM layer's internals.

    idx: (T,) or (1, T) token ids. The model's outputs are the same as without probing, to
    float rounding: the blocks compute their read weights explicitly where a normal forward
    may use a fused kernel (gamlab.blocks.optimized); nothing in the model is changed. Works on gam-fw
    (its read_weights filled, weights None). Raises GamlabError for a model without GAM
    blocks, more than one sequence, or ids the model refuses.
    """
    if idx.dim() == 1:
        idx = idx[None]
    if idx.dim() != 2 or idx.size(0) != 1:
        raise GamlabError(f"probe takes one sequence, shape (T,) or (1, T); got {tuple(idx.shape)}.")
    logits, records = block_internals(model, idx)
    paths = {}
    for name, gate, path in (("local", "gate_local", "local"), ("global", "gate_global", "global_")):
        value = _stack(records, path)
        if value is not None and _stack(records, gate) is not None:
            value = value * _stack(records, gate)  # what the gate lets into the residual stream
        paths[name] = value
    slots = records[0].reads == "slots"
    return GAMInternals(
        ids=idx[0].cpu(),
        logits=logits[0].float().cpu(),
        gate_local=_stack(records, "gate_local"),
        gate_global=_stack(records, "gate_global"),
        weights=_stack(records, "weights") if slots else None,
        read_weights=_stack(records, "weights") if records[0].reads == "tokens" else None,
        local_norm=paths["local"].norm(dim=-1) if paths["local"] is not None else None,
        global_norm=paths["global"].norm(dim=-1) if paths["global"] is not None else None,
        update_norm=_stack(records, "update").norm(dim=-1),
    )


@dataclass
class SlotTable:
    """Per-token retrieval statistics of one layer over a corpus.

    mean: (vocab, S) mean weight with which each token id reads each slot (0 where unseen)
    count: (vocab,) how many times each token id occurred
    """

    layer: int
    mean: torch.Tensor
    count: torch.Tensor

    def top_tokens(self, slot: int, top: int = 10, min_count: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """The token ids that read `slot` most on average: (ids (top,), mean weights (top,))."""
        S = self.mean.size(1)
        if not 0 <= slot < S:
            raise GamlabError(f"slot {slot} does not exist; the memory has slots 0..{S - 1}.")
        score = self.mean[:, slot].masked_fill(self.count < min_count, -1.0)  # (vocab,)
        top = torch.topk(score, min(top, int((self.count >= min_count).sum())))
        return top.indices, top.values

    def busiest(self, n: int) -> list[int]:
        """The n slots (largest first) that the corpus reads with the most total weight: the
        sum over token ids of count * mean weight, i.e. over every token of the corpus."""
        total = (self.mean * self.count[:, None]).sum(0)  # (S,)
        return torch.topk(total, min(n, total.numel())).indices.tolist()


def slot_table(model: torch.nn.Module, token_batches: Iterable[torch.Tensor], layer: int) -> SlotTable:
    """Average, over a corpus, the retrieval weights of `layer` per token id.

    token_batches: tensors of token ids, each (B, T) or (T,).
    """
    blocks = gam_blocks(model)
    if not 0 <= layer < len(blocks):
        raise GamlabError(f"layer {layer} does not exist; this model has GAM layers 0..{len(blocks) - 1}.")
    if blocks[layer].memory is None:
        raise GamlabError("this layer has no memory path (a local-only ablation), so no slots to count.")
    V, S = model.config.vocab_size, blocks[layer].memory.slots.size(0)
    total, count = torch.zeros(V, S), torch.zeros(V)
    for idx in token_batches:
        idx = idx[None] if idx.dim() == 1 else idx
        _, records = block_internals(model, idx)
        ids, w = idx.reshape(-1).cpu(), records[layer].weights.reshape(-1, S).float().cpu()  # (B*T,), (B*T, S)
        total.index_add_(0, ids, w)
        count.index_add_(0, ids, torch.ones_like(ids, dtype=count.dtype))
    return SlotTable(layer, total / count.clamp(min=1)[:, None], count)


def slot_usage(model: torch.nn.Module, token_batches: Iterable[torch.Tensor], layer: int, slot: int,
               top: int = 10, min_count: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Which token ids of a corpus read memory slot `slot` of `layer` most (mean weight).

    Returns (ids (top,), mean weights (top,)): what the slot has come to stand for. Tokens
    seen fewer than `min_count` times are left out.
    """
    return slot_table(model, token_batches, layer).top_tokens(slot, top, min_count)
