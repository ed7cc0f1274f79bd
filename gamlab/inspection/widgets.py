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

`explore(..., mode="auto")` picks the path (gamlab.inspection.live_view.pick_mode); the widget
path's views are followed by a saved copy, one output per figure (live_view.LiveView), and
re-running the cell closes the previous run's explorer (gamlab.inspection.rerun).

The live loss chart of notebooks/05_showdown.ipynb is gamlab/inspection/live_loss.py, and the
views every live path shares are live_view.py's; their names are importable from here too, as
the lessons import them. Used in notebooks/06_inside_gam.ipynb (explore) and
07_beyond_the_paper.ipynb (pick_mode, LiveView).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from ..errors import GamlabError
from ..training.tokenizer import encode_idx, token_texts
from . import plots, views
from .live_loss import LiveLoss
from .live_view import (
    NO_WIDGET,
    PLOTLY,
    WIDGET_VIEW,
    LiveView,
    live_figure,
    page_figure,
    pick_mode,
    refresh_figure,
    saved_copies,
    static_html,
    widgets_supported,
)
from .probes import GAMInternals, SlotTable, can_probe, gam_blocks, probe, probeable_models, slot_table
from .rerun import close_widgets, replace_previous
from .views import View

# The explorers are this module's; the live views' names are importable from here, as the lessons import them.
__all__ = ["StaticExplorer", "WidgetExplorer", "explore", "LiveLoss", "LiveView", "live_figure", "pick_mode",
           "widgets_supported",
           "replace_previous", "close_widgets", "refresh_figure", "static_html", "saved_copies", "NO_WIDGET", "WIDGET_VIEW", "PLOTLY"]


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

        # each row of views within the output's width at 150% zoom on 1280 x 800, a pair side by
        # side; builders leave the width unset, so a redraw keeps it
        built = self._build(0, 0, self.slot.value)
        rows = [[(view.name, plots.OUTPUT_WIDTH // len(row)) for view in row] for row in _rows(self.shown)]
        self.figures = {name: live_figure(built[name], width) for row in rows for name, width in row}
        rows = [[self.figures[name] for name, _ in row] for row in rows]
        self._say()

        self.examples.observe(lambda c: setattr(self.text, "value", c["new"]), names="value")
        self.text.observe(self._on_text, names="value")
        self.layer.observe(self._on_layer, names="value")
        self.token.observe(self._on_token, names="value")
        self.slot.observe(self._on_slot, names="value")

        # the text box has its own line above; the other controls the shown views use share one
        controls = [getattr(self, control) for control in views.CONTROLS[1:] if control in used]
        # a narrower output (a larger zoom, a side panel open) puts the pair one under the other
        figures = [W.HBox(row, layout=W.Layout(flex_flow="row wrap")) if len(row) > 1 else row[0] for row in rows]
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
        text = (f"Inside GAM: {len(self.figures)} views of {self.text.value[:60]!r} at layer "
                f"{self.layer.value}, token {token!r}; run the notebook for the live controls.")
        # The saved copy stacks the figures, so each takes the page's width (the live pair sits side by side).
        return LiveView(self.box, [page_figure(fig) for fig in self.figures.values()], text)

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
    widget path a saved copy of its figures follows it, for a notebook saved without widget state.

    Every GAM variant can be explored; an ablation gets the views it has (gam-sum: no gate
    views; gam-local: no slot views; `.figures` names them). Raises GamlabError for a model
    whose blocks record neither (a Transformer, Mamba, gam-fw; the message lists the models
    that can be explored), a bad mode, no texts, or a text that tokenizes to nothing.

    Used in notebooks/06_inside_gam.ipynb.
    """
    chosen = pick_mode(mode)
    cls = WidgetExplorer if chosen == "widget" else StaticExplorer
    return cls(model, tokenizer, texts, corpus, k=k, top=top)
