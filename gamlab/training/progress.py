"""The training progress bar: tqdm in a terminal, tqdm.notebook in a notebook whose saved copy
shows where training ended (not the "0%" it started at).

    with progress_bar(total=300, initial=0, desc="gam", unit="step") as bar: bar.update(1)

Used by the Trainer (gamlab/training/train.py); its saved text is tested in tests/inspection/test_saved_output.py.
"""

from __future__ import annotations

LABEL_WIDTH = "11em"  # "transformer: 100%" on one line
TEXT_COLUMNS = 80  # a notebook's printed text at 150% zoom on 1280 x 800 (gamlab.inspection.text)


def progress_bar(**kwargs):
    """A tqdm bar: in a terminal, plain tqdm that clears itself when done (leave=False); in a
    notebook, tqdm.notebook's widget, left in place, whose saved text is its final state.

    tqdm.notebook's widget is drawn only by a live kernel's widget manager; a saved notebook
    (nbviewer, nbconvert, a pre-run copy) shows the widget output's text/plain instead, which
    is fixed when the bar is displayed ("0%"). So the notebook bar is displayed with a display
    id and its output is replaced once at close: same widget, final text ("100%", the losses).
    """
    from tqdm.auto import tqdm
    from tqdm.notebook import tqdm_notebook

    if not issubclass(tqdm, tqdm_notebook):  # a terminal (or no ipywidgets)
        return tqdm(leave=False, **kwargs)
    return _saved_bar_class()(leave=True, **kwargs)


def _saved_bar_class():
    """tqdm.notebook's bar, re-displayed at close so the saved output holds its final text."""
    from IPython.display import display
    from tqdm.notebook import tqdm_notebook

    class SavedBar(tqdm_notebook):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, display=False, **kwargs)  # displayed here, with a handle
            if not self.disable:
                # one width for every bar's label ("transformer: 100%"), so that the bars of a
                # race line up, and no label breaks at its hyphen ("gam-" / "fw: 100%")
                # (flex: the label keeps that width; it shrank to 83 px beside a long meter)
                self.container.children[0].layout.flex = f"0 0 {LABEL_WIDTH}"
            self._handle = None if self.disable else display(self.container, display_id=True)

        def close(self):
            super().close()
            handle, self._handle = getattr(self, "_handle", None), None
            if handle is not None:  # the same widget again: its text/plain is now the last meter
                self._saving = True
                handle.update(self.container)

        @property
        def format_dict(self):
            """tqdm's; when the closed bar is displayed for its saved copy, in at most 80 columns (a
            narrower bar): at 150% zoom a longer line breaks, mid-number ("val=3.5" / "35]"). The
            widget's text/plain is its meter from this dict, in ipywidgets 7 (Colab) and 8."""
            d = super().format_dict
            return {**d, "ncols": TEXT_COLUMNS} if getattr(self, "_saving", False) else d

    return SavedBar
