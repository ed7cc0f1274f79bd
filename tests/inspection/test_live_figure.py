"""LiveLoss's static path as a front end sees it: one figure, then updates of that same output (issue 16).

A real kernel runs the code; the tests read the iopub messages it sends (what Colab, Jupyter or
VS Code receive), not only the Python figure object. plotly's own display path drops IPython's
display id, so an update there arrives as one more display_data: a new copy of the chart.
"""

import os

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from gamlab.inspection import widgets

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETUP = """
import os
os.environ["GAMLAB_WIDGETS"] = "static"
from gamlab.inspection.widgets import LiveLoss
history = [{"step": 10 * (i + 1), "train_loss": 3.0 - i / 10, "val_loss": 2.9 - i / 10} for i in range(3)]
"""
SHOW = "live = LiveLoss(['gam', 'mamba'], unigram=3.2)\ndisplay(live)"
TRAIN = "for i in range(3):\n    live.update('gam', history[: i + 1])\nlive.update('mamba', history[:1])"


@pytest.fixture(scope="module")
def kernel():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=ROOT)
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def messages(kc, code) -> list[dict]:
    sent = []
    reply = kc.execute_interactive(code, output_hook=sent.append, timeout=120)
    assert reply["content"]["status"] == "ok", reply["content"]
    return [m for m in sent if m["msg_type"] in ("display_data", "update_display_data", "execute_result")]


def figure_messages(msgs):
    """The messages that carry LiveLoss's output (its text line names the chart)."""
    return [m for m in msgs if m["content"]["data"].get("text/plain", "").startswith("Loss during training")]


@pytest.mark.parametrize("renderer", [None, "colab", "notebook"])
def test_static_path_sends_one_figure_then_updates_it(kernel, renderer):
    messages(kernel, SETUP + (f"import plotly.io as pio; pio.renderers.default = {renderer!r}" if renderer else ""))
    shown = messages(kernel, SHOW)
    trained = messages(kernel, TRAIN)

    first = figure_messages(shown)
    assert [m["msg_type"] for m in first] == ["display_data"]
    display_id = first[0]["content"]["transient"]["display_id"]
    data = first[0]["content"]["data"]
    assert "application/vnd.plotly.v1+json" in data or "plotly" in data.get("text/html", "")

    # no new output, ever; each update passes through plain text, so that JupyterLab gives the
    # figure a new renderer (plotly's draws once and ignores later data: the chart stayed empty)
    assert [m["msg_type"] for m in trained] == ["update_display_data"] * 8
    assert all(m["content"]["transient"]["display_id"] == display_id for m in trained)
    assert [set(m["content"]["data"]) for m in trained[::2]] == [{"text/plain"}] * 4
    last = trained[-1]["content"]["data"]
    assert last["text/plain"] == ("Loss during training:\n  gam: validation 2.700, training 2.800 at step 30\n"
                                  "  mamba: validation 2.900, training 3.000 at step 10")
    assert set(last) == set(data)  # the same renderer's bundle each time


def test_saved_notebook_keeps_the_last_figure():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (SETUP, SHOW, TRAIN)])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": ROOT}}).execute()
    outputs = nb.cells[1].outputs
    assert len([o for o in outputs if "Loss during training" in o.get("data", {}).get("text/plain", "")]) == 1
    data = next(o for o in outputs if "Loss during training" in o.get("data", {}).get("text/plain", "")).data
    assert "gam: validation 2.700, training 2.800 at step 30" in data["text/plain"]
    figure = data["application/vnd.plotly.v1+json"]  # a Jupyter kernel's default renderer sends plotly's JSON
    assert list(figure["data"][0]["x"]) == [10, 20, 30]  # gam's validation curve, as last drawn
    assert nb.cells[2].outputs == []  # the updates changed the chart's output, they added none


def test_widget_path_output_carries_text(monkeypatch):
    pytest.importorskip("anywidget")
    if not widgets.widgets_supported():
        pytest.skip("ipywidgets 8 and anywidget are not installed")
    published = []
    import IPython.display
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: published.append((obj, kw)))
    live = widgets.LiveLoss(["gam"], mode="widget")
    live._ipython_display_()
    (bundle, kw), = published
    assert kw == {"raw": True}
    assert "application/vnd.jupyter.widget-view+json" in bundle
    # a caption that stays true in a saved copy (it was "gam: no evaluation yet", kept above the
    # chart's last copy); the numbers are LiveLoss.summary's, in the saved copy below
    assert bundle["text/plain"] == "Loss during training of gam: a live chart; below it, its copy as last drawn."
    assert "no evaluation yet" not in bundle["text/plain"]
