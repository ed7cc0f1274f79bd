"""What a language model is given, checked before it reaches PyTorch: token ids, targets, counts.

Each check refuses, in one sentence that names the problem and the way out (GamlabError), what
would otherwise fail deep inside PyTorch or pass silently: a missing batch dimension, float ids,
an empty prompt, a sequence longer than the model takes, ids outside the vocabulary, targets of
another shape. gamlab.model's LanguageModel calls them from forward, forward_with_internals and
generate.
"""

from __future__ import annotations

import operator

import torch

from .errors import GamlabError

IGNORE = -100  # a target that is not scored (F.cross_entropy's ignore_index; gamlab.training.tasks.IGNORE)


def check_tokens(idx, targets, vocab_size: int, block_size: int, crop: bool = False) -> None:
    """Refuse token ids (and targets) a model with this vocabulary and block size cannot take.

    idx: (B, T) token ids of any integer dtype, 1 <= T <= block_size (any T with crop=True:
    generate crops a long prompt itself), values in [0, vocab_size); B may be 0. targets
    (optional): (B, T) integers in [0, vocab_size) or IGNORE (not scored).
    Raises GamlabError naming the first problem found.
    """
    if not isinstance(idx, torch.Tensor) or idx.dim() != 2:
        shape = tuple(idx.shape) if isinstance(idx, torch.Tensor) else type(idx).__name__
        raise GamlabError(f"expected token ids as a tensor of shape (batch, time), got {shape}; "
                          "add a batch dimension with idx[None] or build it with torch.tensor([ids]).")
    if not _integer(idx.dtype):
        raise GamlabError(f"token ids must be integers, got {idx.dtype}; convert them with .long().")
    T, V = idx.size(1), vocab_size
    if T == 0:
        raise GamlabError("the prompt is empty; give at least one token (a sequence of shape (batch, 1) or longer).")
    if T > block_size and not crop:
        raise GamlabError(f"sequence of {T} tokens is longer than block_size "
                          f"{block_size}; crop it or build the model with a larger block_size.")
    if targets is not None:
        if not isinstance(targets, torch.Tensor) or targets.shape != idx.shape or not _integer(targets.dtype):
            got = (f"{tuple(targets.shape)} {targets.dtype}" if isinstance(targets, torch.Tensor)
                   else type(targets).__name__)
            raise GamlabError(f"targets must be integer token ids of the same shape as the input "
                              f"{tuple(idx.shape)}, got {got}; give one target per input position, "
                              "e.g. x, y = ids[:, :-1], ids[:, 1:].")
    if not idx.numel():
        return
    # Every range fact in one small tensor: one device sync on a GPU, however many checks.
    ids = idx if idx.dtype in (torch.int64, torch.int32) else idx.long()
    facts = [ids.min(), ids.max()]
    if targets is not None:
        t = targets.long()
        stray = t.masked_fill((t == IGNORE) | ((t >= 0) & (t < V)), 0)  # 0 where a target is fine
        facts += [stray.min(), stray.max()]
    lo, hi, *stray = torch.stack([f.long() for f in facts]).tolist()
    if lo < 0 or hi >= V:
        raise GamlabError(f"token id {hi if hi >= V else lo} is outside the vocabulary [0, {V}); "
                          "encode with the tokenizer the model was built for.")
    if stray and (stray[0] or stray[1]):
        raise GamlabError(f"target {stray[0] or stray[1]} is outside the vocabulary [0, {V}) and is not "
                          f"{IGNORE} (a position that is not scored); make targets from the same token ids.")


def whole_number(name: str, value) -> int:
    """A whole number >= 0 (Python or numpy int, or a 0-d integer tensor), else one GamlabError."""
    try:
        n = operator.index(value) if not isinstance(value, bool) else None
    except TypeError:
        n = None
    if n is None or n < 0:
        raise GamlabError(f"{name} must be a whole number >= 0, got {value!r}.")
    return n


def _integer(dtype: torch.dtype) -> bool:
    return not (dtype.is_floating_point or dtype.is_complex or dtype == torch.bool)
