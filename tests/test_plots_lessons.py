"""The figure builders of lessons 00-03 (gamlab/plots.py), on small inputs, without a kernel."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from gamlab import plots


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
