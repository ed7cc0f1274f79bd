"""The loss gained from context: how much a model's loss rises when the far context is another text's.

For a block of T validation tokens and a position t, swap every input token at lag >= d from t
(positions s <= t - d) for the tokens of another block at the same positions (so positions,
and the position embedding, stay as they were), and compare the loss of predicting token t+1:

    gain(d) = mean over blocks and positions t of  loss_t(swapped beyond lag d) - loss_t(true)

gain(d) says how many nats/token the model draws from context d or more tokens back. At a
GAM stack's reach R = L * (k - 1) + 1 (gamlab.blocks.conv.receptive_field) it is exactly zero: the
memory bank mixes nothing between tokens, so a token R or more back cannot change the
output. A Transformer, a Mamba-style model or gam-fw can gain there; how much is the measure.

One forward per cut: swapping positions < c gives gain(t - c + 1) at every t >= c - 1, so
T forwards per block give the whole curve over d = 0 .. T-1 (d = 0: even x_t is swapped).

Beside gamlab.inspection.context, the gradient reach (the same dependence by gradients, on the hidden state).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..blocks.conv import receptive_field
from ..errors import GamlabError
from ..model import LanguageModel
from ..runtime import eval_mode

__all__ = ["ContextUse", "context_use"]


@dataclass(frozen=True)
class ContextUse:
    """What context_use measured. Losses in nats/token (natural log).

    reach:       R, the lag from which on the context was swapped for `gain`
    gain:        mean loss increase when every token at lag >= R is another text's (= by_distance[R])
    by_distance: (T,) float64, entry d: the same with every token at lag >= d swapped
    counts:      (T,) int64, how many (block, position) losses each entry of by_distance averages
    n:           how many losses `gain` averages (= counts[R])
    """

    reach: int
    gain: float
    by_distance: torch.Tensor
    counts: torch.Tensor
    n: int


def _windows(ids: torch.Tensor, T: int, n_blocks: int) -> tuple[torch.Tensor, torch.Tensor]:
    """2 * n_blocks evenly spaced windows of T + 1 tokens: (blocks, donors), each (n_blocks, T + 1).

    They alternate along the stream, so each block's donor is the text that follows it.
    """
    starts = torch.linspace(0, ids.numel() - (T + 1), 2 * n_blocks).round().long()  # (2 n_blocks,)
    windows = torch.stack([ids[s:s + T + 1] for s in starts.tolist()])  # (2 n_blocks, T + 1)
    return windows[0::2], windows[1::2]


@torch.no_grad()
def context_use(model: LanguageModel, ids: torch.Tensor, reach: int | None = None, block_size: int | None = None,
                n_blocks: int = 8, t0: int | None = None, batch_size: int = 32,
                n_cuts: int | None = None) -> ContextUse:
    """How much `model` gains from context at lag >= reach, on a 1-D stream of token ids.

    model: any gamlab LanguageModel (measured in eval mode; its mode comes back after).
    ids: (N,) integer token ids, e.g. TextData.val; n_blocks blocks of block_size + 1 tokens
        (input and shifted targets) and as many donor blocks are read from it, evenly spaced.
    reach: R; defaults to GAM's reach at the model's config, n_layer * (conv_kernel - 1) + 1.
    block_size: T, defaults to the model's block_size.
    t0: the first position t that counts (default R, the first with a token at lag >= R).
    batch_size: swapped sequences per forward (memory: batch_size * T * vocab logits).
    n_cuts: how many cuts per block, evenly spaced over 1..T (None: all T). Fewer cuts cost less
        and still give every lag d: a cut at c gives gain(d) at the one position t = c + d - 1;
        gain(R) then averages about n_blocks * n_cuts losses (ContextUse.n says how many).

    Returns a ContextUse. Cost: n_blocks * (n_cuts + 1) forwards of T tokens (n_cuts = T by default).
    Raises GamlabError for ids that are not a 1-D integer stream of at least 2 * (T + 1)
    tokens, or for reach, t0, n_blocks or batch_size out of range.
    """
    if ids.dim() != 1 or ids.dtype not in (torch.int64, torch.int32):
        raise GamlabError(f"ids must be a 1-D stream of integer token ids, got shape {tuple(ids.shape)} "
                          f"and {ids.dtype}; flatten it (e.g. pass TextData.val).")
    cfg = model.config
    T = cfg.block_size if block_size is None else block_size
    R = receptive_field(cfg.n_layer, cfg.conv_kernel) if reach is None else reach
    t0 = R if t0 is None else t0
    if not 1 <= T <= cfg.block_size:
        raise GamlabError(f"block_size {T} must be between 1 and the model's block_size {cfg.block_size}.")
    if ids.numel() < 2 * (T + 1):
        raise GamlabError(f"ids holds {ids.numel()} tokens, fewer than the {2 * (T + 1)} needed for a block "
                          f"and a donor of {T + 1}; pass a longer stream or a smaller block_size.")
    if not 1 <= R < T:
        raise GamlabError(f"reach {R} leaves no context to swap in blocks of {T} tokens; pick 1 <= reach < {T}.")
    if not R <= t0 < T:
        raise GamlabError(f"t0={t0} must be in [{R}, {T}): a position with a token at lag >= reach {R}.")
    if n_blocks < 1 or batch_size < 1:
        raise GamlabError(f"n_blocks and batch_size must be positive, got {n_blocks} and {batch_size}.")
    if n_cuts is not None and not 1 <= n_cuts <= T:
        raise GamlabError(f"n_cuts must be between 1 and the block size {T}, got {n_cuts}.")

    device = next(model.parameters()).device
    blocks, donors = (w.to(device) for w in _windows(ids.long(), T, n_blocks))  # (n_blocks, T + 1) each
    all_cuts = torch.arange(1, T + 1, device=device)  # swap positions < c
    if n_cuts is not None:
        all_cuts = all_cuts[torch.linspace(0, T - 1, n_cuts, device=device).round().long().unique()]
    t = torch.arange(T, device=device)  # positions
    sums = torch.zeros(T, dtype=torch.float64, device=device)  # by lag d
    counts = torch.zeros(T, dtype=torch.int64, device=device)

    def losses(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x, y: (b, T) -> per-position cross-entropy (b, T), float64."""
        logits, _ = model(x)  # (b, T, vocab)
        return F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), reduction="none").view_as(y).double()

    with eval_mode(model):
        for block, donor in zip(blocks, donors):
            x, y = block[:-1], block[1:]  # (T,), (T,)
            true = losses(x[None], y[None])[0]  # (T,)
            for cuts in all_cuts.split(batch_size):
                swapped = torch.where(t[None] < cuts[:, None], donor[None, :-1], x[None])  # (b, T)
                delta = losses(swapped, y.expand_as(swapped)) - true  # (b, T)
                lag = t[None] - cuts[:, None] + 1  # (b, T): lag of the nearest swapped token
                keep = (lag >= 0) & (t[None] >= t0)  # a swapped token in view, at a position that counts
                sums.index_add_(0, lag[keep], delta[keep])
                counts.index_add_(0, lag[keep], torch.ones_like(lag[keep]))
    # every lag 0..T-1 has a position t >= max(lag, t0) when all cuts are taken; with fewer
    # cuts, a lag no cut reached (counts 0) reads NaN
    by_distance = (sums / counts).cpu()
    return ContextUse(R, float(by_distance[R]), by_distance, counts.cpu(), int(counts[R]))
