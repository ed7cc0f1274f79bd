"""What every live notebook view shares: the path it takes, and a copy a saved notebook shows.

- `pick_mode`: "widget" (ipywidgets controls and plotly FigureWidgets updated in place) when
  ipywidgets >= 8 and anywidget import and the kernel is not Colab's, else "static" (plain
  plotly figures, which render wherever plotly renders); GAMLAB_WIDGETS=static|widget forces one.
- A saved notebook keeps no widget state (lessons are committed and pre-run without it), so a
  widget alone would leave only a line of text there. Each live view is followed by a saved
  copy, one output per figure (`saved_copies`), whose MIME bundle holds:
  - a widget view that names no model: where the live widget runs, JupyterLab ranks the widget
    renderer first (rank -10) and hides such a view, so the copy does not show twice;
  - plotly's JSON (application/vnd.plotly.v1+json): JupyterLab draws it in a saved, untrusted
    notebook, offline (plotly's renderer is marked safe and bundles plotly.js, while the widget
    renderer is not safe and untrusted HTML runs no script);
  - `text/html` with plotly.js from its CDN: nbviewer and nbconvert, which skip a widget view
    without saved state and do not know plotly's JSON, draw this;
  - `text/plain`, for viewers that draw none of these.

Used by the explorer (gamlab/inspection/widgets.py), the live loss chart (live_loss.py) and
notebooks/07_beyond_the_paper.ipynb (pick_mode, LiveView).
"""

from __future__ import annotations

import html
import os
import sys
from copy import deepcopy

from ..errors import GamlabError
from .rerun import close_widgets, replace_previous
from .text import wrap

MODES = ("auto", "widget", "static")


def pick_mode(mode: str = "auto") -> str:
    """'widget' or 'static': GAMLAB_WIDGETS if set, else `mode`, else what the front end supports."""
    forced = os.environ.get("GAMLAB_WIDGETS", "").strip().lower()
    if forced:
        if forced not in ("widget", "static"):
            raise GamlabError(f"GAMLAB_WIDGETS={forced!r} is not understood; set it to widget or static (or unset it).")
        mode = forced
    if mode not in MODES:
        raise GamlabError(f"mode {mode!r} is not one of {', '.join(MODES)}.")
    if mode == "widget" and not widgets_supported():
        raise GamlabError("the widget explorer needs ipywidgets>=8 and anywidget; install them "
                          "(pip install 'ipywidgets>=8' anywidget) or use mode='static'.")
    if mode != "auto":
        return mode
    if "google.colab" in sys.modules:  # Colab renders plain plotly figures but not FigureWidget
        return "static"
    return "widget" if widgets_supported() else "static"


def widgets_supported() -> bool:
    """True when ipywidgets 8+ and anywidget are importable (plotly's FigureWidget needs both)."""
    try:
        import anywidget  # noqa: F401
        import ipywidgets
    except ImportError:
        return False
    return int(ipywidgets.__version__.split(".")[0]) >= 8


def live_figure(fig, width: int | None = None):
    """A plotly FigureWidget of `fig`, `width` px wide (default: the figure's own, else
    plots.OUTPUT_WIDTH, the output's width at 150% zoom on 1280 x 800).

    A FigureWidget without a width is drawn 700 px wide whatever its output's width, and that
    output is 673 px at such a zoom: the live figures' right edge was cut off (a colour bar's
    title and tick labels, a dropdown, an annotation). The saved copy of a live view drops the
    width again (page_figure), so a viewer of the saved notebook sees it at the page's width.
    """
    import plotly.graph_objects as go

    from .plots import OUTPUT_WIDTH

    widget = go.FigureWidget(fig)
    widget.layout.width = width or widget.layout.width or OUTPUT_WIDTH
    if widget.layout.width < OUTPUT_WIDTH:  # one of a pair side by side: the toolbar goes down the
        widget.layout.modebar.orientation = "v"  # right edge, as across the top it covers the title
    return widget


def page_figure(fig):
    """A plain plotly figure of `fig` (a FigureWidget too) at the page's width: live_figure's
    width and toolbar orientation dropped. What the saved copy of a live view shows."""
    import plotly.graph_objects as go

    return go.Figure(fig).update_layout(width=None, modebar_orientation=None)


def refresh_figure(widget, fig) -> None:
    """Copy a freshly built figure into a displayed FigureWidget in place (one message).

    The builders make figures of a fixed structure, so trace i of `fig` updates trace i.

    The update travels as a diff, which a page already showing the widget applies; the
    widget's synced state (`_widget_data`, `_widget_layout`), from which a reloaded page
    draws it again, is only written when the widget is displayed. So it is written here too,
    as plotly's own display does: else a reloaded explorer showed some views as they were
    first drawn.
    """
    with widget.batch_update():
        for old, new in zip(widget.data, fig.data):
            old.update(new.to_plotly_json())
        widget.layout.update(fig.layout.to_plotly_json())
    widget._widget_data = deepcopy(widget._data)
    widget._widget_layout = deepcopy(widget._layout_obj._props)


# A widget view that names no model: JupyterLab hides it (as it hides a closed widget), and
# nbconvert/nbviewer skip it as a view without saved state, falling back to the bundle's HTML.
NO_WIDGET = {"version_major": 2, "version_minor": 0, "model_id": ""}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"


def static_html(figures, caption: str = "", plotlyjs: bool = True) -> str:
    """plotly figures as HTML that draws without a kernel (nbviewer, nbconvert), plus a caption.

    plotly.js comes from its CDN once, ahead of the first figure (the page runs scripts in order);
    plotlyjs=False leaves it out (a later output of the same page).
    """
    import plotly.io as pio

    parts = [pio.to_html(fig, full_html=False, include_plotlyjs="cdn" if i == 0 and plotlyjs else False)
             for i, fig in enumerate(figures)]
    if caption:
        parts.append(f"<pre>{html.escape(caption)}</pre>")
    return "\n".join(parts)


def saved_copies(figures, caption: str = "") -> list[dict]:
    """The saved copy of a live view: one MIME bundle per figure, to display after the widget.

    Each bundle holds the widget view of no model (hidden where the live widget runs), plotly's
    JSON as plotly's own `plotly_mimetype` renderer sends it (JupyterLab, untrusted and offline),
    the figure as `text/html` (nbviewer, nbconvert; plotly.js from its CDN in the first only) and
    `text/plain`: `caption` if given (also shown under the last figure's HTML), else the
    figure's title. See the module docstring for which viewer draws which.
    figures: plotly figures or FigureWidgets, as they are now; a FigureWidget's copy drops the
    width it has live (live_figure) and takes the page's.
    """
    import plotly.graph_objects as go
    import plotly.io as pio

    mimetype = pio.renderers["plotly_mimetype"]
    copies = []
    for i, fig in enumerate(figures):
        if isinstance(fig, go.FigureWidget):
            fig = page_figure(fig)
        last = i == len(figures) - 1
        copies.append({WIDGET_VIEW: NO_WIDGET, **mimetype.to_mimebundle(fig.to_dict()),
                       "text/html": static_html([fig], caption if last else "", plotlyjs=i == 0),
                       "text/plain": caption or fig.layout.title.text or "a plotly figure"})
    return copies


class LiveView:
    """An ipywidgets view that leaves its figures in a notebook saved without widget state.

    Displayed, it is one output holding the widget view (drawn live by JupyterLab and Notebook 7)
    and `text` as `text/plain` (what a saved notebook shows in its place), then its saved copy:
    one output per figure of `figures` as they are at display time (`saved_copies`), hidden
    while the widget runs, drawn by JupyterLab, nbviewer and nbconvert in a saved notebook.
    `text` is wrapped at 80 columns (text.wrap): where no widget draws it is shown as printed
    text, which at 150% zoom breaks mid-word past that.
    figures: plotly figures or FigureWidgets (one, or a list). Used by the explorer of
    notebooks/06_inside_gam.ipynb and the sequence slider of 07_beyond_the_paper.ipynb.
    """

    def __init__(self, widget, figures, text: str):
        self.widget, self.text = widget, wrap(text)
        self.figures = list(figures) if isinstance(figures, (list, tuple)) else [figures]
        replace_previous(self)  # the same cell run again: the previous view's widgets are closed

    def close(self) -> None:
        """Close the widget (and the widgets inside it) and drop the figures."""
        close_widgets(self.widget)
        self.figures = []

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """The live output: no HTML, which an untrusted JupyterLab would show as a blank box."""
        return {**self.widget._repr_mimebundle_(), "text/plain": self.text}

    def saved_copies(self) -> list[dict]:
        """The outputs displayed after the widget: its figures as they are now (`saved_copies`)."""
        return saved_copies(self.figures)

    def _ipython_display_(self):
        from IPython.display import display
        display(self._repr_mimebundle_(), raw=True)
        for bundle in self.saved_copies():
            display(bundle, raw=True)
