"""What every figure shares: saved notebooks draw plotly figures (the renderer), one colour per
model (Okabe & Ito's palette), and two small converters."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

# Saved notebooks: plotly picks its "plotly_mimetype" renderer in a Jupyter kernel, which
# JupyterLab, classic Notebook 7 and VS Code draw but nbviewer, nbconvert's HTML and other
# kernel-less readers of a saved notebook do not. Adding "notebook_connected" puts a text/html
# copy in the same output (JupyterLab still draws the mimetype one; the HTML takes plotly.js
# from its CDN, as the widgets' static copies do, gamlab/inspection/live_view.py). "notebook" would embed
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

# One screen at a lecture hall's zoom: JupyterLab at 150% on a 1280 x 800 screen shows about
# 413 CSS px of notebook under its toolbar, and an output area about 673 px wide beside the
# prompt. Every figure a lesson draws is at most SCREEN_HEIGHT tall, its slider or dropdown
# included, so that it is seen whole; figures side by side (the explorer's pair) share
# OUTPUT_WIDTH. plotly's default is 450 px tall with 100 px above the plot, where the title
# floated 60-100 px over what it names.
SCREEN_HEIGHT = 380  # px
OUTPUT_WIDTH = 660  # px
MARGIN = dict(t=50, b=40, l=60, r=20)  # px: the title close to the plot; plotly widens a margin that a
# label, legend, colour bar or slider needs (axes' automargin, margin.autoexpand), so they stay inside


# Buttons of plotly's toolbar that no lesson uses: selections, stepwise zoom, autoscale, upload.
# The toolbar is drawn over the figure's top right while the pointer is on it, and covered the
# end of a title; without them it is 176 px wide instead of 296. Zoom, pan, reset and the PNG
# download stay.
MODEBAR_REMOVE = ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d", "sendChartToCloud"]


def fit_screen(fig: go.Figure, height: int = SCREEN_HEIGHT, **margin) -> go.Figure:
    """Give `fig` an explicit height, at most SCREEN_HEIGHT px (a taller one is cut to it: the
    plot gets thinner, nothing leaves the figure), and small margins (MARGIN, overridden by
    `margin`, e.g. t=75 for a title above subplot titles or a legend), the title's top 10 px
    below the figure's, and the toolbar without the buttons no lesson uses (MODEBAR_REMOVE).
    Returns fig. Every builder in gamlab.inspection.plots ends with it."""
    height = min(int(height), SCREEN_HEIGHT)
    fig.update_layout(height=height, margin={**MARGIN, **margin}, modebar_remove=MODEBAR_REMOVE)
    if fig.layout.title.y is None:  # its top 10 px below the figure's (plotly centres it in the margin)
        # plotly's "top" anchor puts a title's first line where a one-line title would sit and
        # its others above it: each further line moves it down by about 14 px
        lines = (fig.layout.title.text or "").count("<br>")
        fig.update_layout(title=dict(y=1 - (10 + 14 * lines) / height, yanchor="top"))
    return fig


# A legend under the plot, at the figure's bottom edge, in a bottom margin sized for its rows.
# Anchored to the plot instead (y below 0, in plot heights), its place hung on plotly widening the
# margin for it, which JupyterLab's drawing at 673 px did not do for a legend of two rows: they
# covered the x axis title (and with plotly's automatic anchor, the legend's bottom, the curves).
LEGEND_ROW = 22  # px a row of legend entries (12 px text)


def legend_below(fig: go.Figure) -> go.Figure:
    """Put fig's legend in rows at its bottom edge, under the x axis title, with a bottom margin
    that holds them (rows estimated from the entries' names at about 7 px a character). Call it
    after fit_screen. Returns fig."""
    shown = [t.name for t in fig.data if t.name and t.showlegend is not False]
    if len(shown) < 2 and fig.layout.showlegend is not True:  # plotly draws no legend for one trace
        return fig
    width = sum(40 + 7 * len(name) for name in shown)  # symbol and gap, then the name
    rows = max(1, -(-width // (OUTPUT_WIDTH - 60)))
    fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", yref="container", y=0, yanchor="bottom"),
                      margin_b=75 + LEGEND_ROW * rows)  # x tick labels and title (about 55 px), then the rows
    return fig


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


# Token axes: token positions are the x (or y) values and the token texts are tick labels,
# because a category axis would merge two occurrences of the same token.

def token_labels(tokens: list[str]) -> list[str]:
    """Make whitespace visible in tick labels: ' ' -> '␣', newline -> '⏎'."""
    return [t.replace(" ", "␣").replace("\n", "⏎") or "∅" for t in tokens]


MAX_TOKEN_TICKS = 64  # more labels than this overlap on a projector-width axis
MAX_ROW_TICKS = 18  # ... and more than this on a token axis up a figure SCREEN_HEIGHT high (14 px a label)


def _token_ticks(tokens: list[str], thin: bool = True, most: int = MAX_TOKEN_TICKS) -> dict:
    """Tick labels for a token axis of a text: every token, or every n-th one for a long text
    (at most `most` labels; hover still gives each position). thin=False labels every one (a
    list of bars)."""
    every = -(-len(tokens) // most) if thin else 1  # ceil: with 64, 1 up to 64 tokens, 2 up to 128, ...
    labels = token_labels(tokens)
    shown = range(0, len(tokens), max(every, 1))
    ticks = dict(tickmode="array", tickvals=list(shown), ticktext=[labels[t] for t in shown])
    if max((len(labels[t]) for t in shown), default=0) <= 3:  # characters: upright, not rotated
        ticks["tickangle"] = 0
    return ticks


# Sliders and dropdowns over precomputed states: a control swaps data with "update".

def _steps(states: list[tuple[str, dict, dict]]) -> list[dict]:
    """(label, trace changes, layout changes) -> plotly slider steps / dropdown buttons."""
    return [dict(label=label, method="update", args=[data, layout]) for label, data, layout in states]


SLIDER_LABEL_ROOM = 520  # px of slider rail for its step labels, at about 7 px a character


def _slider(steps: list[dict], prefix: str, pad: int = 50) -> dict:
    """A slider under the plot over plotly `steps`; `pad`: px from the plot's bottom to the
    slider's current value, room for the x tick labels and axis title (plotly does not move it
    clear of them). When the step labels would overlap (many tokens), they are hidden under the
    rail: the current value above it still names the chosen one."""
    crowded = sum(len(step["label"]) + 2 for step in steps) * 7 > SLIDER_LABEL_ROOM
    hidden = dict(font=dict(color="rgba(0, 0, 0, 0)")) if crowded else {}
    return dict(active=0, steps=steps, pad=dict(t=pad), **hidden,  # the current value in the template's colour
                currentvalue=dict(prefix=prefix, **(dict(font=dict(color="#2a3f5f")) if crowded else {})))


def _with_slider(fig: go.Figure, states, prefix: str, pad: int = 50) -> go.Figure:
    fig.update_layout(sliders=[_slider(_steps(states), prefix, pad)])
    return fig


def _with_dropdown(fig: go.Figure, states) -> go.Figure:
    """A dropdown over `states` just above the plot's top right corner, under the title (the
    figure needs a top margin of about 90 px)."""
    fig.update_layout(updatemenus=[dict(buttons=_steps(states), direction="down", x=1.0, xanchor="right",
                                        y=1.02, yanchor="bottom", showactive=True)])
    return fig


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
