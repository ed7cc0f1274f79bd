"""The building lessons' figures (notebooks/00_why_linear_time ... 04_gam_block): scaling curves,
the receptive field, retrieval temperature, gates per token and the block diagram. Each
interactive view is a plain plotly figure with its own slider over precomputed states."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import (
    MODEBAR_REMOVE,
    OKABE_ITO,
    _log_ticks,
    _np,
    _slider,
    _token_ticks,
    _with_slider,
    fit_screen,
    model_color,
    token_labels,
)


def _slope_guides(fig: go.Figure, x0: float, x1: float, y0: float, col: int, legend: bool) -> None:
    """Dashed lines of slope 1 and 2 on a log-log panel, from (x0, y0) to x1: cost ~ T and ~ T²."""
    for p, dash, label in ((1, "dash", "slope 1 (linear)"), (2, "dot", "slope 2 (quadratic)")):
        fig.add_shape(type="line", x0=x0, x1=x1, y0=y0, y1=y0 * (x1 / x0) ** p, row=1, col=col,
                      line=dict(color="gray", dash=dash, width=1.5), name=label, showlegend=legend,
                      legendgroup=label)


def _short_cpu(name: str, width: int = 18) -> str:
    """A CPU's name for a legend right of the plots, where width is scarce: without trademark
    signs and the words CPU and Processor, in lines of at most `width` characters (<br>)."""
    name = " ".join(re.sub(r"\((R|TM|r|tm)\)|\bCPU\b|\bProcessor\b", " ", name).split()) or name
    return "<br>".join(textwrap.wrap(name, width, break_long_words=False)) or name


# Orange and vermillion are close on a projector: the two attention blocks also differ in marker and dash.
MODEL_SYMBOLS = {"gam": "circle", "transformer": "square", "transformer-naive": "diamond"}
MODEL_DASH = {"transformer-naive": "dashdot"}  # the slope guides use dash and dot


def scaling_curves(rows: list[dict], reference: dict | None = None) -> go.Figure:
    """Time (and peak memory, where measured) of one block against sequence length, log-log.

    reference: a saved run ({"cpu": its CPU's name, "rows": rows as above}, e.g.
    gamlab.experiments.lesson00_reference.load()) drawn faint beside the live one in each
    model's colour, so that a run disturbed by other programs shows as a departure from it.

    rows: dicts with "name", "seq_len", "ms", "peak_mb" (None if not measured) and "oom";
    runs that ran out of memory are left out of the lines and listed in the title. Each model
    keeps its colour (MODEL_COLORS), marker (MODEL_SYMBOLS) and dash (MODEL_DASH); grey guides of
    slope 1 and 2 start at the cheapest shortest run; x ticks sit at the measured lengths, y ticks at decades.
    """
    names = list(dict.fromkeys(r["name"] for r in rows))
    has_mem = any(r.get("peak_mb") is not None and not r.get("oom") for r in rows)
    fig = make_subplots(rows=1, cols=2 if has_mem else 1, horizontal_spacing=0.14,
                        subplot_titles=["time per forward+backward (ms)"] + (["peak memory (MB)"] if has_mem else []))
    ok = sorted((r for r in rows if not r.get("oom")), key=lambda r: r["seq_len"])
    for i, name in enumerate(names):
        mine = [r for r in ok if r["name"] == name]
        style = dict(mode="lines+markers", line=dict(color=model_color(name, i), width=2.5, dash=MODEL_DASH.get(name)),
                     marker=dict(symbol=MODEL_SYMBOLS.get(name, "circle"), size=10), legendgroup=name)
        fig.add_trace(go.Scatter(x=[r["seq_len"] for r in mine], y=[r["ms"] for r in mine], name=name,
                                 hovertemplate="T=%{x}: %{y:.2f} ms<extra>" + name + "</extra>", **style), row=1, col=1)
        if has_mem:
            mem = [r for r in mine if r.get("peak_mb") is not None]
            fig.add_trace(go.Scatter(x=[r["seq_len"] for r in mem], y=[max(r["peak_mb"], 1e-3) for r in mem],
                                     name=name, showlegend=False,
                                     hovertemplate="T=%{x}: %{y:.1f} MB<extra>" + name + "</extra>", **style),
                          row=1, col=2)
    saved = sorted((r for r in (reference or {}).get("rows", []) if not r.get("oom") and r["name"] in names),
                   key=lambda r: r["seq_len"])
    for i, name in enumerate(names):
        for col, key in ((1, "ms"), (2, "peak_mb"))[: 2 if has_mem else 1]:
            mine = [r for r in saved if r["name"] == name and r.get(key) is not None]
            if mine:
                label = "saved run<br>" + _short_cpu(reference.get("cpu", "reference"))
                fig.add_trace(go.Scatter(
                    x=[r["seq_len"] for r in mine], y=[max(r[key], 1e-3) for r in mine], mode="lines+markers",
                    name=label, legendgroup="saved", showlegend=not any(t.legendgroup == "saved" for t in fig.data),
                    opacity=0.35, line=dict(color=model_color(name, i), width=5),
                    marker=dict(symbol=MODEL_SYMBOLS.get(name, "circle"), size=7),
                    hovertemplate="T=%{x}: %{y:.2f}<extra>" + name + ", saved run</extra>"), row=1, col=col)
    ok_all = ok + saved
    lengths = sorted({r["seq_len"] for r in ok_all})
    fig.update_xaxes(type="log", title_text="sequence length T", tickmode="array", tickvals=lengths,
                     ticktext=[str(t) for t in lengths])
    fig.update_yaxes(type="log", exponentformat="power")
    for col, key in ((1, "ms"), (2, "peak_mb"))[: 2 if has_mem else 1]:
        ys = [max(r[key], 1e-3) for r in ok_all if r.get(key) is not None]
        if len(lengths) > 1 and ys:
            first = min(max(r[key], 1e-3) for r in ok_all if r["seq_len"] == lengths[0] and r.get(key) is not None)
            _slope_guides(fig, lengths[0], lengths[-1], first, col, legend=col == 1)
            ys += [first * (lengths[-1] / lengths[0]) ** 2]
        fig.update_yaxes(title_text="ms" if key == "ms" else "MB", **_log_ticks(ys), row=1, col=col)
    oom = sorted({f"{r['name']} T={r['seq_len']}" for r in rows if r.get("oom")})
    title = "One block, forward + backward, against sequence length (log-log)"
    fig.update_layout(title=title + (f"<br><sub>out of memory: {', '.join(oom)}</sub>" if oom else ""),
                      # right of the plots, from the top of the plot area: below them it covered the
                      # x tick labels once the saved run's lines joined the legend (plotly widens the
                      # right margin to fit it)
                      legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"))
    return fit_screen(fig, t=88 if oom else 68, r=10)  # the title above the panels' own titles


def receptive_field_explorer(influence: dict, target: int, bounds: dict | None = None,
                             start: int | None = None) -> go.Figure:
    """Which inputs reach output `target` through a stack of causal convolutions.

    influence: kernel size k -> (L, T) array, row l = depth l + 1, entry s = how strongly
    input s reaches output `target` (e.g. |d y_target / d x_s|); zero means "cannot reach".
    bounds: k -> first reachable input per depth, (L,) (e.g. from gamlab.receptive_field),
    drawn as markers. A slider picks k (first shown: `start`, default the first k); the rows
    show every depth at once, depth 1 on top.
    """
    ks = list(influence)
    k0 = ks[0] if start is None else start
    zs = {k: _np(influence[k]) for k in ks}
    zs = {k: z / np.maximum(z.max(axis=1, keepdims=True), 1e-30) for k, z in zs.items()}  # each row: max 1
    L, T = zs[k0].shape
    depth = list(range(1, L + 1))
    z0 = np.where(zs[k0] > 0, zs[k0], np.nan)  # unreachable inputs stay blank
    # from a clearly visible light blue: an edge cell has one path of hundreds (a share near 0),
    # and "Blues" starts at white, so reachable edges looked like the blank unreachable cells
    reach_blues = [[0.0, "#9ecae1"], [0.5, "#3182bd"], [1.0, "#08306b"]]
    fig = go.Figure(go.Heatmap(z=z0, x=list(range(T)), y=depth, zmin=0, zmax=1, colorscale=reach_blues,
                               xgap=1, ygap=1,
                               # up the bar's side: across its top it ran into the tick label "1"
                               colorbar=dict(title=dict(text="paths, as a share<br>of the row's most", side="right")),
                               hovertemplate="depth %{y}, input %{x}: %{z:.3f}<extra></extra>"))
    if bounds is not None:
        fig.add_trace(go.Scatter(x=_np(bounds[k0]), y=depth, mode="markers", name="window start: L·(k−1)+1 tokens, t included",
                                 marker=dict(symbol="line-ns-open", size=16, color=OKABE_ITO["vermillion"], line_width=3)))
    fig.add_vline(x=target, line_dash="dot", line_color="gray")
    states = []
    for k in ks:
        data = {"z": [np.where(zs[k] > 0, zs[k], np.nan)]}
        if bounds is not None:
            data = {"z": [data["z"][0], None], "x": [list(range(T)), _np(bounds[k])]}
        states.append((f"k={k}", data, {"title.text": f"Inputs that reach output t={target}, kernel size k={k}"}))
    fig.update_layout(title=states[ks.index(k0)][2]["title.text"],
                      xaxis=dict(title="input position s", range=[-0.5, T - 0.5]),
                      yaxis=dict(title="depth L (layers)", dtick=1, autorange="reversed"),  # depth 1 on top
                      # the marks' legend under the title (shown although it has one entry)
                      showlegend=bounds is not None, legend=dict(orientation="h", x=0, xanchor="left", y=1.02,
                                                                  yanchor="bottom"))
    fig = _with_slider(fig, states, "kernel size ")
    fig.layout.sliders[0].active = ks.index(k0)
    return fit_screen(fig, 240 + 22 * L, t=75)  # deep stacks: thinner rows, one screen still


def retrieval_temperature(weights, retrieved, target, temperatures, labels: list[str], query=None,
                          queried: int | None = None) -> go.Figure:
    """Softmax retrieval at several temperatures τ: weights over stored patterns, and the result.

    weights: (n_τ, P) softmax weights; retrieved: (n_τ, C) the weighted sums; target: (C,) the
    pattern the query came from; labels: P pattern names; query: (C,) the noisy query, drawn
    beside what retrieval returns (optional, the last trace); queried: the index of that pattern
    among the P, whose bar is coloured and labelled (optional). A slider picks τ.
    """
    w, r, tau = _np(weights), _np(retrieved), [float(t) for t in temperatures]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.4, 0.6], horizontal_spacing=0.1,
                        # short: a title wider than its 40% column ran over the y tick labels
                        subplot_titles=["w over stored patterns", "retrieved vs the pattern queried"])
    queried_colour = OKABE_ITO["vermillion"]  # the same colour for its bar and its pattern
    colours = [queried_colour if i == queried else OKABE_ITO["blue"] for i in range(len(labels))]
    # upright labels, narrow enough for six bars in 40% of a 700 px output: a first word shared
    # by every label ("pattern 0" ... "pattern 5") goes to the axis title, the rest stays a tick
    words = [name.split(" ", 1) for name in labels]
    shared = words[0][0] if len(labels) > 1 and all(len(w) == 2 and w[0] == words[0][0] for w in words) else None
    shown = [w[1] for w in words] if shared else [name.replace(" ", "<br>", 1) for name in labels]
    shown = [f"<b>{name}<br>queried</b>" if i == queried else name for i, name in enumerate(shown)]
    # no legend entry: the bars' colours are explained by their tick labels (the queried one is
    # vermillion, like its line in the legend), and a blue "w" swatch matched no visible bar
    fig.add_trace(go.Bar(x=shown, y=w[0], marker_color=colours, name="w", showlegend=False,
                         hovertemplate="%{x}: w = %{y:.3f}<extra></extra>"), row=1, col=1)
    c = list(range(r.shape[1]))
    fig.add_trace(go.Scatter(x=c, y=_np(target), mode="lines", name="pattern queried",
                             line=dict(color=queried_colour if queried is not None else "black", width=3)),
                  row=1, col=2)
    fig.add_trace(go.Scatter(x=c, y=r[0], mode="lines+markers", name="retrieved", marker_size=4,
                             line=dict(color=OKABE_ITO["blue"])), row=1, col=2)
    if query is not None:
        fig.add_trace(go.Scatter(x=c, y=_np(query), mode="lines", name="noisy query",
                                 line=dict(color=OKABE_ITO["orange"], dash="dot")), row=1, col=2)
    fig.update_yaxes(range=[0, 1.02], title_text="w", row=1, col=1)
    fig.update_xaxes(tickangle=0, title_text=f"stored {shared or 'pattern'}", row=1, col=1)
    fig.update_xaxes(title_text="channel", row=1, col=2)
    fixed = [] if query is None else [_np(query)]
    states = [(f"{t:g}", {"y": [w[i], _np(target), r[i], *fixed]}, {"title.text": f"Softmax retrieval at temperature τ = {t:g}"})
              for i, t in enumerate(tau)]
    fig.update_layout(title=states[0][2]["title.text"],  # legend right of the plots, clear of the titles
                      legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"))
    # the slider below the two-line "queried" tick label and the axis title, not on them
    return fit_screen(_with_slider(fig, states, "τ = ", pad=80), t=68)


def gates_per_token(gate_local, gate_global, tokens: list[str]) -> go.Figure:
    """Gate values per token and per channel, for one block.

    gate_local, gate_global: (T, C) sigmoid gates σ(g_l), σ(g_g) in (0, 1). Top: two heatmaps
    (channels x tokens); bottom: the C values of both gates at one token, picked by a slider.
    """
    gl, gg = _np(gate_local), _np(gate_global)
    T, C = gl.shape
    fig = make_subplots(rows=2, cols=2, specs=[[{}, {}], [{"colspan": 2}, None]], vertical_spacing=0.2,
                        row_heights=[0.55, 0.45],
                        subplot_titles=["local gate σ(g_l)", "global gate σ(g_g)", "both gates at one token"])
    for col, g in ((1, gl), (2, gg)):
        fig.add_trace(go.Heatmap(z=g.T, x=list(range(T)), y=list(range(C)), zmin=0, zmax=1, colorscale="Viridis",
                                 showscale=col == 2, colorbar=dict(title="gate σ", len=0.44, y=1, yanchor="top"),
                                 hovertemplate="token %{x}, channel %{y}: %{z:.3f}<extra></extra>"),
                      row=1, col=col)
        fig.update_xaxes(**_token_ticks(tokens), row=1, col=col)
        fig.update_yaxes(title_text="channel", row=1, col=col)
    ch = list(range(C))
    fig.add_trace(go.Scatter(x=ch, y=gl[0], mode="markers", name="σ(g_l) local", marker_color=OKABE_ITO["blue"]), row=2, col=1)
    fig.add_trace(go.Scatter(x=ch, y=gg[0], mode="markers", name="σ(g_g) global", marker_color=OKABE_ITO["orange"]), row=2, col=1)
    fig.update_yaxes(range=[0, 1], title_text="gate", row=2, col=1)
    fig.update_xaxes(title_text="channel", row=2, col=1)
    labels = token_labels(tokens)
    steps = [dict(label=f"{t}:{labels[t]}", method="update",  # restyle only the two bottom traces
                  args=[{"y": [gl[t].tolist(), gg[t].tolist()]}, {"title.text": f"Gates of token {t} ({labels[t]})"}, [2, 3]])
             for t in range(T)]
    # the legend beside the lower panel it labels, where it stays in view with the slider
    # (at the top it was off-screen while the slider was in view)
    fig.update_layout(title=steps[0]["args"][1]["title.text"],
                      legend=dict(orientation="v", x=1.02, xanchor="left", y=0.36, yanchor="top"),
                      sliders=[_slider(steps, "token ", pad=40)])
    return fit_screen(fig, t=60, b=10)


def gam_block_diagram() -> go.Figure:
    """The GAM block as a picture: pre-norm, the local and global paths, their two gates, the
    residual additions and the FFN (the paper's Figure 1, drawn by gamlab). No data in.

    Drawn at a fixed size in pixels (650 x 312 plot area, one data unit = one pixel; 670 x 380
    in all), so that the whole block fits one screen at 150% zoom on 1280 x 800 (an output area
    about 673 px wide beside the prompt, SCREEN_HEIGHT high) and every label, 14 px, stays
    inside its box whatever the page width.
    """
    blue, orange, green, grey = OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["green"], "#555555"
    W, H = 650, 312  # plot area, px: with the title's 62 and 6 below, SCREEN_HEIGHT
    mid, left, right = W // 2, 116, W - 116  # the three columns' centres; boxes 200 px wide, 9 px apart
    fig = go.Figure()
    # one-line boxes 22 px high (a 14 px line takes 18: plotly spaces lines 1.3 em), three-line
    # ones 58 (55), 7-11 px between
    boxes = {  # name: (x centre, y centre from the top, width, height, text, colour); circles: width 0
        "x": (mid, 12, 150, 22, "x  (B, T, C)", grey),
        "ln1": (mid, 45, 160, 22, "LayerNorm₁ → h", grey),
        "conv": (left, 96, 200, 58, "causal depthwise conv<br><i>local</i>, kernel k<br>(Lesson 1)", blue),
        "gate": (mid, 96, 200, 58, "Linear(C → 2C)<br>→ g_l, g_g<br>(Lesson 3)", green),
        "mem": (right, 96, 200, 58, "softmax(h Mᵀ) M<br><i>global</i>, S slots<br>(Lesson 2)", orange),
        "mul_l": (left, 147, 0, 0, "×", blue), "mul_g": (right, 147, 0, 0, "×", orange),
        "add1": (mid, 176, 0, 0, "+", grey),
        "ln2": (mid, 206, 150, 22, "LayerNorm₂", grey),
        "ffn": (mid, 236, 310, 22, "FFN: C → 4C, GELU, 4C → C, dropout", grey),
        "add2": (mid, 266, 0, 0, "+", grey),
        "out": (mid, 297, 170, 22, "output  (B, T, C)", grey),
    }
    R = 11  # radius of the × and + circles, px

    def top(name):  # y (data, bottom-up) of a box's top and bottom edges
        x, y, w, h, *_ = boxes[name]
        half = R if w == 0 else h / 2
        return H - (y - half), H - (y + half)

    for name, (x, y, w, h, text, color) in boxes.items():
        circle = w == 0
        hw, hh = (R, R) if circle else (w / 2, h / 2)
        fig.add_shape(type="circle" if circle else "rect", x0=x - hw, x1=x + hw, y0=H - y - hh, y1=H - y + hh,
                      line=dict(color=color, width=2), fillcolor="white", layer="above")
        fig.add_annotation(x=x, y=H - y, text=text, showarrow=False, font=dict(size=20 if circle else 14, color=color))
    arrows = [("x", "ln1"), ("ln1", "conv"), ("ln1", "gate"), ("ln1", "mem"), ("conv", "mul_l"), ("mem", "mul_g"),
              ("gate", "mul_l", "σ(g_l)"), ("gate", "mul_g", "σ(g_g)"), ("mul_l", "add1"), ("mul_g", "add1"),
              ("add1", "ln2"), ("ln2", "ffn"), ("ffn", "add2"), ("add2", "out")]
    for a, b, *label in arrows:
        xa, xb = boxes[a][0], boxes[b][0]
        ya, yb = top(a)[1], top(b)[0]  # from the bottom of a to the top of b
        fig.add_annotation(x=xb, y=yb, ax=xa, ay=ya, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=2, arrowwidth=1.5, arrowcolor=grey, text="")
        if label:  # beside the gate's arrow, on the side away from the middle
            fig.add_annotation(x=(xa + xb) / 2, y=(ya + yb) / 2, text=label[0], showarrow=False,
                               yshift=-9, xshift=-36 if xb < xa else 36, font=dict(size=14, color=green))
    # the two skip connections, in lanes beside the boxes: x around the mixing (left), the
    # mixed stream around the FFN (right)
    for (x0, y0), lane, (x1, y1), text in (((mid - 75, 12), 6, (mid - R, 176), "residual x"),
                                           ((mid + R, 176), W - 6, (mid + R, 266), "residual")):
        fig.add_shape(type="path", path=f"M {x0} {H - y0} L {lane} {H - y0} L {lane} {H - y1} L {x1} {H - y1}",
                      line=dict(color=grey, width=1.5, dash="dash"))
        # the label above the lane's first stretch, clear of the boxes
        fig.add_annotation(x=(x0 + lane) / 2, y=H - y0, text=text, showarrow=False, yshift=9,
                           font=dict(size=14, color=grey))
    fig.update_xaxes(visible=False, range=[0, W], fixedrange=True)
    fig.update_yaxes(visible=False, range=[0, H], fixedrange=True)
    fig.update_layout(title=dict(text="One GAM block (pre-norm)<br><sub>x + σ(g_l)·local + σ(g_g)·global, "
                                      "then x + FFN(LayerNorm₂(x))</sub>", font=dict(size=18), y=0.96),
                      width=W + 20, height=H + 68, autosize=False, plot_bgcolor="white",  # 670 x 380
                      margin=dict(l=10, r=10, t=62, b=6, autoexpand=False), modebar_remove=MODEBAR_REMOVE)
    return fig
