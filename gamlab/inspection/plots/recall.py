"""Lesson 07's figures: the recall grid, effective context and the loss gained from it, and what
a query reads (notebooks/07_beyond_the_paper.ipynb)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import OKABE_ITO, _log_ticks, _np, _rgba, fit_screen, legend_below, model_color


def recall_heatmaps(results: dict, task: str = "Associative recall") -> go.Figure:
    """One heatmap per model: query accuracy by sequence length (rows) x pairs (columns).
    results: the dict gamlab.experiments.recall.run_grid returns (accuracy[model][length][pairs]);
    task: its name, for the title."""
    names, g = list(results["accuracy"]), results["grid"]
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, shared_yaxes=True,
                        horizontal_spacing=0.03)
    x = [str(n) for n in g["pairs"]]
    y = [str(T) for T in g["lengths"]]
    for i, name in enumerate(names, start=1):
        z = _np(results["accuracy"][name])
        fig.add_trace(go.Heatmap(z=z, x=x, y=y, zmin=0, zmax=1, colorscale="Viridis", showscale=i == len(names),
                                 text=[[f"{v:.2f}" for v in row] for row in z], texttemplate="%{text}",
                                 hovertemplate=f"{name}<br>seq_len %{{y}}, %{{x}} pairs: accuracy %{{z:.2f}}<extra></extra>"),
                      row=1, col=i)
        fig.update_xaxes(title_text="pairs", type="category", row=1, col=i)
    fig.update_yaxes(title_text="sequence length", type="category", row=1, col=1)
    fig.update_layout(title=f"{task}: query accuracy, chance {results['chance']:.2f}")
    return fit_screen(fig, 320, t=68)  # the title above the models' names


def context_profiles(profiles: dict, reach: int | None = None, log: bool = True) -> go.Figure:
    """Gradient sensitivity by lag, one line per model. profiles: {name: (T,) per-lag values,
    summing to 1} (gamlab.inspection.context.context_profile); reach: the GAM stack's receptive field."""
    fig, values = go.Figure(), []
    for i, (name, p) in enumerate(profiles.items()):
        p = _np(p)
        values.extend(p[p > 0].tolist())
        fig.add_trace(go.Scatter(x=np.arange(len(p)), y=np.where(p > 0, p, np.nan), mode="lines+markers",
                                 marker=dict(size=4), name=name, line=dict(color=model_color(name, i))))
    if reach is not None:  # at lag R, the first lag GAM cannot see (lags 0..R-1 are its R tokens),
        # where lesson 05's context-gain figure marks it too
        fig.add_vline(x=reach, line_dash="dash",
                      annotation_text=f"GAM's reach R = L(k-1)+1 = {reach}: lags ≥ {reach} unseen")
    # log axis: ticks at decades in exponent form (plotly's own would read "100μ" for 1e-4)
    yaxis = dict(type="log", **_log_ticks(values)) if log else dict(type="linear")
    fig.update_layout(title="Effective context: |d out_t / d x_(t-lag)|, normalised (gaps are exact zeros)",
                      xaxis_title="lag (tokens back from t)", yaxis=dict(title="share of the gradient", **yaxis))
    return fit_screen(fig, t=65)  # the title above the reach's label


def context_gain(curves: dict[str, list[float]], reach: int, spread: dict[str, list[float]] | None = None,
                 title: str | None = None) -> go.Figure:
    """How much each model loses when the context beyond a lag is another text's, against that lag.

    curves: model name -> (T,) values, entry d = mean loss increase (nats/token) when every
    token at lag >= d is swapped for another text's (gamlab.inspection.context_use.ContextUse.by_distance),
    d = 0..T-1; drawn for d >= 1 on a log lag axis (NaN: a lag no cut reached, left as a gap).
    reach: R, GAM's reach n_layer * (k - 1) + 1, marked by a dashed vertical line.
    spread: model name -> (T,) half-widths of a shaded band (e.g. the standard deviation over
    seeds), optional. Colours: MODEL_COLORS.
    """
    fig = go.Figure()
    lags = []
    for i, (name, curve) in enumerate(curves.items()):
        y, color = _np(curve)[1:], model_color(name, i)
        d = np.arange(1, len(y) + 1)
        lags.extend(d.tolist())
        if spread is not None and name in spread:
            s = _np(spread[name])[1:]
            band = dict(mode="lines", line=dict(width=0, color=color), hoverinfo="skip", showlegend=False,
                        legendgroup=name, name=f"{name} ± spread")
            fig.add_trace(go.Scatter(x=d, y=y + s, **band))
            fig.add_trace(go.Scatter(x=d, y=y - s, fill="tonexty", fillcolor=_rgba(color, 0.2), **band))
        fig.add_trace(go.Scatter(x=d, y=y, mode="lines+markers", marker=dict(size=4), name=name,
                                 line=dict(color=color), legendgroup=name,
                                 hovertemplate="lag >= %{x}: +%{y:.4f} nats/token<extra>" + name + "</extra>"))
    # Shapes take data values on a log axis but annotations take log10 of them (plotly.js), so
    # the line and its label are placed by hand rather than with add_vline.
    fig.add_shape(type="line", x0=reach, x1=reach, y0=0, y1=1, yref="paper", line=dict(color="gray", dash="dash"))
    fig.add_annotation(x=np.log10(reach), y=1, yref="paper", yanchor="bottom", showarrow=False,
                       text=f"GAM's reach R = {reach}")
    fig.update_layout(title=title or "Loss increase when the context from lag d on is another text's",
                      xaxis=dict(title="lag d (tokens back; every token at lag >= d swapped)", type="log",
                                 **_log_ticks(lags + [reach])),
                      yaxis_title="loss increase (nats/token)")
    return legend_below(fit_screen(fig, t=65))  # the title above the reach's label


def recall_predictions(idx, targets, predictions: dict, queries, keys=None, values=None, read_weights=None,
                       labels: list[str] | None = None,
                       title: str = "One recall sequence: what each model answers") -> go.Figure:
    """For one sequence of a recall task: each model's answer per query (a table-like scatter: a
    green circle and ✓ right, a vermillion cross and ✗ wrong, the marks alone beyond 8 queries; the
    symbols say it without the colours), and below it, chosen with a dropdown per query, the read weights over earlier positions.

    idx: (T,) token ids; targets: (T,) answers, read at the queries only; predictions: {model: (T,) argmax};
    queries: (n,) positions that ask for an answer; keys, values: (n,) where each query's key and
    the value to recall sit, marked orange and green among the read weights (the query blue), a
    bar and a triangle on the axis each (optional). The task knows all three
    (gamlab.training.tasks.MQAR.positions); this figure knows no task.
    read_weights: (T, T) for one layer, heads averaged, or None; labels: (T,) token texts (default: the ids)."""
    idx, targets, queries = _np(idx).astype(int), _np(targets).astype(int), _np(queries).astype(int)
    labels = labels or [str(t) for t in idx]
    rows = 2 if read_weights is not None else 1
    # one screen (SCREEN_HEIGHT) for both panels, the upper one as high as its rows need: each
    # answer beside its marker, not above it (above, the top row's numbers were cut by the panel's edge)
    n_rows = len(predictions) + 1
    fig = make_subplots(rows=rows, cols=1, vertical_spacing=0.2 if rows == 2 else 0.1,
                        row_heights=[n_rows, 5][:rows] if rows == 2 else None,
                        subplot_titles=["answer per query (✓ circle: right, ✗ cross: wrong)",
                                        "what one query reads (choose it on the right)"][:rows])
    qtext = [f"q{j} @{p}: {labels[p]}" for j, p in enumerate(queries)]
    many = len(queries) > 8  # columns under 70 px: the symbol alone says right or wrong, the tick names the query
    answer = dict(mode="markers+text", textposition="middle right", showlegend=False)
    for name, pred in predictions.items():
        pred = _np(pred).astype(int)[queries]
        ok = pred == targets[queries]
        # right/wrong by symbol and mark as well as colour: readable without telling green from red
        text = [f"{v}" if many else f"{'✓' if r else '✗'} {v}" for r, v in zip(ok, pred)]
        fig.add_trace(go.Scatter(x=qtext, y=[name] * len(queries), text=text,
                                 marker=dict(size=12, symbol=np.where(ok, "circle", "x"),
                                             color=np.where(ok, OKABE_ITO["green"], OKABE_ITO["vermillion"])),
                                 hovertemplate="%{x}<br>" + name + " says %{text}<extra></extra>", **answer),
                      row=1, col=1)
    fig.add_trace(go.Scatter(x=qtext, y=["answer"] * len(queries), text=[str(v) for v in targets[queries]],
                             marker=dict(size=12, color="grey"), **answer), row=1, col=1)
    # the markers at the left of each query's column, their text to the right of them; rows top
    # down: the answer, then the models in the order given
    fig.update_xaxes(range=[-0.25, len(queries) - 0.25], tickfont=dict(size=11), tickangle=0, tickmode="array",
                     tickvals=qtext, ticktext=[f"q{j}" for j in range(len(queries))] if many else qtext, row=1, col=1)
    fig.update_yaxes(categoryorder="array", categoryarray=["answer", *predictions], autorange="reversed", row=1, col=1)
    if read_weights is not None:
        a = _np(read_weights)
        xs = [f"{i}:{labels[i]}" for i in range(len(idx))]

        def bar_state(j):
            c = ["lightgrey"] * len(idx)
            if keys is not None:
                c[int(keys[j])] = "orange"  # the query's key where it was given
            if values is not None:
                c[int(values[j])] = "seagreen"  # the value to recall
            c[queries[j]] = "steelblue"
            return a[queries[j]], c

        def marks(j):
            """A triangle on the axis under the query and its key and value: a bar that gets no
            weight has no height, and its colour alone would not show where it is."""
            where = [(w, text, colour) for w, text, colour in ((queries, f"q{j} itself", "steelblue"),
                                                                (keys, f"q{j}'s key", "orange"),
                                                                (values, f"q{j}'s value", "seagreen")) if w is not None]
            return [xs[int(w[j])] for w, _, _ in where], [text for _, text, _ in where], [c for _, _, c in where]

        w0, c0 = bar_state(0) if len(queries) else (np.zeros(len(idx)), ["lightgrey"] * len(idx))
        fig.add_trace(go.Bar(x=xs, y=w0, marker_color=c0, showlegend=False,
                             hovertemplate="position %{x}: weight %{y:.3f}<extra></extra>"), row=2, col=1)
        mx, mtext, mc = marks(0) if len(queries) else ([], [], [])
        fig.add_trace(go.Scatter(x=mx, y=[0] * len(mx), text=mtext, mode="markers", cliponaxis=False,
                                 marker=dict(symbol="triangle-up", size=11, color=mc), showlegend=False,
                                 hovertemplate="%{text} at position %{x}<extra></extra>"), row=2, col=1)
        bar, tri = len(fig.data) - 2, len(fig.data) - 1
        buttons = []
        for j in range(len(queries)):
            (w, c), (mx, mtext, mc) = bar_state(j), marks(j)
            update = {"x": [xs, mx], "y": [w, [0] * len(mx)], "text": [None, mtext], "marker.color": [c, mc]}
            buttons.append(dict(label=qtext[j], method="restyle", args=[update, [bar, tri]]))
        # at the top right of the lower panel, on the line of its title (left-aligned, clear of it)
        top = fig.layout.yaxis2.domain[1]
        fig.layout.annotations[1].update(x=0, xanchor="left")
        fig.update_layout(updatemenus=[dict(buttons=buttons, direction="down", x=1.0, xanchor="right", y=top + 0.01,
                                            yanchor="bottom", pad=dict(t=0, b=0), font=dict(size=11))])
        fig.update_yaxes(title_text="read weight", row=2, col=1)
        marked = ["▲ blue: the query"] + [text for text, where in (("▲ orange: its key", keys),
                                                                   ("▲ green: its value", values)) if where is not None]
        fig.update_xaxes(title_text=f"earlier position: token ({', '.join(marked)})",
                         tickfont=dict(size=10), row=2, col=1)
    fig.update_layout(title=title)
    return fit_screen(fig, 180 + 200 * (rows - 1), t=60)
