"""gamlab.inspection.widgets: the path choice, and the widget callbacks driven by setting `.value`."""

import sys

import numpy as np
import pytest
import torch

import gamlab
from gamlab.inspection import plots, views, widgets
from gamlab.inspection.widgets import StaticExplorer, WidgetExplorer, explore, pick_mode
from gamlab.training.tokenizer import encode_idx, token_texts


class CharTokenizer:
    """Bytes as tokens: enough for a tiny model with vocab 256."""

    def encode(self, text):
        return list(text.encode())

    def decode(self, ids):
        return bytes(ids).decode(errors="replace")


TEXTS = ["the cat sat on the mat", "a dog ran home"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return gamlab.build_model("gam", gamlab.ModelConfig.preset("tiny"))


@pytest.fixture(autouse=True)
def no_forcing(monkeypatch):
    monkeypatch.delenv("GAMLAB_WIDGETS", raising=False)


def test_pick_mode(monkeypatch):
    assert pick_mode("static") == "static"
    assert pick_mode("auto") == ("widget" if widgets.widgets_supported() else "static")
    monkeypatch.setitem(sys.modules, "google.colab", object())  # Colab: never FigureWidget
    assert pick_mode("auto") == "static"
    monkeypatch.delitem(sys.modules, "google.colab")
    monkeypatch.setenv("GAMLAB_WIDGETS", "static")
    assert pick_mode("auto") == "static" and pick_mode("widget") == "static"  # the variable wins
    monkeypatch.setenv("GAMLAB_WIDGETS", "sometimes")
    with pytest.raises(gamlab.GamlabError, match="GAMLAB_WIDGETS"):
        pick_mode()
    monkeypatch.delenv("GAMLAB_WIDGETS")
    with pytest.raises(gamlab.GamlabError, match="mode"):
        pick_mode("fancy")


def test_old_ipywidgets_means_static(monkeypatch):
    import ipywidgets
    monkeypatch.setattr(ipywidgets, "__version__", "7.7.1")  # what Colab ships
    assert not widgets.widgets_supported() and pick_mode("auto") == "static"
    with pytest.raises(gamlab.GamlabError, match="ipywidgets>=8"):
        pick_mode("widget")


def test_static_explorer_builds_every_view(model):
    e = explore(model, CharTokenizer(), TEXTS, mode="static")
    assert isinstance(e, StaticExplorer)
    assert {"gates", "channels", "top_slots", "retrieval", "contributions", "slot_tokens"} <= set(e.figures)
    assert set(e.figures) == {view.name for view in views.VIEWS}  # gam has every path: a new view shows too
    T = len(TEXTS[0])
    assert len(e.figures["retrieval"].layout.sliders[0].steps) == 2
    assert np.asarray(e.figures["retrieval"].data[0].z).shape == (T, model.config.n_slots)
    assert len(e.figures["top_slots"].layout.sliders[0].steps) == T


@pytest.fixture
def explorer(model):
    pytest.importorskip("anywidget", reason="plotly's FigureWidget needs anywidget")
    e = explore(model, CharTokenizer(), TEXTS, mode="widget")
    assert isinstance(e, WidgetExplorer)
    return e


def test_layer_slider_updates_the_figures_in_place(explorer):
    fig = explorer.figures["retrieval"]
    z0 = np.asarray(fig.data[0].z)
    explorer.layer.value = 1
    assert explorer.figures["retrieval"] is fig  # the same FigureWidget, updated
    assert "layer 1" in fig.layout.title.text
    np.testing.assert_allclose(np.asarray(fig.data[0].z), explorer.internals.weights[1].numpy(), rtol=1e-6)
    assert not np.allclose(np.asarray(fig.data[0].z), z0)
    assert "layer 1" in explorer.figures["contributions"].layout.title.text


def test_token_dropdown_updates_channels_and_top_slots(explorer):
    explorer.token.value = 4  # "c" of "cat"
    assert "token c" in explorer.figures["channels"].layout.title.text
    slots, w = explorer.internals.top_slots(0, 4, explorer.k)
    assert list(explorer.figures["top_slots"].data[0].x) == [f"slot {int(s)}" for s in slots]


def test_text_box_reruns_the_model_only_on_text_changes(explorer, monkeypatch):
    calls = []
    run = explorer.run
    monkeypatch.setattr(explorer, "run", lambda text: calls.append(text) or run(text))
    explorer.layer.value = 1
    explorer.token.value = 2
    assert calls == []  # slider and dropdown redraw from data in hand
    explorer.text.value = "hello"
    assert calls == ["hello"]
    assert np.asarray(explorer.figures["retrieval"].data[0].z).shape == (5, 64)
    assert [label for label, _ in explorer.token.options] == ["0: h", "1: e", "2: l", "3: l", "4: o"]
    assert explorer.token.value == 0
    explorer.examples.value = TEXTS[1]  # choosing an example fills the text box
    assert explorer.text.value == TEXTS[1] and calls[-1] == TEXTS[1]


def test_a_new_text_draws_each_figure_once(explorer, monkeypatch):
    built = []
    build = explorer._build
    monkeypatch.setattr(explorer, "_build", lambda *a: built.extend(a[3] or ["all"]) or build(*a))
    explorer.token.value = 3
    built.clear()
    explorer.text.value = "a dog"  # the token dropdown resets to 0 on the way: no extra redraw
    assert {"gates", "channels", "top_slots", "retrieval", "contributions"} <= set(built)
    assert sorted(built) == sorted(view.name for view in views.VIEWS if "text" in view.controls)
    assert explorer.token.value == 0 and "token a" in explorer.figures["channels"].layout.title.text


def test_empty_text_shows_a_message_and_keeps_the_figures(explorer):
    z = np.asarray(explorer.figures["retrieval"].data[0].z)
    explorer.text.value = ""
    assert "empty" in explorer.status.value
    np.testing.assert_array_equal(np.asarray(explorer.figures["retrieval"].data[0].z), z)


def test_slot_picker_updates_the_slot_tokens(explorer):
    explorer.slot.value = 9
    fig = explorer.figures["slot_tokens"]
    assert "slot 9" in fig.layout.title.text
    labels, w = explorer.slot_tokens(0, 9)
    np.testing.assert_allclose(fig.data[0].x, w.numpy(), rtol=1e-6)


def update_view():
    """A view the explorer does not have: the size of each block's whole update, per token."""
    import plotly.graph_objects as go

    def bar(internals, layer):
        return go.Figure(go.Bar(y=internals.update_norm[layer].numpy()), layout=dict(title=f"update, layer {layer}"))
    return views.View("update", None, ("text", "layer"), live=lambda e, layer, token, slot: bar(e.internals, layer),
                      static=lambda e: bar(e.internals, e.n_layer - 1))


def test_a_new_view_is_one_entry_in_the_list(model, monkeypatch):
    """Both explorers, their layout and their callbacks follow gamlab.inspection.views.VIEWS: nothing else to edit."""
    monkeypatch.setattr(views, "VIEWS", [*views.VIEWS, update_view()])
    static = explore(model, CharTokenizer(), TEXTS, mode="static")
    assert list(static.figures)[-1] == "update"
    np.testing.assert_allclose(static.figures["update"].data[0].y, static.internals.update_norm[-1].numpy(), rtol=1e-6)
    pytest.importorskip("anywidget", reason="plotly's FigureWidget needs anywidget")
    live = explore(model, CharTokenizer(), TEXTS, mode="widget")
    fig = live.figures["update"]
    assert live.box.children[-1] is fig  # shown, below the others
    live.layer.value = 1  # a control it depends on redraws it in place
    assert live.figures["update"] is fig and fig.layout.title.text == "update, layer 1"
    np.testing.assert_allclose(fig.data[0].y, live.internals.update_norm[1].numpy(), rtol=1e-6)
    live.text.value = "hello"
    assert len(fig.data[0].y) == 5


def test_views_without_their_needs_or_controls_are_left_out(model, monkeypatch):
    """A view names what it needs and which controls it follows; a control no view uses is not shown."""
    pytest.importorskip("anywidget", reason="plotly's FigureWidget needs anywidget")
    gates_only = [v for v in views.VIEWS if v.name in ("gates", "contributions")]
    monkeypatch.setattr(views, "VIEWS", gates_only)
    e = explore(model, CharTokenizer(), TEXTS, mode="widget")
    assert list(e.figures) == ["gates", "contributions"]
    assert list(e.box.children[3].children) == [e.layer]  # no token dropdown, no slot picker
    with pytest.raises(gamlab.GamlabError, match="choose from text, layer, token, slot"):
        views.View("odd", None, ("page",), live=None, static=None)
    with pytest.raises(gamlab.GamlabError, match="needs 'memory'"):
        views.View("odd", "memory", ("text",), live=None, static=None)


def test_token_helpers_serve_any_tokenizer():
    """gamlab.training.tokenizer's helpers: gamlab's tokenizers return lists, Hugging Face's an Encoding with .ids."""
    class Encoding:
        ids = [104, 105]

    class HFStyle(CharTokenizer):
        def encode(self, text):
            return Encoding()
    assert encode_idx(HFStyle(), "hi") == encode_idx(CharTokenizer(), "hi") == [104, 105]
    assert token_texts(CharTokenizer(), torch.tensor([104, 32])) == ["h", " "]


HISTORY = [{"step": 10, "train_loss": 3.0, "val_loss": 2.9}, {"step": 20, "train_loss": 2.5, "val_loss": 2.4}]


def test_live_loss_static_updates_its_figure():
    live = widgets.LiveLoss(["gam", "mamba"], unigram=3.0, mode="static")
    assert all(len(t.x) == 0 for t in live.figure.data)
    live.update("gam", HISTORY)
    assert list(live.figure.data[0].x) == [10, 20] and list(live.figure.data[0].y) == [2.9, 2.4]
    assert len(live.figure.data[2].x) == 0  # mamba has not reported yet
    with pytest.raises(gamlab.GamlabError, match="transformer"):
        live.update("transformer", HISTORY)


def test_live_loss_widget_updates_in_place():
    pytest.importorskip("anywidget", reason="plotly's FigureWidget needs anywidget")
    live = widgets.LiveLoss(["gam", "mamba"], mode="widget")
    fig = live.figure
    live.update("mamba", HISTORY[:1])
    live.update("mamba", HISTORY)
    assert live.figure is fig and list(fig.data[2].x) == [10, 20] and list(fig.data[3].y) == [3.0, 2.5]


def test_a_refreshed_figure_widget_keeps_its_synced_state_for_a_reloaded_page():
    """A reloaded page draws a FigureWidget from its synced state (_widget_data, _widget_layout),
    not from the diffs an open page applied: refresh_figure writes that state too, so every view
    of the explorer (and LiveLoss, which refreshes the same way) comes back as last drawn."""
    import plotly.graph_objects as go

    from gamlab.inspection.live_view import refresh_figure

    widget = go.FigureWidget(go.Figure(go.Bar(y=[1, 1])))
    refresh_figure(widget, go.Figure(go.Bar(y=[5, 7]), layout=dict(title="step 2")))
    assert list(widget.data[0].y) == [5, 7]
    assert list(widget._widget_data[0]["y"]) == [5, 7]  # what a reloaded page draws
    assert widget._widget_layout["title"]["text"] == "step 2"


def test_live_figures_are_as_wide_as_the_output_and_their_saved_copies_as_the_page():
    """A FigureWidget without a width is drawn 700 px wide, past the 673 px output at 150% zoom
    on 1280 x 800 (its colour bar's title and a dropdown were cut): every live figure gets a
    width (live_figure), which its saved copy drops again."""
    pytest.importorskip("anywidget", reason="plotly's FigureWidget needs anywidget")
    import plotly.graph_objects as go

    from gamlab.inspection.live_view import PLOTLY, live_figure, saved_copies

    fig = go.Figure(go.Bar(y=[1, 2]))
    assert live_figure(fig).layout.width == plots.OUTPUT_WIDTH <= 673 and fig.layout.width is None
    assert live_figure(fig, 330).layout.width == 330
    live = widgets.LiveLoss(["gam", "mamba"], mode="widget")
    live.update("gam", HISTORY)
    assert live.figure.layout.width == plots.OUTPUT_WIDTH  # kept through a refresh
    (copy,) = saved_copies([live.figure])
    assert "width" not in copy[PLOTLY]["layout"] and copy[PLOTLY]["data"][0]["y"] == [2.9, 2.4]
