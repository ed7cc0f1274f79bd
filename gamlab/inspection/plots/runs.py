"""Figures of runs: loss curves against steps or seconds, the scaling benchmark's chart, the
learning-rate sweep (notebooks/05_showdown.ipynb, `gamlab compare`, `gamlab bench`)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ...errors import GamlabError
from .lessons import scaling_curves
from .style import fit_screen, legend_below, model_color

LOSS_X = {"step": ("step", "optimizer step"),
          "seconds": ("elapsed", "training time (s, wall clock, evaluation excluded)")}


def _loss_x(x: str) -> tuple[str, str]:
    """The history key and axis title for loss_curves(x=...)."""
    if x not in LOSS_X:
        raise GamlabError(f"x={x!r} is not a loss-curve axis; use x=\"step\" or x=\"seconds\".")
    return LOSS_X[x]


def _add_losses(fig: go.Figure, histories: dict[str, list[dict]], key: str, train: bool, legend: bool,
                **where) -> None:
    """One solid validation line (and a dotted training line) per model, in its colour."""
    for i, (name, history) in enumerate(histories.items()):
        color, xs = model_color(name, i), [h[key] for h in history]
        fig.add_trace(go.Scatter(x=xs, y=[h["val_loss"] for h in history], mode="lines+markers",
                                 name=f"{name} validation" if train else name, line=dict(color=color), legendgroup=name,
                                 showlegend=legend), **where)
        if train:
            fig.add_trace(go.Scatter(x=xs, y=[h["train_loss"] for h in history], mode="lines",
                                     name=f"{name} training", line=dict(color=color, dash="dot"),
                                     legendgroup=name, showlegend=legend), **where)


def loss_curves(histories: dict[str, list[dict]], unigram: float | None = None,
                title: str = "Loss during training", x: str = "step") -> go.Figure:
    """Training and validation loss against optimizer step (or training seconds), one colour per model.

    histories: model name -> the trainer's history (dicts with step, elapsed, train_loss,
    val_loss; gamlab/training/train.py). x: "step", or "seconds" for the entries' "elapsed" (training
    wall-clock seconds, evaluation excluded), the axis on which a faster model gets further.
    Solid lines: validation loss; dotted: training loss; a dashed grey line marks the unigram
    baseline (a model that ignores context) when given. Colours: MODEL_COLORS.
    Raises GamlabError for another x. Used in notebooks/05_showdown.ipynb through gamlab.inspection.widgets
    (LiveLoss) and by `gamlab compare`.
    """
    key, axis = _loss_x(x)
    fig = go.Figure()
    _add_losses(fig, histories, key, train=True, legend=True)
    if unigram is not None:
        fig.add_hline(y=unigram, line=dict(color="gray", dash="dash"),
                      annotation_text=f"unigram baseline {unigram:.2f}", annotation_position="top right")
    fig.update_layout(title=title, xaxis_title=axis, yaxis_title="cross-entropy (nats per token)")
    return legend_below(fit_screen(fig))  # inside the plot it covered the curves


def loss_panels(histories: dict[str, list[dict]], unigram: float | None = None,
                title: str | None = None, train: bool = False) -> go.Figure:
    """Validation loss per optimizer step (left) and per training second (right), side by side.

    histories: as in loss_curves. Both panels share the y axis, the colours (MODEL_COLORS) and
    one legend: a model ahead per step may be behind per second (a slower step).
    """
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=["per optimizer step", "per second of training"])
    for col, x in ((1, "step"), (2, "seconds")):
        key, axis = _loss_x(x)
        _add_losses(fig, histories, key, train=train, legend=col == 1, row=1, col=col)
        fig.update_xaxes(title_text=axis, row=1, col=col)
        if unigram is not None:  # labelled once, in the right panel
            label = dict(annotation_text=f"unigram {unigram:.2f}", annotation_position="top right") if col == 2 else {}
            fig.add_hline(y=unigram, line=dict(color="gray", dash="dash"), row=1, col=col, **label)
    fig.update_yaxes(title_text=("loss" if train else "validation loss") + " (nats per token)", row=1, col=1)
    fig.update_layout(title=title or "Validation loss: per step and per second")
    return legend_below(fit_screen(fig, t=68))  # the title above the panels' own titles


def scaling_chart(rows: list[dict], exponents: dict[str, float | None]) -> go.Figure:
    """scaling_curves with each block's fitted growth exponent (time ~ T^e) in its legend name.

    exponents: block name -> slope of log time against log T (gamlab.experiments.bench.growth_exponent).
    """
    fig = scaling_curves(rows)
    for trace in fig.data:
        e = exponents.get(trace.name)
        if e is not None:
            trace.name = f"{trace.name} (time ~ T^{e:.2f})"
    return fig


def lr_sweep(result: dict) -> go.Figure:
    """Validation loss against learning rate, one line per model (gamlab.experiments.sweep's result).

    result: {"val_loss": {model: {lr: [loss per seed]}}, "lr": {model: chosen lr}, "steps": n,
    "command": str (optional)}; losses in nats/token, inf for a run that diverged (not drawn).
    The chosen rate is a larger marker; the x axis is logarithmic with ticks at the grid's
    values. Colours: MODEL_COLORS. Used in notebooks/05_showdown.ipynb.
    """
    fig = go.Figure()
    grid = sorted({float(lr) for table in result["val_loss"].values() for lr in table})
    for i, (name, table) in enumerate(result["val_loss"].items()):
        lrs = sorted(table, key=float)
        y = [float(np.mean(table[lr])) for lr in lrs]
        y = [v if np.isfinite(v) else None for v in y]  # a diverged run leaves a gap
        color, best = model_color(name, i), result["lr"].get(name)
        fig.add_trace(go.Scatter(x=[float(lr) for lr in lrs], y=y, mode="lines+markers", name=name,
                                 line=dict(color=color), legendgroup=name,
                                 marker=dict(size=[14 if float(lr) == best else 7 for lr in lrs], color=color,
                                             symbol=["star" if float(lr) == best else "circle" for lr in lrs])))
    ticks = dict(tickmode="array", tickvals=grid, ticktext=[f"{lr:g}" for lr in grid])
    fig.update_layout(title=f"Learning-rate sweep ({result.get('steps', '?')} steps a run; star: the chosen rate)",
                      xaxis=dict(title="learning rate", type="log", **ticks),
                      yaxis_title="validation loss (nats per token)")
    return legend_below(fit_screen(fig))
