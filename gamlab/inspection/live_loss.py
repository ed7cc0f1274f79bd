"""The live loss chart of notebooks/05_showdown.ipynb: curves that redraw at each evaluation.

    live = LiveLoss(["gam", "transformer"], unigram=data.unigram_loss())
    display(live)
    Trainer(..., on_eval=lambda history: live.update("gam", history)).fit()

The figure is gamlab.inspection.plots.loss_curves; the widget or static path and the copy a saved
notebook shows are gamlab/inspection/live_view.py's.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import GamlabError
from . import plots
from .live_view import live_figure, pick_mode, refresh_figure, saved_copies
from .rerun import close_widgets, replace_previous
from .text import wrap


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
            self.figure = live_figure(self.figure)
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

        One output (live_view.saved_copies): JupyterLab hides it while the live chart above it
        runs and draws its plotly JSON in a saved notebook; nbconvert/nbviewer draw its HTML.
        Updating it at each evaluation leaves the live FigureWidget alone (no redraw, no flicker).
        """
        (copy,) = saved_copies([self.figure], self.summary())
        return copy

    def caption(self) -> str:
        """The live chart's text, for viewers that draw no widget: true whenever it is read (the
        output is not updated, so a saved notebook would otherwise keep its first line,
        "no evaluation yet", above the chart's last copy). At most 80 characters a line."""
        names = list(self.histories)
        models = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        return wrap(f"{self.title} of {models}: a live chart; below it, its copy as last drawn.")

    def _ipython_display_(self):
        from IPython import get_ipython
        from IPython.display import DisplayHandle, display
        if self.mode == "widget":
            display({**self.figure._repr_mimebundle_(), "text/plain": self.caption()}, raw=True)
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
                # JupyterLab hands an updated output to the renderer that drew it, and plotly's
                # draws only once: through plain text first, the figure gets a renderer of its own
                self._handle.update({"text/plain": self.summary()}, raw=True)
                self._handle.update(self._bundle(), raw=True)
