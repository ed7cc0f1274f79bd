"""Inside GAM: gates, retrieval and path contributions per token, as figures and as single-figure
explorers for front ends without a widget manager (notebooks/06_inside_gam.ipynb; the data comes
from gamlab.inspection.probes)."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ...errors import GamlabError
from .style import MAX_ROW_TICKS, OKABE_ITO, _np, _token_ticks, _with_dropdown, _with_slider, fit_screen, token_labels

# Shapes as in gamlab/inspection/probes.py: L layers, T tokens, C channels, S memory slots.

COLORBAR_ROOM = 110  # px right of a heatmap: its colour bar, tick labels ("0.25") and title


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
                                 # the title up the bar's side: across its top it ran past the figure's edge
                                 colorbar=dict(title=dict(text="mean gate σ", side="right")), coloraxis=None,
                                 showscale=row == 1, name=name,
                                 hovertemplate="layer %{y}, token %{x}: %{z:.3f}<extra>" + name + "</extra>"),
                      row=row, col=1)
        fig.update_yaxes(title_text="layer", dtick=1, row=row, col=1)
    fig.update_xaxes(**_token_ticks(tokens), row=len(panels), col=1)
    fig.update_layout(title="Gate values per token and layer (mean over channels)")
    # the title above the panels' own titles; the colour bar's room on the right given, not left to
    # plotly to widen: the explorer's live figure kept the margin of its first, wider draw and cut
    # the bar's title and tick labels
    return fit_screen(fig, 200 + 120 * len(panels), t=68, r=COLORBAR_ROOM)


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
    # two title lines: the explorer shows this figure in half the output's width
    fig.update_layout(title=f"Gate values over channels<br>token {token_labels([token])[0]!s}, layer {layer}",
                      yaxis=dict(title="gate value", range=[0, 1]), showlegend=False)
    return fit_screen(fig, 360, t=70)


def top_slots_bar(slots, weights, token: str, layer: int) -> go.Figure:
    """The top-k memory slots one token reads, and their retrieval weights.

    slots: (k,) slot indices; weights: (k,) their weights w (largest first).
    """
    fig = go.Figure(go.Bar(x=[f"slot {int(s)}" for s in _np(slots)], y=_np(weights), marker_color=OKABE_ITO["orange"],
                           hovertemplate="%{x}: w = %{y:.4f}<extra></extra>"))
    label = token_labels([token])[0]
    fig.update_layout(title=f"Top {len(fig.data[0].x)} slots read by<br>token {label}, layer {layer}",
                      yaxis=dict(title="retrieval weight w", rangemode="tozero"))
    return fit_screen(fig, 360, t=70)  # two title lines, as gate_channels: the explorer's pair


def retrieval_heatmap(weights, tokens: list[str], layer: int) -> go.Figure:
    """Retrieval weights of one layer: tokens (rows) x memory slots (columns).

    weights: (T, S), each row sums to 1.
    """
    z = _np(weights)
    fig = go.Figure(go.Heatmap(z=z, x=list(range(z.shape[1])), y=list(range(z.shape[0])), zmin=0,
                               colorscale="Magma", colorbar=dict(title="w"),
                               hovertemplate="token %{y}, slot %{x}: w = %{z:.4f}<extra></extra>"))
    # one screen whatever the text's length: a long text gets thinner rows and every n-th token's label
    fig.update_layout(title=f"Retrieval weights, layer {layer} (tokens x slots)",
                      xaxis=dict(title="memory slot"),
                      yaxis=dict(title="token", autorange="reversed", **_token_ticks(tokens, most=MAX_ROW_TICKS)))
    return fit_screen(fig, max(320, 120 + 14 * z.shape[0]), r=COLORBAR_ROOM)  # as gate_heatmap's


def slot_tokens_bar(labels: list[str], weights, slot: int, layer: int) -> go.Figure:
    """The corpus tokens that read one slot most: what the slot has come to stand for.

    labels: token texts (top,); weights: (top,) their mean retrieval weight for this slot.
    """
    fig = go.Figure(go.Bar(x=_np(weights), y=list(range(len(labels))), orientation="h", marker_color=OKABE_ITO["orange"],
                           hovertemplate="mean w = %{x:.4f}<extra></extra>"))
    fig.update_layout(title=f"Tokens that read slot {slot} most (layer {layer}, mean over the corpus)",
                      xaxis=dict(title="mean retrieval weight", rangemode="tozero"),
                      yaxis=dict(autorange="reversed", **_token_ticks(labels, thin=False)))  # each bar names its token
    return fit_screen(fig, max(300, 100 + 24 * len(labels)), t=60)


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
                      legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))  # under the title
    return fit_screen(fig, t=80, l=80)


# Fallbacks: the same views as single plotly figures with their own sliders and dropdowns, for
# front ends without a widget manager (Colab renders plain plotly figures, not FigureWidget).
# Every state is precomputed from the probed internals; a control swaps data with "update".

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
    """Top-k slots per token, one panel per layer (side by side, up to 3 in a row: one screen
    high), with a slider over tokens."""
    L = internals.n_layer
    cols = min(L, 3)
    rows = -(-L // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"layer {l}" for l in range(L)],
                        horizontal_spacing=0.08, vertical_spacing=min(0.3, 0.5 / rows))  # room for slot labels
    tops = [[internals.top_slots(l, t, k) for l in range(L)] for t in range(internals.n_tokens)]
    for l, (slots, weights) in enumerate(tops[0]):
        where = dict(row=l // cols + 1, col=l % cols + 1)
        fig.add_trace(go.Bar(x=[f"slot {int(s)}" for s in slots], y=_np(weights), marker_color=OKABE_ITO["orange"],
                             showlegend=False, hovertemplate="%{x}: w = %{y:.4f}<extra></extra>"), **where)
        fig.update_yaxes(title_text="w" if l % cols == 0 else None, rangemode="tozero", **where)
    labels = token_labels(tokens)
    states = [(f"{t}:{labels[t]}", {"x": [[f"slot {int(s)}" for s in slots] for slots, _ in tops[t]],
                                   "y": [_np(w) for _, w in tops[t]]},
               {"title.text": f"Top {k} slots read by token {t} ({labels[t]})"}) for t in range(len(tops))]
    fig.update_layout(title=states[0][2]["title.text"])
    return fit_screen(_with_slider(fig, states, "token ", pad=40), 200 + 180 * rows, t=68)


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
                           {"title.text": f"Gate values over channels<br>token {labels[t]}, layer {l}"}))
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
    return fit_screen(_with_dropdown(fig, states), fig.layout.height, t=90)  # the title above the dropdown
