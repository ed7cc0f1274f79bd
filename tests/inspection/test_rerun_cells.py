"""Re-running a notebook cell that builds a live view frees what the previous run held
(gamlab.inspection.rerun.replace_previous), for every live view in the package.

The cells run in a real IPython shell (InteractiveShell.run_cell), as a notebook runs them;
ipywidgets counts its open widgets (Widget.widgets), and a weak reference says whether the
previous view, with its model and tensors, is still reachable.
"""

import gc
import warnings
import weakref

import pytest
import torch

import gamlab
from gamlab.inspection import rerun, widgets

ipywidgets = pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget", reason="plotly's FigureWidget needs anywidget")
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402


class CharTokenizer:
    def encode(self, text):
        return list(text.encode())

    def decode(self, ids):
        return bytes(ids).decode(errors="replace")


SETUP = """
import ipywidgets as W
from gamlab.inspection.widgets import LiveLoss, LiveView, explore
"""

# Every live view of gamlab (the explorer, LiveLoss, LiveView as lesson 07 uses it), each as the
# cell a lesson has, ending as a lesson's cell does. `view` names the object the cell makes.
CELLS = {
    "explorer": "ex = explore(model, tok, ['the cat sat', 'a dog ran'], mode='widget'); display(ex); view = ex",
    "live_loss": "live = LiveLoss(['gam', 'mamba'], mode='widget'); display(live); view = live",
    "live_view": ("seed = W.IntSlider(value=0, min=0, max=5); out = W.Output()\n"
                  "seed.observe(lambda change: None, names='value')\n"
                  "view = LiveView(W.VBox([seed, out]), [], 'a sequence'); display(view)"),
}


@pytest.fixture
def shell(monkeypatch):
    monkeypatch.delenv("GAMLAB_WIDGETS", raising=False)
    shell = InteractiveShell.instance()
    torch.manual_seed(0)
    shell.user_ns.update(model=gamlab.build_model("gam", gamlab.ModelConfig.preset("tiny", vocab_size=256)),
                         tok=CharTokenizer())
    assert shell.run_cell(SETUP).success
    yield shell
    InteractiveShell.clear_instance()
    rerun._LIVE.clear()


def _open_widgets() -> int:
    return len(_open_ids())


def _run(shell, cell):
    result = shell.run_cell(cell, store_history=True)  # a new execution count, as a re-run has
    assert result.success, result.error_in_exec or result.error_before_exec
    return shell.user_ns["view"]


@pytest.mark.parametrize("name", list(CELLS))
def test_rerunning_a_view_cell_keeps_memory_flat(shell, name):
    first = _run(shell, CELLS[name])
    first_ref = weakref.ref(first)
    del first
    after_one = _open_widgets()
    for _ in range(8):
        _run(shell, CELLS[name])
    assert _open_widgets() == after_one  # the widgets of every earlier run were closed
    shell.user_ns.pop("_", None)
    assert first_ref() is None  # and the first view, with its model and tensors, was freed


def test_a_cell_that_makes_several_views_keeps_them_all_until_it_runs_again(shell):
    cell = "views = [LiveLoss(['gam'], mode='widget') for _ in range(3)]; view = views"
    first = _run(shell, cell)
    assert all(v.figure.comm is not None for v in first)  # made in one run: all stay open
    _run(shell, cell)
    assert all(v.figure.comm is None for v in first)  # the next run closed them


def test_views_in_two_cells_do_not_close_each_other(shell):
    a = _run(shell, CELLS["live_loss"])
    b = _run(shell, CELLS["live_loss"].replace("live =", "other =").replace("view = live", "view = other"))
    assert a.figure.comm is not None and b.figure.comm is not None


def test_close_lets_go_of_the_model_and_the_widgets(shell):
    before = set(_open_ids())
    ex = _run(shell, CELLS["explorer"])
    assert len(set(_open_ids()) - before) > 20  # controls, figures, their layouts and styles
    ex.close()
    assert set(_open_ids()) == before  # every widget it made is closed
    assert ex.model is None and ex.internals is None and ex.corpus == [] and ex.figures == {}
    live = widgets.LiveLoss(["gam"], mode="widget")
    live.close()
    assert live.figure.comm is None and set(_open_ids()) == before


def _open_ids():
    gc.collect()
    with warnings.catch_warnings():  # Widget.widgets: ipywidgets 8 deprecates the name, not the registry
        warnings.simplefilter("ignore", DeprecationWarning)
        return list(ipywidgets.Widget.widgets)


def test_an_edited_cell_still_closes_its_previous_view(shell):
    """In a kernel the front end names the cell (cellId): an edit in between is still a re-run."""
    class Kernel:
        def get_parent(self):
            return {"metadata": {"cellId": "cell-7"}}
    shell.kernel = Kernel()
    try:
        first = _run(shell, "view = LiveLoss(['gam'], mode='widget')")
        _run(shell, "view = LiveLoss(['gam', 'mamba'], mode='widget')  # edited")
        assert first.figure.comm is None
    finally:
        del shell.kernel
