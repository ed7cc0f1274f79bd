"""gamlab.inspection.plots, the inside-GAM builders: each one on small inputs, no model and no kernel."""

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from gamlab.inspection import plots
from gamlab.inspection.probes import GAMInternals

L, T, C, S = 2, 4, 6, 5
TOKENS = ["the", " cat", " the", "\n"]


def internals(seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    w = r(L, T, S)
    return GAMInternals(ids=torch.arange(T), logits=r(T, 10), gate_local=r(L, T, C), gate_global=r(L, T, C),
                        weights=w / w.sum(-1, keepdim=True), local_norm=r(L, T), global_norm=r(L, T),
                        update_norm=r(L, T))


def test_token_labels_show_whitespace_and_keep_repeats_apart():
    assert plots.token_labels(TOKENS) == ["the", "␣cat", "␣the", "⏎"]
    fig = plots.contributions(torch.ones(T), torch.zeros(T), ["a", "a", "a", "a"], layer=0)
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2, 3]  # positions, so the 4 "a"s stay 4 bars


def test_gate_heatmap():
    i = internals()
    fig = plots.gate_heatmap(i.gate_local.mean(-1), i.gate_global.mean(-1), TOKENS)
    assert isinstance(fig, go.Figure) and [t.type for t in fig.data] == ["heatmap", "heatmap"]
    np.testing.assert_allclose(fig.data[1].z, i.gate_global.mean(-1).numpy(), rtol=1e-6)
    # a gate's whole range, centred on a half-open gate (stretched to the data, noise looked like structure)
    for t in fig.data:
        assert t.zmid == 0.5 and t.zmin == 0 and t.zmax == 1
    assert fig.data[0].colorbar.title.text
    assert list(fig.layout.xaxis2.ticktext) == plots.token_labels(TOKENS)
    one = plots.gate_heatmap(None, i.gate_global.mean(-1), TOKENS)  # an ablation: one panel
    assert len(one.data) == 1 and "global" in one.layout.annotations[0].text


def test_long_texts_label_every_nth_token_and_keep_a_bounded_height():
    tokens = [f"t{i}" for i in range(200)]
    across = plots.contributions(torch.ones(200), None, tokens, layer=0)  # tokens along x
    ticks = list(across.layout.xaxis.tickvals)
    assert ticks[:3] == [0, 4, 8] and len(ticks) <= plots.MAX_TOKEN_TICKS  # 200 tokens: every 4th
    assert list(across.layout.xaxis.ticktext)[:2] == ["t0", "t4"]
    # tokens up the y axis of a figure one screen high, whatever the text's length: thinner rows,
    # fewer labels (14 px each)
    fig = plots.retrieval_heatmap(torch.full((200, S), 1 / S), tokens, layer=0)
    ticks = list(fig.layout.yaxis.tickvals)
    assert ticks[:3] == [0, 12, 24] and len(ticks) <= plots.MAX_ROW_TICKS  # 200 tokens: every 12th
    assert list(fig.layout.yaxis.ticktext)[:2] == ["t0", "t12"]
    assert fig.layout.height == plots.SCREEN_HEIGHT <= 380
    assert np.asarray(fig.data[0].z).shape == (200, S)  # the data keeps every token
    short = plots.contributions(torch.ones(64), None, tokens[:64], layer=0)
    assert list(short.layout.xaxis.tickvals) == list(range(64))  # up to 64 tokens: all labelled


def test_gate_channels():
    i = internals()
    fig = plots.gate_channels(i.gate_local[1, 2], i.gate_global[1, 2], TOKENS[2], layer=1)
    assert [t.type for t in fig.data] == ["violin", "violin"] and len(fig.data[0].y) == C
    assert "␣the" in fig.layout.title.text and "layer 1" in fig.layout.title.text


def test_top_slots_bar():
    i = internals()
    slots, w = i.top_slots(0, 3, k=3)
    fig = plots.top_slots_bar(slots, w, TOKENS[3], layer=0)
    assert list(fig.data[0].x) == [f"slot {int(s)}" for s in slots]
    assert fig.data[0].y[0] == pytest.approx(float(i.weights[0, 3].max()))


def test_retrieval_heatmap():
    i = internals()
    fig = plots.retrieval_heatmap(i.weights[1], TOKENS, layer=1)
    assert np.asarray(fig.data[0].z).shape == (T, S)
    assert "layer 1" in fig.layout.title.text and list(fig.layout.yaxis.ticktext)[1] == "␣cat"


def test_slot_tokens_bar():
    fig = plots.slot_tokens_bar(["dog", " ran"], [0.3, 0.1], slot=4, layer=1)
    assert fig.data[0].orientation == "h" and list(fig.data[0].x) == [0.3, 0.1]
    assert list(fig.layout.yaxis.ticktext) == ["dog", "␣ran"] and "slot 4" in fig.layout.title.text


def test_contributions():
    i = internals()
    fig = plots.contributions(i.local_norm[0], i.global_norm[0], TOKENS, layer=0)
    assert [t.name for t in fig.data] == ["local (convolution)", "global (memory)"]
    np.testing.assert_allclose(fig.data[1].y, i.global_norm[0].numpy(), rtol=1e-6)
    assert fig.layout.barmode == "group"


# Fallbacks: each control step must carry the data of its own state.

def test_retrieval_explorer_has_one_slider_step_per_layer():
    i = internals()
    fig = plots.retrieval_explorer(i, TOKENS)
    steps = fig.layout.sliders[0].steps
    assert len(steps) == L
    np.testing.assert_allclose(steps[1].args[0]["z"][0], i.weights[1].numpy(), rtol=1e-6)
    assert "layer 1" in steps[1].args[1]["title.text"]


def test_contributions_explorer():
    i = internals()
    steps = plots.contributions_explorer(i, TOKENS).layout.sliders[0].steps
    assert len(steps) == L
    np.testing.assert_allclose(steps[1].args[0]["y"][0], i.local_norm[1].numpy(), rtol=1e-6)


def test_top_slots_explorer_has_one_step_per_token_and_a_panel_per_layer():
    i = internals()
    fig = plots.top_slots_explorer(i, TOKENS, k=2)
    assert len(fig.data) == L
    steps = fig.layout.sliders[0].steps
    assert len(steps) == T
    slots, w = i.top_slots(1, 2, k=2)
    assert steps[2].args[0]["x"][1] == [f"slot {int(s)}" for s in slots]
    np.testing.assert_allclose(steps[2].args[0]["y"][1], w.numpy(), rtol=1e-6)


def test_gate_channels_explorer_covers_every_layer_and_token():
    i = internals()
    steps = plots.gate_channels_explorer(i, TOKENS).layout.sliders[0].steps
    assert len(steps) == L * T
    np.testing.assert_allclose(steps[T + 1].args[0]["y"][1], i.gate_global[1, 1].numpy(), rtol=1e-6)


def test_slot_tokens_explorer_dropdown():
    tables = {3: [("a", 0.5), ("b", 0.2)], 1: [("c", 0.4)]}
    fig = plots.slot_tokens_explorer(tables, layer=0)
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["slot 3", "slot 1"]
    assert buttons[1].args[0]["x"] == [[0.4]] and buttons[1].args[1]["yaxis.ticktext"] == ["c"]
    assert list(fig.data[0].x) == [0.5, 0.2]


def test_a_long_list_of_bars_keeps_every_token_label():
    labels = [f"t{i}" for i in range(80)]
    fig = plots.slot_tokens_bar(labels, torch.linspace(1, 0, 80), slot=3, layer=0)
    assert list(fig.layout.yaxis.ticktext) == labels  # each bar is a token: none may lose its name
