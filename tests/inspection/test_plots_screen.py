"""Every figure the lessons draw fits one screen at a lecture hall's zoom (150% on 1280 x 800:
about 413 x 673 CSS px of notebook): an explicit height of at most plots.SCREEN_HEIGHT, the
title close to the plot, and the labels, legends and sliders the reader found overlapping or
cut kept clear (gamlab/inspection/plots/style.py, fit_screen)."""

from __future__ import annotations

import pytest
import torch

from gamlab.inspection import plots
from gamlab.inspection.probes import GAMInternals
from gamlab.training.tasks import MQAR

L, T, C, S = 2, 40, 8, 16
TOKENS = list("There was a girl named Mia. Mia had a re")


def internals():
    g = torch.Generator().manual_seed(0)
    r = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    w = r(L, T, S)
    return GAMInternals(ids=torch.arange(T), logits=r(T, 10), gate_local=r(L, T, C), gate_global=r(L, T, C),
                        weights=w / w.sum(-1, keepdim=True), local_norm=r(L, T), global_norm=r(L, T),
                        update_norm=r(L, T))


def history(scale):
    return [{"step": 10 * i, "elapsed": i * scale, "train_loss": 3 / i, "val_loss": 3.1 / i} for i in range(1, 11)]


def recall(n_pairs, models=("gam", "transformer", "mamba", "gam-fw")):
    task = MQAR(seq_len=64, n_pairs=n_pairs, vocab_size=64)
    x, y = task.sample(1, 0)
    return plots.recall_predictions(x[0], y[0], {m: y[0] for m in models}, read_weights=torch.eye(64),
                                    **task.positions(x[0], y[0]))


ROWS = [{"name": n, "seq_len": t, "ms": t / 100 * p, "peak_mb": t / 10 * p, "oom": False}
        for n, p in (("gam", 1), ("transformer-naive", 2)) for t in (256, 512, 1024, 2048)]
I = internals()
BUILDERS = {
    "scaling_curves": lambda: plots.scaling_curves(ROWS, {"cpu": "Some CPU", "rows": ROWS}),
    "receptive_field_explorer": lambda: plots.receptive_field_explorer(
        {k: torch.rand(12, 32) for k in (2, 3, 4, 5)}, target=31, bounds={k: [0] * 12 for k in (2, 3, 4, 5)}),
    "retrieval_temperature": lambda: plots.retrieval_temperature(
        torch.softmax(torch.randn(6, 6), -1), torch.randn(6, 64), torch.randn(64), [0.01, 0.03, 0.1, 0.3, 1, 3],
        [f"pattern {i}" for i in range(6)], query=torch.randn(64), queried=2),
    "gates_per_token": lambda: plots.gates_per_token(torch.rand(T, C), torch.rand(T, C), TOKENS),
    "gam_block_diagram": plots.gam_block_diagram,
    "loss_curves": lambda: plots.loss_curves({"gam": history(1), "mamba": history(2)}, unigram=3.0),
    "loss_panels": lambda: plots.loss_panels({"gam": history(1), "mamba": history(2)}, unigram=3.0),
    "lr_sweep": lambda: plots.lr_sweep({"val_loss": {m: {1e-3: [2.0], 3e-3: [1.9]} for m in ("gam", "mamba")},
                                        "lr": {"gam": 3e-3, "mamba": 1e-3}}),
    "context_gain": lambda: plots.context_gain({m: [0.0] + [0.1] * 63 for m in ("gam", "mamba")}, 7),
    "gate_heatmap": lambda: plots.gate_heatmap(I.gate_local.mean(-1), I.gate_global.mean(-1), TOKENS),
    "gate_channels": lambda: plots.gate_channels(I.gate_local[0, 0], I.gate_global[0, 0], "T", 0),
    "top_slots_bar": lambda: plots.top_slots_bar(*I.top_slots(0, 0, 5), "T", 0),
    "retrieval_heatmap": lambda: plots.retrieval_heatmap(I.weights[0], TOKENS, 0),
    "retrieval_heatmap, 500 tokens": lambda: plots.retrieval_heatmap(torch.rand(500, S), ["a"] * 500, 0),
    "slot_tokens_bar": lambda: plots.slot_tokens_bar(list("abcdefghij"), torch.rand(10), 3, 0),
    "slot_tokens_bar, 40 tokens": lambda: plots.slot_tokens_bar(["a"] * 40, torch.rand(40), 3, 0),
    "contributions": lambda: plots.contributions(I.local_norm[0], I.global_norm[0], TOKENS, 0),
    "retrieval_explorer": lambda: plots.retrieval_explorer(I, TOKENS),
    "contributions_explorer": lambda: plots.contributions_explorer(I, TOKENS),
    "top_slots_explorer": lambda: plots.top_slots_explorer(I, TOKENS),
    "gate_channels_explorer": lambda: plots.gate_channels_explorer(I, TOKENS),
    "slot_tokens_explorer": lambda: plots.slot_tokens_explorer({s: [("a", 0.1), ("b", 0.05)] for s in (1, 2)}, 0),
    "recall_heatmaps": lambda: plots.recall_heatmaps({"accuracy": {"gam": [[1.0, 0.5]]}, "chance": 0.1,
                                                      "grid": {"pairs": [4, 8], "lengths": [64]}}),
    "context_profiles": lambda: plots.context_profiles({"gam": [0.5, 0.3, 0.2]}, reach=3),
    "recall_predictions": lambda: recall(4),
    "recall_predictions, 16 pairs": lambda: recall(16),
    "recall_predictions, no weights": lambda: plots.recall_predictions(
        torch.arange(8), torch.arange(8), {"gam": torch.arange(8)}, queries=[5, 7]),
}


@pytest.mark.parametrize("name", BUILDERS)
def test_every_figure_has_an_explicit_height_of_one_screen_and_a_small_top_margin(name):
    fig = BUILDERS[name]()
    assert fig.layout.height is not None and 0 < fig.layout.height <= plots.SCREEN_HEIGHT <= 380, name
    assert fig.layout.margin.t is not None and fig.layout.margin.t <= 90, name  # plotly's own: 100 px over the plot
    assert fig.layout.width is None or fig.layout.width <= 680, name


@pytest.mark.parametrize("name", BUILDERS)
def test_every_figure_s_toolbar_leaves_out_the_buttons_no_lesson_uses(name):
    """Drawn over the figure's top right on hover, plotly's full toolbar (296 px) covered titles."""
    remove = BUILDERS[name]().layout.modebar.remove
    assert list(remove) == plots.MODEBAR_REMOVE and {"select2d", "lasso2d", "autoScale2d"} <= set(remove), name
    assert not {"toImage", "zoom2d", "pan2d", "resetScale2d"} & set(remove), name  # download, zoom, pan, reset stay


def test_a_figure_of_a_side_by_side_pair_has_its_toolbar_down_its_right_edge():
    from gamlab.inspection.live_view import live_figure, page_figure

    half = live_figure(BUILDERS["gate_channels"](), plots.OUTPUT_WIDTH // 2)
    assert half.layout.modebar.orientation == "v"  # across the top it covered the two-line title
    assert live_figure(BUILDERS["gate_channels"]()).layout.modebar.orientation is None  # full width: plotly's own
    page = page_figure(half)  # the saved copy, at the page's width
    assert page.layout.width is None and page.layout.modebar.orientation is None
    assert list(page.layout.modebar.remove) == plots.MODEBAR_REMOVE


def test_fit_screen_caps_the_height_and_puts_the_title_close_to_the_top():
    import plotly.graph_objects as go

    fig = plots.fit_screen(go.Figure(layout=dict(title="a")), 1000, t=70)
    assert fig.layout.height == plots.SCREEN_HEIGHT and fig.layout.margin.t == 70 and fig.layout.margin.l == 60
    assert fig.layout.title.yanchor == "top" and fig.layout.title.y == pytest.approx(1 - 10 / plots.SCREEN_HEIGHT)
    two = plots.fit_screen(go.Figure(layout=dict(title="a<br>b")), 300)
    assert two.layout.height == 300 and two.layout.title.y < 1 - 10 / 300  # a second line: lower, still inside


def test_legends_below_the_plot_sit_at_the_bottom_edge_in_a_margin_that_holds_their_rows():
    # anchored to the plot, a legend's place hung on plotly widening the margin for it, which
    # JupyterLab did not redo at the output's width: two rows covered the x axis title
    for name in ("loss_curves", "loss_panels", "lr_sweep", "context_gain"):
        fig = BUILDERS[name]()
        legend = fig.layout.legend
        assert legend.orientation == "h" and legend.yref == "container" and legend.y == 0, name
        assert legend.yanchor == "bottom" and fig.layout.margin.b >= 75 + plots.LEGEND_ROW, name
    one_row = BUILDERS["loss_panels"]().layout.margin.b  # two short names
    assert one_row == 75 + plots.LEGEND_ROW
    assert plots.context_gain({"gam": [0.0, 0.1, 0.1]}, 2).layout.margin.b < one_row  # one line: no legend
    five = {m: history(1) for m in ("gam", "transformer", "transformer-naive", "mamba", "gam-fw")}
    rows = plots.loss_curves(five).layout.margin.b  # ten entries, "transformer-naive validation" ...
    assert rows >= one_row + 2 * plots.LEGEND_ROW and plots.loss_curves(five).layout.height <= plots.SCREEN_HEIGHT


def test_crowded_slider_labels_are_hidden_and_the_current_value_names_the_step():
    tokens = plots.gates_per_token(torch.rand(T, C), torch.rand(T, C), TOKENS).layout.sliders[0]
    assert tokens.font.color == "rgba(0, 0, 0, 0)" and tokens.currentvalue.font.color != tokens.font.color
    few = BUILDERS["retrieval_temperature"]().layout.sliders[0]  # six temperatures: labelled
    assert few.font.color is None and few.pad.t >= 80  # below the two-line "queried" label and the axis title


def test_colour_bar_titles_run_up_the_bar_not_past_the_figure():
    assert BUILDERS["gate_heatmap"]().data[0].colorbar.title.side == "right"
    assert BUILDERS["receptive_field_explorer"]().data[0].colorbar.title.side == "right"


def test_long_token_axes_thin_their_labels_to_what_fits():
    ticks = BUILDERS["retrieval_heatmap, 500 tokens"]().layout.yaxis.tickvals
    assert len(ticks) <= plots.MAX_ROW_TICKS and ticks[1] == 28  # ceil(500 / 18)


def test_recall_answers_sit_beside_their_marks_in_the_given_order():
    fig = recall(4)
    answers = [t for t in fig.data if t.type == "scatter" and t.yaxis in (None, "y")]  # the upper panel's
    assert len(answers) == 5 and all(t.textposition == "middle right" for t in answers)  # above, the top row's were cut off
    assert list(fig.layout.yaxis.categoryarray) == ["answer", "gam", "transformer", "mamba", "gam-fw"]
    assert fig.layout.yaxis.autorange == "reversed"  # the answer on top
    assert answers[0].text[0].startswith("✓") and fig.layout.xaxis.ticktext[0].startswith("q0 @")
    many = recall(16)
    assert "✓" not in many.data[0].text[0] and list(many.layout.xaxis.ticktext[:2]) == ["q0", "q1"]
    menu = many.layout.updatemenus[0]
    assert menu.yanchor == "bottom" and menu.y > many.layout.yaxis2.domain[1]  # above the lower panel, not on ticks
