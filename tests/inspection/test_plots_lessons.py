"""The figure builders of lessons 00-03 (gamlab/inspection/plots/lessons.py, runs.py), on small inputs, without a kernel."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from gamlab.errors import GamlabError
from gamlab.inspection import plots
from gamlab.training.tasks import MQAR


def rows(memory=True):
    out = []
    for name, power in (("gam", 1), ("transformer-naive", 2)):
        for T in (64, 128, 256):
            out.append({"name": name, "seq_len": T, "ms": T**power / 100, "peak_mb": T**power / 10 if memory else None,
                        "oom": False})
    out.append({"name": "transformer-naive", "seq_len": 512, "ms": None, "peak_mb": None, "oom": True})
    return out


def test_scaling_curves_time_and_memory_log_log():
    fig = plots.scaling_curves(rows())
    assert len(fig.data) == 4  # time and memory for each of two blocks
    gam_time, gam_mem, att_time, att_mem = fig.data
    assert list(gam_time.x) == [64, 128, 256] and list(gam_time.y) == [0.64, 1.28, 2.56]
    assert list(att_time.x) == [64, 128, 256]  # the OOM run is not drawn ...
    assert "transformer-naive T=512" in fig.layout.title.text  # ... but named
    assert list(att_mem.y) == pytest.approx([T * T / 10 for T in (64, 128, 256)])
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "log"
    json.loads(fig.to_json())


def test_scaling_curves_time_only():
    fig = plots.scaling_curves(rows(memory=False))
    assert len(fig.data) == 2 and "xaxis2" not in fig.layout.to_plotly_json()


def test_scaling_curves_draw_a_saved_run_faint_beside_the_live_one():
    saved = {"cpu": "Some CPU", "rows": [{**r, "ms": r["ms"] and 2 * r["ms"], "seq_len": 2 * r["seq_len"]}
                                         for r in rows()] + [{**rows()[0], "name": "mamba"}]}
    fig = plots.scaling_curves(rows(), saved)
    faint = [t for t in fig.data if t.legendgroup == "saved"]
    assert len(fig.data) == 8 and len(faint) == 4  # time and memory of each live block; mamba is not live
    assert [t.showlegend for t in faint] == [True, False, False, False] and faint[0].name == "saved run<br>Some"  # "CPU" dropped: the legend is narrow
    assert all(t.opacity < 1 for t in faint) and list(faint[0].x) == [128, 256, 512]
    assert faint[0].line.color == fig.data[0].line.color  # each block's own colour
    assert list(fig.layout.xaxis.tickvals) == [64, 128, 256, 512]  # the saved run's lengths too
    assert len(plots.scaling_curves(rows(), None).data) == 4


def test_receptive_field_explorer_one_state_per_kernel():
    T = 12
    reach = {k: torch.stack([(torch.arange(T) >= T - (d * (k - 1) + 1)).float() * (1 + d) for d in (1, 2, 3)])
             for k in (2, 3)}
    bounds = {k: [T - (d * (k - 1) + 1) for d in (1, 2, 3)] for k in (2, 3)}
    fig = plots.receptive_field_explorer(reach, target=T - 1, bounds=bounds)
    heat, marks = fig.data
    z = np.array(heat.z, dtype=float)
    assert z.shape == (3, T)
    assert np.isnan(z[0, : T - 2]).all() and np.allclose(z[0, T - 2:], 1.0)  # unreachable blank, rows scaled to max 1
    assert list(marks.x) == bounds[2]
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["k=2", "k=3"]
    z3 = np.array(steps[1].args[0]["z"][0], dtype=float)
    assert np.isnan(z3[2, : T - 7]).all() and not np.isnan(z3[2, T - 7:]).any()
    assert list(steps[1].args[0]["x"][1]) == bounds[3]
    json.loads(fig.to_json())


def test_retrieval_temperature_slider_swaps_weights_and_result():
    temps = [0.1, 1.0, 10.0]
    w = torch.softmax(torch.tensor([[5.0, 1.0, 0.0], [1.0, 0.5, 0.0], [0.1, 0.05, 0.0]]), -1)
    r = torch.randn(3, 8)
    target = torch.randn(8)
    fig = plots.retrieval_temperature(w, r, target, temps, ["a", "b", "c"])
    assert len(fig.data) == 3 and list(fig.data[0].x) == ["a", "b", "c"]
    assert np.allclose(fig.data[0].y, w[0].numpy()) and np.allclose(fig.data[2].y, r[0].numpy())
    steps = fig.layout.sliders[0].steps
    assert len(steps) == 3 and steps[2].label == "10"
    assert np.allclose(steps[2].args[0]["y"][0], w[2].numpy()) and np.allclose(steps[2].args[0]["y"][2], r[2].numpy())
    json.loads(fig.to_json())


def test_gates_per_token_heatmaps_and_token_slider():
    T, C = 5, 4
    gl, gg = torch.rand(T, C), torch.rand(T, C)
    fig = plots.gates_per_token(gl, gg, list("ab cd"))
    heat_l, heat_g, dots_l, dots_g = fig.data
    assert np.allclose(heat_l.z, gl.T.numpy()) and np.allclose(heat_g.z, gg.T.numpy())  # channels x tokens
    assert heat_l.zmin == 0 and heat_l.zmax == 1
    assert np.allclose(dots_l.y, gl[0].numpy()) and np.allclose(dots_g.y, gg[0].numpy())
    steps = fig.layout.sliders[0].steps
    assert len(steps) == T and steps[2].label == "2:␣"  # whitespace made visible
    data, layout, traces = steps[3].args
    assert list(traces) == [2, 3] and np.allclose(data["y"][0], gl[3].numpy()) and np.allclose(data["y"][1], gg[3].numpy())
    json.loads(fig.to_json())
    assert not math.isnan(sum(map(float, dots_l.y)))


# ---- lesson 05 and 07: losses and context, one colour per model (plots.MODEL_COLORS) ----------

def histories():
    gam = [{"step": 10, "elapsed": 4.0, "train_loss": 3.0, "val_loss": 3.1},
           {"step": 20, "elapsed": 8.5, "train_loss": 2.0, "val_loss": 2.2}]
    mamba = [{"step": 10, "elapsed": 9.0, "train_loss": 3.2, "val_loss": 3.3},
             {"step": 20, "elapsed": 18.0, "train_loss": 2.5, "val_loss": 2.6}]
    return {"gam": gam, "mamba": mamba}


def test_loss_curves_use_each_models_colour_against_step_or_seconds():
    by_step = plots.loss_curves(histories())
    assert [t.line.color for t in by_step.data] == [plots.MODEL_COLORS[n] for n in ("gam", "gam", "mamba", "mamba")]
    assert list(by_step.data[2].x) == [10, 20] and "step" in by_step.layout.xaxis.title.text
    by_time = plots.loss_curves(histories(), x="seconds")
    assert list(by_time.data[0].x) == [4.0, 8.5] and list(by_time.data[2].x) == [9.0, 18.0]
    assert list(by_time.data[2].y) == [3.3, 2.6] and "s, wall clock" in by_time.layout.xaxis.title.text
    with pytest.raises(GamlabError, match='use x="step" or x="seconds"'):
        plots.loss_curves(histories(), x="tokens")


def test_loss_panels_two_panels_one_legend():
    fig = plots.loss_panels(histories(), unigram=3.5)
    left = [t for t in fig.data if t.xaxis == "x"]
    right = [t for t in fig.data if t.xaxis == "x2"]
    assert [list(t.x) for t in left] == [[10, 20], [10, 20]]
    assert [list(t.x) for t in right] == [[4.0, 8.5], [9.0, 18.0]]
    assert [t.line.color for t in right] == [t.line.color for t in left] == [plots.MODEL_COLORS["gam"],
                                                                               plots.MODEL_COLORS["mamba"]]
    assert [t.showlegend for t in fig.data] == [True, True, False, False]  # one legend entry per model
    assert [s.y0 for s in fig.layout.shapes] == [3.5, 3.5]  # the unigram baseline in both panels ...
    assert [a.text for a in fig.layout.annotations] == ["per optimizer step", "per second of training",
                                                        "unigram 3.50"]  # ... named once
    json.loads(fig.to_json())


def test_context_gain_lines_band_and_reach():
    T, reach = 16, 5
    curves = {"gam": [0.0] + [1.0 / d for d in range(1, T)], "transformer": np.linspace(0.5, 0.0, T)}
    spread = {"gam": [0.01] * T}
    fig = plots.context_gain(curves, reach=reach, spread=spread)
    lines = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in lines] == ["gam", "transformer"]
    assert [t.line.color for t in lines] == [plots.MODEL_COLORS["gam"], plots.MODEL_COLORS["transformer"]]
    assert list(lines[0].x) == list(range(1, T)) and np.allclose(lines[0].y, curves["gam"][1:])  # d >= 1
    assert np.allclose(lines[1].y, curves["transformer"][1:])
    upper, lower = [t for t in fig.data if t.showlegend is False]  # the ± spread band of gam only
    assert np.allclose(upper.y, np.array(curves["gam"][1:]) + 0.01) and lower.fill == "tonexty"
    assert fig.layout.xaxis.type == "log" and "nats/token" in fig.layout.yaxis.title.text
    (line,) = fig.layout.shapes
    assert line.x0 == line.x1 == reach and line.line.dash == "dash"
    (label,) = fig.layout.annotations  # annotations on a log axis sit at log10(x)
    assert label.x == pytest.approx(math.log10(reach)) and "GAM's reach R" in label.text
    json.loads(fig.to_json())


def test_context_profiles_use_each_models_colour():
    fig = plots.context_profiles({"gam": [0.5, 0.5, 0.0], "transformer": [1 / 3] * 3}, reach=2)
    assert [t.line.color for t in fig.data] == [plots.MODEL_COLORS["gam"], plots.MODEL_COLORS["transformer"]]


def test_context_profiles_log_ticks_in_exponent_form_not_si_prefixes():
    fig = plots.context_profiles({"gam": [0.9, 0.1, 0.0], "transformer": [0.5, 3e-5, 1e-7]}, reach=2)
    ticks = fig.layout.yaxis
    assert ticks.type == "log" and ticks.tickmode == "array"
    assert list(ticks.tickvals) == pytest.approx([1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1])
    assert "1×10<sup>-4</sup>" in ticks.ticktext and not any("μ" in t for t in ticks.ticktext)
    assert plots.context_profiles({"gam": [0.5, 0.5]}, log=False).layout.yaxis.type == "linear"


def test_recall_predictions_mark_right_and_wrong_by_symbol_not_colour_alone():
    x = torch.tensor([5, 40, 6, 41, 0, 6, 0, 5])  # k1 v1 k2 v2 . q(k2) . q(k1)
    y = torch.full((8,), -100)
    y[5], y[7] = 41, 40
    preds = {"gam": torch.tensor([0, 0, 0, 0, 0, 41, 0, 33]), "gam-fw": torch.tensor([0, 0, 0, 0, 0, 41, 0, 40])}
    fig = plots.recall_predictions(x, y, preds, read_weights=torch.eye(8), **MQAR(seq_len=8, n_pairs=2).positions(x, y))
    gam, fw = fig.data[0], fig.data[1]
    assert list(gam.marker.symbol) == ["circle", "x"] and list(fw.marker.symbol) == ["circle", "circle"]
    assert list(gam.text) == ["✓ 41", "✗ 33"] and list(fw.text) == ["✓ 41", "✓ 40"]
    assert gam.marker.color[0] != gam.marker.color[1]  # colour too, from the colour-blind-safe palette
    assert set(gam.marker.color) <= set(plots.OKABE_ITO.values())
    assert "✓" in fig.layout.annotations[0].text and "✗" in fig.layout.annotations[0].text  # the subplot title says so
    json.loads(fig.to_json())


@pytest.mark.parametrize("picked, env, expected", [
    ("plotly_mimetype", None, "plotly_mimetype+notebook_connected"),  # JupyterLab, classic notebook
    ("vscode", None, "vscode+notebook_connected"),
    ("colab", None, "colab"),  # Colab draws its own renderer's HTML
    ("browser", None, "browser"),  # a terminal
    ("plotly_mimetype", "plotly_mimetype", "plotly_mimetype"),  # the user chose with PLOTLY_RENDERER
])
def test_saved_output_renderer_only_where_plotly_picked_its_jupyter_default(monkeypatch, picked, env, expected):
    import plotly.io as pio

    monkeypatch.setattr(pio.renderers, "default", picked)  # restored after the test
    if env is None:
        monkeypatch.delenv("PLOTLY_RENDERER", raising=False)
    else:
        monkeypatch.setenv("PLOTLY_RENDERER", env)
    assert plots.use_saved_output_renderer() == expected == pio.renderers.default
    assert plots.use_saved_output_renderer() == expected  # a second call adds nothing


def test_recall_predictions_mark_the_query_key_and_value_even_where_they_get_no_weight():
    """A bar of weight 0 has no height: its colour alone would not show where the key sits."""
    x = torch.tensor([5, 40, 6, 41, 0, 6, 0, 5])  # k1 v1 k2 v2 . q(k2) . q(k1)
    y = torch.full((8,), -100)
    y[5], y[7] = 41, 40
    fig = plots.recall_predictions(x, y, {"gam": y.clamp(min=0)}, read_weights=torch.zeros(8, 8),
                                   **MQAR(seq_len=8, n_pairs=2).positions(x, y))
    marks, xs = fig.data[-1], fig.data[-2].x
    assert marks.marker.symbol == "triangle-up" and list(marks.y) == [0, 0, 0] and marks.cliponaxis is False
    assert list(marks.x) == [xs[5], xs[2], xs[3]]  # q0 at 5 asks k2: given at 2, its value at 3
    assert list(marks.marker.color) == ["steelblue", "orange", "seagreen"]
    update, traces = fig.layout.updatemenus[0].buttons[1].args
    assert list(traces) == [len(fig.data) - 2, len(fig.data) - 1]  # the dropdown moves the bars and the marks
    assert list(update["x"][1]) == [xs[7], xs[0], xs[1]]
    assert list(update["text"][1]) == ["q1 itself", "q1's key", "q1's value"]
    assert fig.layout.xaxis2.title.text.count("▲") == 3
    no_keys = plots.recall_predictions(x, y, {"gam": y.clamp(min=0)}, queries=[5, 7], read_weights=torch.zeros(8, 8))
    assert list(no_keys.data[-1].marker.color) == ["steelblue"]  # the query alone: no key or value to mark
    assert "orange" not in no_keys.layout.xaxis2.title.text
