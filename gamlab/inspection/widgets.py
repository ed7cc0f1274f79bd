"""Explorers for notebooks/06_inside_gam.ipynb: look inside a trained GAM, token by token.

Two paths to the same views (gamlab.inspection.views describes each view once, gamlab.inspection.plots builds every
figure, gamlab.inspection.probes computes every number, gamlab.training.tokenizer gives the token texts; this module
only wires them together):

- "widget": ipywidgets controls (a text box, example texts, a layer slider, a token dropdown,
  a slot picker) wired with `observe` to plotly FigureWidgets that are updated in place.
  The model runs again only when the text changes (on Enter / leaving the box), and the
  corpus statistics of a layer are computed once and cached; a slider tick redraws from data
  already in hand.
- "static": plain plotly figures with their own sliders and dropdowns, precomputed for one
  text. They render wherever plotly renders, e.g. Colab, which ships ipywidgets 7 and does
  not display FigureWidget.

A saved notebook keeps no widget state (lessons are committed and pre-run without it), so a
widget alone would leave only a line of text there. Every widget-path view therefore also
carries a static copy of its figures as `text/html` (plotly.js from its CDN): JupyterLab draws
the live widget (its widget renderer outranks HTML), while nbviewer and nbconvert, which skip
a widget view whose state was not saved, draw the copy (`LiveView`).

`explore(..., mode="auto")` takes the widget path when ipywidgets >= 8 and anywidget (which
plotly 6+ FigureWidget needs) import and the kernel is not Colab's; the environment variable
GAMLAB_WIDGETS=static|widget forces a path.

Re-running a cell: ipywidgets keeps every widget alive until it is closed, and a widget's
observers keep the view (its model, its tensors) alive with it, so each re-run of a cell that
builds a view would keep another copy. Each live view (WidgetExplorer, LiveLoss, LiveView)
therefore closes, when it is made, the views the previous run of the same cell made there
(`replace_previous`), and has `close()` for a user to call.

Used in notebooks/05_showdown.ipynb (LiveLoss), 06_inside_gam.ipynb (explore) and
07_beyond_the_paper.ipynb (pick_mode, LiveView).
"""

from __future__ import annotations

import html
import os
import re
import sys
import weakref
from collections.abc import Iterable, Sequence

import torch

from ..errors import GamlabError
from ..training.tokenizer import encode_idx, token_texts
from . import plots, views
from .probes import GAMInternals, SlotTable, can_probe, gam_blocks, probe, probeable_models, slot_table
from .views import View

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


# ---------------------------------------------------------------- re-run cells

_LIVE: dict[tuple, tuple[int, list]] = {}  # (view class, cell, line) -> (execution count, weakrefs to its views)


def close_widgets(widget) -> None:
    """Close an ipywidgets widget and every widget it holds (Box children, FigureWidgets, each
    one's Layout and Style), with their observers: ipywidgets keeps each widget alive until it
    is closed."""
    from ipywidgets import Widget

    stack, seen = [widget], set()
    while stack:
        w = stack.pop()
        if not isinstance(w, Widget) or id(w) in seen:
            continue
        seen.add(id(w))
        for value in w.trait_values().values():  # children, layout, style: widgets inside this one
            stack.extend(value if isinstance(value, (list, tuple)) else [value])
        w.unobserve_all()
        w.close()


def _creation_site() -> tuple | None:
    """(cell, line) of the notebook code that is making a view, or None outside IPython.

    The cell is the front end's cell id where the kernel gets one (JupyterLab, Notebook 7),
    else the file name IPython compiled the cell under, without its execution number.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None:
        return None
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("gamlab"):
        frame = frame.f_back
    if frame is None:
        return None
    try:
        cell = shell.kernel.get_parent()["metadata"].get("cellId")
    except Exception:  # no kernel (a terminal IPython), or one that keeps no parent message
        cell = None
    cell = cell or re.sub(r"<ipython-input-\d+-", "<ipython-input-", frame.f_code.co_filename)
    return cell, frame.f_lineno, shell.execution_count


def replace_previous(view) -> None:
    """Close the views of `view`'s kind that an earlier run of the same cell made at the same line.

    Views made at one line in one run (a loop) are all kept; the next run closes them all.
    Outside IPython nothing is tracked: a script does not re-run its cells.
    """
    site = _creation_site()
    if site is None:
        return
    cell, line, count = site
    key = (type(view).__name__, cell, line)
    previous_count, refs = _LIVE.get(key, (count, []))
    if previous_count != count:
        for ref in refs:
            old = ref()
            if old is not None and old is not view:
                old.close()
        refs = []
    _LIVE[key] = (count, [r for r in refs if r() is not None] + [weakref.ref(view)])


class _Inside:
    """What both paths share: the model, the tokenizer, probing a text, corpus slot tables."""

    def __init__(self, model, tokenizer, texts: Sequence[str], corpus: Iterable[torch.Tensor] | None,
                 k: int, top: int):
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            raise GamlabError("give at least one example text to explore.")
        for name, value in (("k", k), ("top", top)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise GamlabError(f"{name} must be a whole number >= 1, got {value!r}.")
        if not can_probe(model):  # capability, not the name: the blocks say what they record
            name = getattr(model, "name", "") or type(model).__name__
            raise GamlabError(f"model {name!r} has no GAM blocks the explorer can read (it draws the gates and "
                              f"memory slots of GAM and its ablations); explore one of {', '.join(probeable_models())}.")
        self.model, self.tokenizer, self.texts, self.k, self.top = model, tokenizer, texts, k, top
        self.n_layer = len(gam_blocks(model))
        self.n_slots = model.config.n_slots
        # Corpus for "which tokens read this slot": the given batches, else the example texts.
        self.corpus = list(corpus) if corpus is not None else [torch.tensor(self.ids(t)) for t in self.texts]
        self._tables: dict[int, SlotTable] = {}

    def close(self) -> None:
        """Let go of the model, the corpus and every tensor (the figures and widgets too)."""
        self.model = self.tokenizer = self.internals = None
        self.corpus, self._tables, self.figures = [], {}, {}

    def views_for(self, internals: GAMInternals) -> list[View]:
        """The views this model has, in gamlab.inspection.views.VIEWS's order (an ablation without a path
        simply has fewer figures)."""
        return [view for view in views.VIEWS if view.shown_for(internals)]

    def ids(self, text: str) -> list[int]:
        ids = encode_idx(self.tokenizer, text)[: self.model.config.block_size]
        if not ids:
            raise GamlabError("the text is empty after tokenizing; type a few words.")
        return ids

    def run(self, text: str) -> tuple[GAMInternals, list[str]]:
        ids = self.ids(text)
        return probe(self.model, torch.tensor(ids)), token_texts(self.tokenizer, ids)

    def table(self, layer: int) -> SlotTable:
        if layer not in self._tables:  # one pass over the corpus per layer, then cached
            self._tables[layer] = slot_table(self.model, self.corpus, layer)
        return self._tables[layer]

    def slot_tokens(self, layer: int, slot: int) -> tuple[list[str], torch.Tensor]:
        """The corpus tokens that read `slot` of `layer` most: (token texts (top,), mean weights (top,))."""
        ids, weights = self.table(layer).top_tokens(slot, self.top)
        return token_texts(self.tokenizer, ids.tolist()), weights


def refresh_figure(widget, fig) -> None:
    """Copy a freshly built figure into a displayed FigureWidget in place (one message).

    The builders make figures of a fixed structure, so trace i of `fig` updates trace i.
    """
    with widget.batch_update():
        for old, new in zip(widget.data, fig.data):
            old.update(new.to_plotly_json())
        widget.layout.update(fig.layout.to_plotly_json())


# A widget view that names no model: JupyterLab hides it (as it hides a closed widget), and
# nbconvert/nbviewer skip it as a view without saved state, falling back to the bundle's HTML.
NO_WIDGET = {"version_major": 2, "version_minor": 0, "model_id": ""}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def static_html(figures, caption: str = "") -> str:
    """plotly figures as HTML that draws without a kernel (nbviewer, nbconvert), plus a caption.

    plotly.js comes from its CDN once, ahead of the first figure (the page runs scripts in order).
    """
    import plotly.io as pio

    parts = [pio.to_html(fig, full_html=False, include_plotlyjs="cdn" if i == 0 else False)
             for i, fig in enumerate(figures)]
    if caption:
        parts.append(f"<pre>{html.escape(caption)}</pre>")
    return "\n".join(parts)


class LiveView:
    """An ipywidgets view that leaves its figures in a notebook saved without widget state.

    Displayed, it is one output whose MIME bundle holds the widget view (drawn live by JupyterLab
    and Notebook 7), `text/html` with `figures` as they are at display time (drawn by nbviewer,
    nbconvert and any viewer without the widget's state) and `text` as `text/plain`.
    figures: plotly figures or FigureWidgets (one, or a list). Used by the explorer of
    notebooks/06_inside_gam.ipynb and the sequence slider of 07_beyond_the_paper.ipynb.
    """

    def __init__(self, widget, figures, text: str):
        self.widget, self.text = widget, text
        self.figures = list(figures) if isinstance(figures, (list, tuple)) else [figures]
        replace_previous(self)  # the same cell run again: the previous view's widgets are closed

    def close(self) -> None:
        """Close the widget (and the widgets inside it) and drop the figures."""
        close_widgets(self.widget)
        self.figures = []

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {**self.widget._repr_mimebundle_(), "text/html": static_html(self.figures, self.text),
                "text/plain": self.text}


def _rows(shown: list[View]) -> list[list[View]]:
    """The widget layout: views in order, one after another with the same `row` side by side."""
    rows: list[list[View]] = []
    for view in shown:
        if rows and view.row is not None and rows[-1][-1].row == view.row:
            rows[-1].append(view)
        else:
            rows.append([view])
    return rows


class WidgetExplorer(_Inside):
    """ipywidgets controls + FigureWidgets. `.box` is the widget to display."""

    mode = "widget"

    def __init__(self, model, tokenizer, texts, corpus=None, k: int = 5, top: int = 10):
        super().__init__(model, tokenizer, texts, corpus, k, top)
        import ipywidgets as W
        import plotly.graph_objects as go

        self.internals, self.tokens = self.run(self.texts[0])
        self.shown = self.views_for(self.internals)
        used = {control for view in self.shown for control in view.controls}  # controls without a view stay out
        self.examples = W.Dropdown(options=self.texts, value=self.texts[0], description="example",
                                   layout=W.Layout(width="95%"))
        self.text = W.Text(value=self.texts[0], continuous_update=False, description="text",
                           placeholder="type a text, then press Enter", layout=W.Layout(width="95%"))
        self.layer = W.IntSlider(value=0, min=0, max=self.n_layer - 1, description="layer",
                                 continuous_update=False)
        self.token = W.Dropdown(options=self._token_options(), value=0, description="token")
        self.slot = W.BoundedIntText(value=self.table(0).busiest(1)[0] if "slot" in used else 0, min=0,
                                     max=self.n_slots - 1, description="slot")
        self.status = W.HTML()
        self._new_text = False  # set while _on_text resets the token dropdown

        self.figures = {name: go.FigureWidget(fig) for name, fig in self._build(0, 0, self.slot.value).items()}
        rows = [[self.figures[view.name] for view in row] for row in _rows(self.shown)]
        for row in rows:
            for fig in row if len(row) > 1 else ():  # side by side; builders leave width unset, so it stays
                fig.layout.width = 900 // len(row)
        self._say()

        self.examples.observe(lambda c: setattr(self.text, "value", c["new"]), names="value")
        self.text.observe(self._on_text, names="value")
        self.layer.observe(self._on_layer, names="value")
        self.token.observe(self._on_token, names="value")
        self.slot.observe(self._on_slot, names="value")

        # the text box has its own line above; the other controls the shown views use share one
        controls = [getattr(self, control) for control in views.CONTROLS[1:] if control in used]
        figures = [W.HBox(row) if len(row) > 1 else row[0] for row in rows]
        self.box = W.VBox([
            W.HTML("<b>Inside GAM</b>: choose or type a text; the figures follow the controls."),
            self.examples, self.text, W.HBox(controls), self.status, *figures,
        ])
        replace_previous(self)  # the same cell run again: the previous explorer is closed

    def close(self) -> None:
        """Close every control and figure widget and let go of the model and its tensors."""
        close_widgets(getattr(self, "box", None))
        super().close()

    def _ipython_display_(self):
        from IPython.display import display
        display(self.live_view())

    def live_view(self) -> LiveView:
        """The controls and figures as displayed, with a static copy of the figures as they are now."""
        token = self.tokens[self.token.value] if self.token.value is not None else ""
        text = (f"Inside GAM: {len(self.figures)} views of {self.text.value[:60]!r} at layer {self.layer.value}, "
                f"token {token!r}; run the notebook for the live controls.")
        import plotly.graph_objects as go

        # The saved copy stacks the figures, so each takes the page's width (the live pair sits side by side).
        figures = [go.Figure(fig).update_layout(width=None) for fig in self.figures.values()]
        return LiveView(self.box, figures, text)

    def _token_options(self) -> list[tuple[str, int]]:
        return [(f"{i}: {label}", i) for i, label in enumerate(plots.token_labels(self.tokens))]

    def _build(self, layer: int, token: int, slot: int, which: Iterable[str] | None = None) -> dict:
        """Fresh figures for the given control values (the views named in `which`, default all shown)."""
        return {view.name: view.live(self, layer, token, slot) for view in self.shown
                if which is None or view.name in which}

    def _redraw(self, control: str) -> None:
        """Redraw, in place, the views whose figure depends on `control` (View.controls)."""
        which = [view.name for view in self.shown if control in view.controls]
        for name, fig in self._build(self.layer.value, self.token.value, self.slot.value, which).items():
            refresh_figure(self.figures[name], fig)

    def _say(self, error: str = "") -> None:
        tokens = " ".join(plots.token_labels(self.tokens))
        self.status.value = (f"<span style='color:#b00'>{error}</span>" if error else
                             f"{len(self.tokens)} tokens: <code>{tokens[:300]}</code>")

    def _on_text(self, change) -> None:  # heavy: runs the model once
        try:
            self.internals, self.tokens = self.run(change["new"])
        except GamlabError as e:
            self._say(str(e))
            return
        self._say()
        self._new_text = True  # the dropdown's reset must not redraw: the line below redraws everything
        try:
            with self.token.hold_trait_notifications():
                self.token.options = self._token_options()
                self.token.value = 0
        finally:
            self._new_text = False
        self._redraw("text")

    def _on_layer(self, change) -> None:
        self._redraw("layer")

    def _on_token(self, change) -> None:
        if change["new"] is not None and not self._new_text:
            self._redraw("token")

    def _on_slot(self, change) -> None:
        self._redraw("slot")


class StaticExplorer(_Inside):
    """The same views for one text as plain plotly figures with their own sliders/dropdowns."""

    mode = "static"

    def __init__(self, model, tokenizer, texts, corpus=None, k: int = 5, top: int = 10, slot_layer: int | None = None,
                 n_slots_shown: int = 12):
        super().__init__(model, tokenizer, texts, corpus, k, top)
        self.internals, self.tokens = self.run(self.texts[0])
        self.slot_layer = self.n_layer - 1 if slot_layer is None else slot_layer
        if not 0 <= self.slot_layer < self.n_layer:
            raise GamlabError(f"slot_layer {self.slot_layer} does not exist; this model has GAM layers "
                              f"0..{self.n_layer - 1}.")
        self.n_slots_shown = n_slots_shown
        self.shown = self.views_for(self.internals)
        self.figures = {view.name: view.static(self) for view in self.shown}  # only the views this model has

    def _ipython_display_(self):
        from IPython.display import display
        for fig in self.figures.values():
            display(fig)


def explore(model, tokenizer, texts: Sequence[str], corpus: Iterable[torch.Tensor] | None = None,
            mode: str = "auto", k: int = 5, top: int = 10) -> WidgetExplorer | StaticExplorer:
    """Explore a GAM model's gates and memory on `texts` (the first is shown first).

    corpus: batches of token ids, (B, T) each, for "which tokens read this slot" (default:
    the texts themselves). k: slots shown per token; top: tokens shown per slot (both >= 1).
    mode: "auto" | "widget" | "static" (see the module docstring). Display the result; on the
    widget path its output also carries the figures as static HTML for a saved notebook.

    Every GAM variant can be explored; an ablation gets the views it has (gam-sum: no gate
    views; gam-local: no slot views; `.figures` names them). Raises GamlabError for a model
    whose blocks record neither (a Transformer, Mamba, gam-fw; the message lists the models
    that can be explored), a bad mode, no texts, or a text that tokenizes to nothing.

    Used in notebooks/06_inside_gam.ipynb.
    """
    chosen = pick_mode(mode)
    cls = WidgetExplorer if chosen == "widget" else StaticExplorer
    return cls(model, tokenizer, texts, corpus, k=k, top=top)


class LiveLoss:
    """Loss curves that redraw at each evaluation of a training run (notebooks/05_showdown.ipynb).

    Widget path: a FigureWidget updated in place, followed by a second output that JupyterLab
    hides and a saved notebook shows: the static chart as last drawn (see `_saved_copy`).
    Static path (Colab, GAMLAB_WIDGETS=static): one output holding the figure's MIME bundle,
    replaced at each evaluation through its display id. Either way the output carries a line of
    text, so a saved notebook shows the last losses even where no chart renders.
    Pass `update` as the trainer's callback:
    `Trainer(..., on_eval=lambda history: live.update("gam", history))`.
    Raises GamlabError for a model name it was not made for.
    """

    def __init__(self, names: Sequence[str], unigram: float | None = None, title: str = "Loss during training",
                 mode: str = "auto"):
        self.mode = pick_mode(mode)
        self.unigram, self.title = unigram, title
        self.histories: dict[str, list[dict]] = {name: [] for name in names}
        self.figure = self._build()
        if self.mode == "widget":
            import plotly.graph_objects as go
            self.figure = go.FigureWidget(self.figure)
            replace_previous(self)  # the same cell run again: the previous chart's widget is closed
        self._handle = None  # IPython's DisplayHandle once shown (the chart, or its saved copy)

    def close(self) -> None:
        """Close the chart's widget (widget path); the histories stay readable."""
        if self.mode == "widget":
            close_widgets(self.figure)
        self._handle = None

    def _build(self):
        return plots.loss_curves(self.histories, self.unigram, self.title)

    def summary(self) -> str:
        """One line per model with its latest losses: the text a saved notebook keeps."""
        lines = [f"{self.title}:"]
        for name, history in self.histories.items():
            last = history[-1] if history else None
            lines.append(f"  {name}: " + (f"validation {last['val_loss']:.3f}, training {last['train_loss']:.3f} "
                                          f"at step {last['step']}" if last else "no evaluation yet"))
        return "\n".join(lines)

    def _bundle(self) -> dict:
        """The static figure as the MIME bundle plotly's renderer would send, plus the summary text.

        plotly's own display path (fig._ipython_display_ -> pio.show) publishes without the
        display id, so each update would add a new output; sending the bundle ourselves keeps it.
        """
        import plotly.io as pio

        bundle = pio.renderers._build_mime_bundle(self.figure.to_dict())  # what pio.show publishes
        return {**bundle, "text/plain": self.summary()}

    def _saved_copy(self) -> dict:
        """Widget path: the chart as last drawn, for a notebook saved without widget state.

        Its widget view names no model, so JupyterLab hides the output while the live chart
        above it runs, and nbconvert/nbviewer, skipping that view, draw the HTML. Updating it
        at each evaluation leaves the live FigureWidget alone (no redraw, no flicker).
        """
        return {WIDGET_VIEW: NO_WIDGET, "text/html": static_html([self.figure], self.summary()),
                "text/plain": self.summary()}

    def _ipython_display_(self):
        from IPython import get_ipython
        from IPython.display import DisplayHandle, display
        if self.mode == "widget":
            display({**self.figure._repr_mimebundle_(), "text/plain": self.summary()}, raw=True)
            if get_ipython() is not None:  # a kernel, hence a notebook that may be saved
                self._handle = DisplayHandle()
                self._handle.display(self._saved_copy(), raw=True)
        else:
            self._handle = display(self._bundle(), raw=True, display_id=True)

    def update(self, name: str, history: list[dict]) -> None:
        """Show `history` (the trainer's list of evaluation records) as model `name`'s curves."""
        if name not in self.histories:
            raise GamlabError(f"LiveLoss was made for {', '.join(self.histories)}; {name!r} is not one of them.")
        self.histories[name] = list(history)
        fig = self._build()
        if self.mode == "widget":
            refresh_figure(self.figure, fig)
            if self._handle is not None:
                self._handle.update(self._saved_copy(), raw=True)
        else:
            self.figure = fig
            if self._handle is not None:
                self._handle.update(self._bundle(), raw=True)
