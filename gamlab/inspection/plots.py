"""Plotly figure builders: pure functions, data in (tensors, arrays, lists), go.Figure out.

Nothing here trains or runs a model, and nothing knows a task or a tokenizer; widgets and
notebooks compute the data (gamlab.inspection.probes, gamlab.training.train, gamlab.training.tasks) and pass it in, token
texts included, so every builder is unit-tested without a kernel.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..errors import GamlabError

# Saved notebooks: plotly picks its "plotly_mimetype" renderer in a Jupyter kernel, which
# JupyterLab, classic Notebook 7 and VS Code draw but nbviewer, nbconvert's HTML and other
# kernel-less readers of a saved notebook do not. Adding "notebook_connected" puts a text/html
# copy in the same output (JupyterLab still draws the mimetype one; the HTML takes plotly.js
# from its CDN, as the widgets' static copies do, gamlab/inspection/widgets.py). "notebook" would embed
# plotly.js in every saved notebook so that its HTML draws offline too: lesson 01 saved 92 KB
# with "notebook_connected", 5.1 MB with "notebook". For an offline pre-run copy, start
# Jupyter with PLOTLY_RENDERER=plotly_mimetype+notebook (respected below).
PLOTLY_KERNEL_DEFAULTS = ("plotly_mimetype", "vscode")  # what plotly picks in a Jupyter or VS Code kernel


def use_saved_output_renderer() -> str | None:
    """Make plotly figures in a notebook draw in saved copies too; returns the renderer now in use.

    Changes plotly's default renderer only where plotly picked its plain Jupyter (or VS Code)
    one: left alone when PLOTLY_RENDERER is set, in Colab ("colab"), Kaggle, a terminal
    ("browser") and wherever the user chose one. Called once when gamlab.inspection.plots is imported,
    the module every lesson draws its figures with (`import gamlab` stays free of plotly).
    """
    import os

    import plotly.io as pio

    if not os.environ.get("PLOTLY_RENDERER") and pio.renderers.default in PLOTLY_KERNEL_DEFAULTS:
        pio.renderers.default = f"{pio.renderers.default}+notebook_connected"
    return pio.renderers.default


use_saved_output_renderer()

# Okabe & Ito's palette: eight colours that viewers with any common colour-vision deficiency
# can tell apart. One colour per model, the same in every figure and lesson.
OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "vermillion": "#D55E00", "green": "#009E73",
             "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000"}
MODEL_COLORS = {"gam": OKABE_ITO["blue"], "transformer": OKABE_ITO["orange"],
                "transformer-naive": OKABE_ITO["vermillion"], "mamba": OKABE_ITO["green"],
                "mamba-bare": OKABE_ITO["sky"], "gam-fw": OKABE_ITO["purple"],
                "gam-sum": OKABE_ITO["yellow"], "gam-local": OKABE_ITO["black"], "gam-global": OKABE_ITO["sky"]}
SPARE_COLORS = [OKABE_ITO[c] for c in ("purple", "yellow", "black", "sky", "green", "orange")]


def model_color(name: str, i: int = 0) -> str:
    """The colour of model `name` in every figure (the i-th spare colour for a name not listed)."""
    return MODEL_COLORS.get(name.split(" ")[0], SPARE_COLORS[i % len(SPARE_COLORS)])


def _rgba(hex_color: str, alpha: float) -> str:
    """'#0072B2' -> 'rgba(0, 114, 178, alpha)': a model's colour, see-through (a spread band)."""
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _np(x) -> np.ndarray:
    """A tensor, array or list as a float numpy array (on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=float)


# ---------------------------------------------------------------------------------------------
# Inside GAM: gates, retrieval and path contributions per token (notebooks/06_inside_gam.ipynb).
# Shapes as in gamlab/inspection/probes.py: L layers, T tokens, C channels, S memory slots.
# Token positions are the x (or y) values and the token texts are tick labels, because a
# category axis would merge two occurrences of the same token.
# ---------------------------------------------------------------------------------------------

def token_labels(tokens: list[str]) -> list[str]:
    """Make whitespace visible in tick labels: ' ' -> '␣', newline -> '⏎'."""
    return [t.replace(" ", "␣").replace("\n", "⏎") or "∅" for t in tokens]


MAX_TOKEN_TICKS = 64  # more labels than this overlap on a projector-width axis


def _token_ticks(tokens: list[str], thin: bool = True) -> dict:
    """Tick labels for a token axis of a text: every token, or every n-th one for a long text
    (hover still gives each position). thin=False labels every one (a list of bars)."""
    every = -(-len(tokens) // MAX_TOKEN_TICKS) if thin else 1  # ceil: 1 up to 64 tokens, 2 up to 128, ...
    labels = token_labels(tokens)
    shown = range(0, len(tokens), max(every, 1))
    ticks = dict(tickmode="array", tickvals=list(shown), ticktext=[labels[t] for t in shown])
    if max((len(labels[t]) for t in shown), default=0) <= 3:  # characters: upright, not rotated
        ticks["tickangle"] = 0
    return ticks


def gate_heatmap(gate_local, gate_global, tokens: list[str]) -> go.Figure:
    """Mean gate value per layer and token: two heatmaps (local path above, global below).

    gate_local, gate_global: (L, T) means over channels, values in (0, 1); either may be None
    (an ablation without that path). Raises GamlabError when both are None. Both panels share a
    diverging scale over the whole range a gate has, 0 (shut) to 1 (open), centred on 0.5 (half
    open): stretched to the data, means of 0.41-0.59 filled the whole colour range and noise
    looked like structure. Used in notebooks/06_inside_gam.ipynb.
    """
    panels = [(name, g) for name, g in (("local gate σ(g_l)", gate_local), ("global gate σ(g_g)", gate_global))
              if g is not None]
    if not panels:  # make_subplots would fail with rows=0
        raise GamlabError("there are no gates to draw (both are None: a model without gates, such as gam-sum); "
                          "draw its retrieval or contributions instead.")
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=[name for name, _ in panels])
    for row, (name, g) in enumerate(panels, start=1):
        z = _np(g)
        fig.add_trace(go.Heatmap(z=z, x=list(range(z.shape[1])), y=list(range(z.shape[0])),
                                 zmin=0, zmax=1, zmid=0.5, colorscale="BrBG",
                                 colorbar=dict(title="mean gate σ"), coloraxis=None, showscale=row == 1, name=name,
                                 hovertemplate="layer %{y}, token %{x}: %{z:.3f}<extra>" + name + "</extra>"),
                      row=row, col=1)
        fig.update_yaxes(title_text="layer", dtick=1, row=row, col=1)
    fig.update_xaxes(**_token_ticks(tokens), row=len(panels), col=1)
    fig.update_layout(title="Gate values per token and layer (mean over channels)", height=200 + 120 * len(panels))
    return fig


def gate_channels(gate_local, gate_global, token: str, layer: int) -> go.Figure:
    """How the C gate values of one token spread: one violin per path.

    gate_local, gate_global: (C,) values in (0, 1) for one token in one layer; either may be None.
    """
    fig = go.Figure()
    for name, g in (("local σ(g_l)", gate_local), ("global σ(g_g)", gate_global)):
        if g is not None:
            fig.add_trace(go.Violin(y=_np(g), name=name, box_visible=True, points="all", pointpos=0,
                                    jitter=0.3, marker_size=3, meanline_visible=True,
                                    line_color=OKABE_ITO["blue" if name.startswith("local") else "orange"]))
    fig.update_layout(title=f"Gate values over channels, token {token_labels([token])[0]!s}, layer {layer}",
                      yaxis=dict(title="gate value", range=[0, 1]), showlegend=False, height=360)
    return fig


def top_slots_bar(slots, weights, token: str, layer: int) -> go.Figure:
    """The top-k memory slots one token reads, and their retrieval weights.

    slots: (k,) slot indices; weights: (k,) their weights w (largest first).
    """
    fig = go.Figure(go.Bar(x=[f"slot {int(s)}" for s in _np(slots)], y=_np(weights), marker_color=OKABE_ITO["orange"],
                           hovertemplate="%{x}: w = %{y:.4f}<extra></extra>"))
    fig.update_layout(title=f"Top {len(fig.data[0].x)} slots read by {token_labels([token])[0]} (layer {layer})",
                      yaxis=dict(title="retrieval weight w", rangemode="tozero"), height=360)
    return fig


def retrieval_heatmap(weights, tokens: list[str], layer: int) -> go.Figure:
    """Retrieval weights of one layer: tokens (rows) x memory slots (columns).

    weights: (T, S), each row sums to 1.
    """
    z = _np(weights)
    fig = go.Figure(go.Heatmap(z=z, x=list(range(z.shape[1])), y=list(range(z.shape[0])), zmin=0,
                               colorscale="Magma", colorbar=dict(title="w"),
                               hovertemplate="token %{y}, slot %{x}: w = %{z:.4f}<extra></extra>"))
    fig.update_layout(title=f"Retrieval weights, layer {layer} (tokens x slots)",
                      xaxis=dict(title="memory slot"),
                      yaxis=dict(title="token", autorange="reversed", **_token_ticks(tokens)),
                      height=min(max(320, 120 + 14 * z.shape[0]), 1000))  # a long text scrolls by ticks, not pixels
    return fig


def slot_tokens_bar(labels: list[str], weights, slot: int, layer: int) -> go.Figure:
    """The corpus tokens that read one slot most: what the slot has come to stand for.

    labels: token texts (top,); weights: (top,) their mean retrieval weight for this slot.
    """
    fig = go.Figure(go.Bar(x=_np(weights), y=list(range(len(labels))), orientation="h", marker_color=OKABE_ITO["orange"],
                           hovertemplate="mean w = %{x:.4f}<extra></extra>"))
    fig.update_layout(title=f"Tokens that read slot {slot} most (layer {layer}, mean over the corpus)",
                      xaxis=dict(title="mean retrieval weight", rangemode="tozero"),
                      yaxis=dict(autorange="reversed", **_token_ticks(labels, thin=False)),  # each bar names its token
                      height=max(300, 100 + 24 * len(labels)))
    return fig


def contributions(local_norm, global_norm, tokens: list[str], layer: int) -> go.Figure:
    """What each path adds to the residual stream, per token: |σ(g_l)·local| vs |σ(g_g)·global|.

    local_norm, global_norm: (T,) L2 norms over channels; either may be None.
    """
    fig = go.Figure()
    for name, values, color in (("local (convolution)", local_norm, OKABE_ITO["blue"]),  # as in lessons 03-04
                                ("global (memory)", global_norm, OKABE_ITO["orange"])):
        if values is not None:
            v = _np(values)
            fig.add_trace(go.Bar(x=list(range(len(v))), y=v, name=name, marker_color=color,
                                 hovertemplate="token %{x}: %{y:.3f}<extra>" + name + "</extra>"))
    fig.update_layout(title=f"Contribution of each path to the residual stream, layer {layer}", barmode="group",
                      xaxis=_token_ticks(tokens), yaxis=dict(title="|gated path| (L2)", rangemode="tozero"),
                      height=420, margin=dict(l=80, t=100), legend=dict(orientation="h", y=1.12))
    return fig


# Fallbacks: the same views as single plotly figures with their own sliders and dropdowns, for
# front ends without a widget manager (Colab renders plain plotly figures, not FigureWidget).
# Every state is precomputed from the probed internals; a control swaps data with "update".

def _steps(states: list[tuple[str, dict, dict]]) -> list[dict]:
    """(label, trace changes, layout changes) -> plotly slider steps / dropdown buttons."""
    return [dict(label=label, method="update", args=[data, layout]) for label, data, layout in states]


def _with_slider(fig: go.Figure, states, prefix: str) -> go.Figure:
    fig.update_layout(sliders=[dict(active=0, steps=_steps(states), currentvalue=dict(prefix=prefix),
                                    pad=dict(t=50))])
    return fig


def _with_dropdown(fig: go.Figure, states) -> go.Figure:
    fig.update_layout(updatemenus=[dict(buttons=_steps(states), direction="down", x=1.0, xanchor="right",
                                        y=1.18, yanchor="top", showactive=True)])
    return fig


def retrieval_explorer(internals, tokens: list[str]) -> go.Figure:
    """Retrieval heatmap with a slider over layers. internals: gamlab.inspection.probes.GAMInternals."""
    w = _np(internals.weights)  # (L, T, S)
    fig = retrieval_heatmap(w[0], tokens, 0)
    states = [(str(l), {"z": [w[l]]}, {"title.text": f"Retrieval weights, layer {l} (tokens x slots)"})
              for l in range(len(w))]
    return _with_slider(fig, states, "layer ")


def contributions_explorer(internals, tokens: list[str]) -> go.Figure:
    """Local vs global contribution per token, with a slider over layers."""
    paths = [_np(p) for p in (internals.local_norm, internals.global_norm) if p is not None]  # (L, T) each
    fig = contributions(internals.local_norm[0] if internals.local_norm is not None else None,
                        internals.global_norm[0] if internals.global_norm is not None else None, tokens, 0)
    states = [(str(l), {"y": [p[l] for p in paths]},
               {"title.text": f"Contribution of each path to the residual stream, layer {l}"})
              for l in range(internals.n_layer)]
    return _with_slider(fig, states, "layer ")


def top_slots_explorer(internals, tokens: list[str], k: int = 5) -> go.Figure:
    """Top-k slots per token, one panel per layer, with a slider over tokens."""
    L = internals.n_layer
    fig = make_subplots(rows=L, cols=1, subplot_titles=[f"layer {l}" for l in range(L)],
                        vertical_spacing=min(0.3, 0.5 / L))  # room for each panel's slot labels
    tops = [[internals.top_slots(l, t, k) for l in range(L)] for t in range(internals.n_tokens)]
    for l, (slots, weights) in enumerate(tops[0]):
        fig.add_trace(go.Bar(x=[f"slot {int(s)}" for s in slots], y=_np(weights), marker_color=OKABE_ITO["orange"],
                             showlegend=False, hovertemplate="%{x}: w = %{y:.4f}<extra></extra>"), row=l + 1, col=1)
        fig.update_yaxes(title_text="w", rangemode="tozero", row=l + 1, col=1)
    labels = token_labels(tokens)
    states = [(f"{t}:{labels[t]}", {"x": [[f"slot {int(s)}" for s in slots] for slots, _ in tops[t]],
                                   "y": [_np(w) for _, w in tops[t]]},
               {"title.text": f"Top {k} slots read by token {t} ({labels[t]})"}) for t in range(len(tops))]
    fig.update_layout(title=states[0][2]["title.text"], height=200 + 230 * L)
    return _with_slider(fig, states, "token ")


def gate_channels_explorer(internals, tokens: list[str]) -> go.Figure:
    """Channel distribution of the gates, a dropdown over layers and a slider over tokens.

    Only one control can own the data, so the slider steps run over (layer, token) pairs
    ordered layer by layer; the label names both.
    """
    gl, gg = internals.gate_local, internals.gate_global
    fig = gate_channels(gl[0, 0] if gl is not None else None, gg[0, 0] if gg is not None else None, tokens[0], 0)
    labels = token_labels(tokens)
    states = []
    for l in range(internals.n_layer):
        for t in range(internals.n_tokens):
            ys = [_np(g[l, t]) for g in (gl, gg) if g is not None]
            states.append((f"L{l} {t}:{labels[t]}", {"y": ys},
                           {"title.text": f"Gate values over channels, token {labels[t]}, layer {l}"}))
    return _with_slider(fig, states, "layer, token ")


def slot_tokens_explorer(tables: dict[int, list[tuple[str, float]]], layer: int) -> go.Figure:
    """Slot -> top tokens with a dropdown over slots. tables: slot -> [(token text, mean w), ...]."""
    slots = list(tables)
    first = tables[slots[0]]
    fig = slot_tokens_bar([t for t, _ in first], [w for _, w in first], slots[0], layer)
    states = [(f"slot {s}", {"x": [[w for _, w in tables[s]]], "y": [list(range(len(tables[s])))]},
               {"title.text": f"Tokens that read slot {s} most (layer {layer}, mean over the corpus)",
                "yaxis.ticktext": token_labels([t for t, _ in tables[s]]),
                "yaxis.tickvals": list(range(len(tables[s])))}) for s in slots]
    return _with_dropdown(fig, states)


# ---------------------------------------------------------------------------------------------
# Lessons 00-03 (notebooks/00_why_linear_time ... 03_gating). Each interactive view is a plain
# plotly figure with its own slider over precomputed states, so it works in Colab too.
# ---------------------------------------------------------------------------------------------

def _log_ticks(values) -> dict:
    """Tick values and texts for a log axis over `values`: every decade, plus 2 and 5 times a
    decade when the values span under two decades; plain numbers from 0.001 to 9999, powers of
    ten beyond (never SI prefixes such as "100μ")."""
    v = np.asarray([x for x in values if x is not None and x > 0], dtype=float)
    if v.size == 0:
        return {}
    lo, hi = int(np.floor(np.log10(v.min()))), int(np.ceil(np.log10(v.max())))
    mantissas = (1, 2, 5) if np.log10(v.max() / v.min()) < 2 else (1,)
    ticks = [m * 10.0**e for e in range(lo, hi + 1) for m in mantissas if v.min() / 1.5 <= m * 10.0**e <= v.max() * 1.5]

    def text(t):
        e = int(np.floor(np.log10(t) + 1e-9))
        return f"{t:g}" if -3 <= e <= 3 else f"{t / 10.0**e:g}×10<sup>{e}</sup>"
    return dict(tickmode="array", tickvals=ticks, ticktext=[text(t) for t in ticks])


def _slope_guides(fig: go.Figure, x0: float, x1: float, y0: float, col: int, legend: bool) -> None:
    """Dashed lines of slope 1 and 2 on a log-log panel, from (x0, y0) to x1: cost ~ T and ~ T²."""
    for p, dash, label in ((1, "dash", "slope 1 (linear)"), (2, "dot", "slope 2 (quadratic)")):
        fig.add_shape(type="line", x0=x0, x1=x1, y0=y0, y1=y0 * (x1 / x0) ** p, row=1, col=col,
                      line=dict(color="gray", dash=dash, width=1.5), name=label, showlegend=legend,
                      legendgroup=label)


# Orange and vermillion are close on a projector: the two attention blocks also differ in marker and dash.
MODEL_SYMBOLS = {"gam": "circle", "transformer": "square", "transformer-naive": "diamond"}
MODEL_DASH = {"transformer-naive": "dashdot"}  # the slope guides use dash and dot


def scaling_curves(rows: list[dict]) -> go.Figure:
    """Time (and peak memory, where measured) of one block against sequence length, log-log.

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
    lengths = sorted({r["seq_len"] for r in ok})
    fig.update_xaxes(type="log", title_text="sequence length T", tickmode="array", tickvals=lengths,
                     ticktext=[str(t) for t in lengths])
    fig.update_yaxes(type="log", exponentformat="power")
    for col, key in ((1, "ms"), (2, "peak_mb"))[: 2 if has_mem else 1]:
        ys = [max(r[key], 1e-3) for r in ok if r.get(key) is not None]
        if len(lengths) > 1 and ys:
            first = min(max(r[key], 1e-3) for r in ok if r["seq_len"] == lengths[0] and r.get(key) is not None)
            _slope_guides(fig, lengths[0], lengths[-1], first, col, legend=col == 1)
            ys += [first * (lengths[-1] / lengths[0]) ** 2]
        fig.update_yaxes(title_text="ms" if key == "ms" else "MB", **_log_ticks(ys), row=1, col=col)
    oom = sorted({f"{r['name']} T={r['seq_len']}" for r in rows if r.get("oom")})
    title = "One block, forward + backward, against sequence length (log-log)"
    fig.update_layout(title=title + (f"<br><sub>out of memory: {', '.join(oom)}</sub>" if oom else ""),
                      height=480, margin=dict(t=90, b=130),
                      # hung from its top edge below the axis titles ("auto" anchors a legend at
                      # y < 1/3 by its bottom edge, so it grew upwards over "sequence length T")
                      legend=dict(orientation="h", yanchor="top", y=-0.26, x=0))
    return fig


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
                               colorbar=dict(title="paths, as a share<br>of the row's most"),
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
    fig.update_layout(title=states[ks.index(k0)][2]["title.text"], height=300 + 22 * L,
                      xaxis=dict(title="input position s", range=[-0.5, T - 0.5]),
                      yaxis=dict(title="depth L (layers)", dtick=1, autorange="reversed"),  # depth 1 on top
                      legend=dict(orientation="h", y=1.08))
    fig = _with_slider(fig, states, "kernel size ")
    fig.layout.sliders[0].active = ks.index(k0)
    return fig


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
                        subplot_titles=["weights w over stored patterns", "retrieved vs the pattern queried"])
    queried_colour = OKABE_ITO["vermillion"]  # the same colour for its bar and its pattern
    colours = [queried_colour if i == queried else OKABE_ITO["blue"] for i in range(len(labels))]
    shown = [name.replace(" ", "<br>", 1) for name in labels]  # upright labels on two lines
    shown = [f"<b>{name}<br>queried</b>" if i == queried else name for i, name in enumerate(shown)]
    fig.add_trace(go.Bar(x=shown, y=w[0], marker_color=colours, name="w",
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
    fig.update_xaxes(tickangle=0, row=1, col=1)
    fig.update_xaxes(title_text="channel", row=1, col=2)
    fixed = [] if query is None else [_np(query)]
    states = [(f"{t:g}", {"y": [w[i], _np(target), r[i], *fixed]}, {"title.text": f"Softmax retrieval at temperature τ = {t:g}"})
              for i, t in enumerate(tau)]
    fig.update_layout(title=states[0][2]["title.text"], height=440,  # legend right of the plots, clear of the titles
                      legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"))
    return _with_slider(fig, states, "τ = ")


def gates_per_token(gate_local, gate_global, tokens: list[str]) -> go.Figure:
    """Gate values per token and per channel, for one block.

    gate_local, gate_global: (T, C) sigmoid gates σ(g_l), σ(g_g) in (0, 1). Top: two heatmaps
    (channels x tokens); bottom: the C values of both gates at one token, picked by a slider.
    """
    gl, gg = _np(gate_local), _np(gate_global)
    T, C = gl.shape
    fig = make_subplots(rows=2, cols=2, specs=[[{}, {}], [{"colspan": 2}, None]], vertical_spacing=0.18,
                        subplot_titles=["local gate σ(g_l)", "global gate σ(g_g)", "both gates at one token"])
    for col, g in ((1, gl), (2, gg)):
        fig.add_trace(go.Heatmap(z=g.T, x=list(range(T)), y=list(range(C)), zmin=0, zmax=1, colorscale="Viridis",
                                 showscale=col == 2, colorbar=dict(title="gate σ", len=0.45, y=0.78),
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
    fig.update_layout(title=steps[0]["args"][1]["title.text"], height=660,
                      legend=dict(orientation="h", x=1, xanchor="right", y=1.1),
                      sliders=[dict(active=0, steps=steps, currentvalue=dict(prefix="token "), pad=dict(t=50))])
    return fig


def gam_block_diagram() -> go.Figure:
    """The GAM block as a picture: pre-norm, the local and global paths, their two gates, the
    residual additions and the FFN (the paper's Figure 1, drawn by gamlab). No data in.

    Drawn at a fixed size in pixels (780 x 340 plot area, one data unit = one pixel), so that the
    whole block fits one screen at 150% zoom on 1280 x 800 and every label, 14 px, stays inside
    its box whatever the page width.
    """
    blue, orange, green, grey = OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["green"], "#555555"
    W, H = 780, 340  # plot area, px
    mid, left, right = W // 2, 138, W - 138  # the three columns' centres
    fig = go.Figure()
    boxes = {  # name: (x centre, y centre from the top, width, height, text, colour); circles: width 0
        "x": (mid, 14, 150, 26, "x  (B, T, C)", grey),
        "ln1": (mid, 50, 160, 26, "LayerNorm₁ → h", grey),
        "conv": (left, 100, 236, 44, "causal depthwise conv<br><i>local</i>, kernel k  (Lesson 1)", blue),
        "gate": (mid, 100, 236, 44, "Linear(C → 2C) → g_l, g_g<br>(Lesson 3)", green),
        "mem": (right, 100, 236, 44, "softmax(h Mᵀ) M, S slots<br><i>global</i>  (Lesson 2)", orange),
        "mul_l": (left, 156, 0, 0, "×", blue), "mul_g": (right, 156, 0, 0, "×", orange),
        "add1": (mid, 192, 0, 0, "+", grey),
        "ln2": (mid, 226, 150, 26, "LayerNorm₂", grey),
        "ffn": (mid, 260, 310, 26, "FFN: C → 4C, GELU, 4C → C, dropout", grey),
        "add2": (mid, 292, 0, 0, "+", grey),
        "out": (mid, 325, 170, 26, "output  (B, T, C)", grey),
    }
    R = 13  # radius of the × and + circles, px

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
    for (x0, y0), lane, (x1, y1), text in (((mid - 75, 14), 6, (mid - R, 192), "residual x"),
                                           ((mid + R, 192), W - 6, (mid + R, 292), "residual")):
        fig.add_shape(type="path", path=f"M {x0} {H - y0} L {lane} {H - y0} L {lane} {H - y1} L {x1} {H - y1}",
                      line=dict(color=grey, width=1.5, dash="dash"))
        # the label above the lane's first stretch, clear of the boxes
        fig.add_annotation(x=(x0 + lane) / 2, y=H - y0, text=text, showarrow=False, yshift=10,
                           font=dict(size=14, color=grey))
    fig.update_xaxes(visible=False, range=[0, W], fixedrange=True)
    fig.update_yaxes(visible=False, range=[0, H], fixedrange=True)
    fig.update_layout(title=dict(text="One GAM block (pre-norm)<br><sub>x + σ(g_l)·local + σ(g_g)·global, "
                                      "then x + FFN(LayerNorm₂(x))</sub>", font=dict(size=18), y=0.96),
                      width=W + 20, height=H + 76, autosize=False, plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=70, b=6, autoexpand=False))
    return fig


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
    fig.update_layout(title=title, xaxis_title=axis, yaxis_title="cross-entropy (nats per token)",
                      height=460, legend=dict(orientation="h", y=-0.2))
    return fig


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
    fig.update_layout(title=title or "Validation loss: per step and per second", height=440,
                      legend=dict(orientation="h", y=-0.25), margin=dict(t=90))
    return fig


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


# ---- lesson 07: recall grid, effective context, what a query reads ---------------------------

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
    fig.update_layout(title=f"{task}: query accuracy, chance {results['chance']:.2f}",
                      height=320, margin=dict(t=80))
    return fig


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
                      xaxis_title="lag (tokens back from t)", yaxis=dict(title="share of the gradient", **yaxis),
                      height=380)
    return fig


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
                      yaxis_title="loss increase (nats/token)", height=420, legend=dict(orientation="h", y=-0.25))
    return fig


def recall_predictions(idx, targets, predictions: dict, queries, keys=None, values=None, read_weights=None,
                       labels: list[str] | None = None,
                       title: str = "One recall sequence: what each model answers") -> go.Figure:
    """For one sequence of a recall task: each model's answer per query (a table-like scatter: a
    green circle and ✓ right, a vermillion cross and ✗ wrong; the symbols say it without the
    colours), and below it, chosen with a dropdown per query, the read weights over earlier positions.

    idx: (T,) token ids; targets: (T,) answers, read at the queries only; predictions: {model: (T,) argmax};
    queries: (n,) positions that ask for an answer; keys, values: (n,) where each query's key and
    the value to recall sit, marked orange and green among the read weights (optional). The task
    knows all three (gamlab.training.tasks.MQAR.positions); this figure knows no task.
    read_weights: (T, T) for one layer, heads averaged, or None; labels: (T,) token texts (default: the ids)."""
    idx, targets, queries = _np(idx).astype(int), _np(targets).astype(int), _np(queries).astype(int)
    labels = labels or [str(t) for t in idx]
    rows = 2 if read_weights is not None else 1
    fig = make_subplots(rows=rows, cols=1, vertical_spacing=0.18, row_heights=[0.45, 0.55][:rows] if rows == 2 else None,
                        subplot_titles=["answer per query (✓ circle: right, ✗ cross: wrong)",
                                        "what the query reads from (read weights over earlier positions)"][:rows])
    qtext = [f"q{j} @{p}: {labels[p]}" for j, p in enumerate(queries)]
    for name, pred in predictions.items():
        pred = _np(pred).astype(int)[queries]
        ok = pred == targets[queries]
        # right/wrong by symbol and mark as well as colour: readable without telling green from red
        fig.add_trace(go.Scatter(x=qtext, y=[name] * len(queries), mode="markers+text",
                                 text=[f"{'✓' if r else '✗'} {v}" for r, v in zip(ok, pred)], textposition="top center",
                                 marker=dict(size=14, symbol=np.where(ok, "circle", "x"),
                                             color=np.where(ok, OKABE_ITO["green"], OKABE_ITO["vermillion"])),
                                 hovertemplate="%{x}<br>" + name + " says %{text}<extra></extra>", showlegend=False),
                      row=1, col=1)
    fig.add_trace(go.Scatter(x=qtext, y=["answer"] * len(queries), mode="markers+text", text=[str(v) for v in targets[queries]],
                             textposition="top center", marker=dict(size=14, color="grey"), showlegend=False), row=1, col=1)
    if read_weights is not None:
        a = _np(read_weights)

        def bar_state(j):
            c = ["lightgrey"] * len(idx)
            if keys is not None:
                c[int(keys[j])] = "orange"  # the query's key where it was given
            if values is not None:
                c[int(values[j])] = "seagreen"  # the value to recall
            c[queries[j]] = "steelblue"
            return a[queries[j]], c

        w0, c0 = bar_state(0) if len(queries) else (np.zeros(len(idx)), ["lightgrey"] * len(idx))
        fig.add_trace(go.Bar(x=[f"{i}:{labels[i]}" for i in range(len(idx))], y=w0, marker_color=c0, showlegend=False,
                             hovertemplate="position %{x}: weight %{y:.3f}<extra></extra>"), row=2, col=1)
        bar = len(fig.data) - 1
        buttons = []
        for j in range(len(queries)):
            w, c = bar_state(j)
            buttons.append(dict(label=qtext[j], method="restyle", args=[{"y": [w], "marker.color": [c]}, [bar]]))
        fig.update_layout(updatemenus=[dict(buttons=buttons, direction="down", x=1.0, xanchor="right", y=0.5,
                                            yanchor="bottom")])
        fig.update_yaxes(title_text="read weight", row=2, col=1)
        marked = [text for text, where in (("orange: the query's key", keys), ("green: its value", values))
                  if where is not None]
        fig.update_xaxes(title_text="earlier position: token" + (f" ({', '.join(marked)})" if marked else ""),
                         row=2, col=1)
    fig.update_layout(title=title, height=380 + 300 * (rows - 1))
    return fig


# ---- lesson 05: the learning-rate sweep ----------------------------------------------------

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
                      yaxis_title="validation loss (nats per token)", height=400, legend=dict(orientation="h", y=-0.25))
    return fig
