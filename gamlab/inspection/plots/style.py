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


# Sliders and dropdowns over precomputed states: a control swaps data with "update".

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
