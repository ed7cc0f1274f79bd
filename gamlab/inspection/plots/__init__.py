"""Plotly figure builders: pure functions, data in (tensors, arrays, lists), go.Figure out.

Nothing here trains or runs a model, and nothing knows a task or a tokenizer; widgets and
notebooks compute the data (gamlab.inspection.probes, gamlab.training.train, gamlab.training.tasks)
and pass it in, token texts included, so every builder is unit-tested without a kernel.

One module per figure family, every builder importable from here:
    style.py    the renderer saved notebooks draw, one screen's size, one colour per model, token axes, sliders
    inside.py   inside GAM: gates, retrieval and path contributions per token, and their explorers (lesson 06)
    lessons.py  the building lessons' figures: scaling, receptive field, retrieval, gates, the block (00-04)
    runs.py     loss curves, the scaling benchmark's chart, the learning-rate sweep (lesson 05, commands)
    recall.py   the recall grid, effective context and the loss gained from it, what a query reads (lesson 07)
"""

from .inside import (
    contributions,
    contributions_explorer,
    gate_channels,
    gate_channels_explorer,
    gate_heatmap,
    retrieval_explorer,
    retrieval_heatmap,
    slot_tokens_bar,
    slot_tokens_explorer,
    top_slots_bar,
    top_slots_explorer,
)
from .lessons import (
    MODEL_DASH,
    MODEL_SYMBOLS,
    gam_block_diagram,
    gates_per_token,
    receptive_field_explorer,
    retrieval_temperature,
    scaling_curves,
)
from .recall import context_gain, context_profiles, recall_heatmaps, recall_predictions
from .runs import LOSS_X, loss_curves, loss_panels, lr_sweep, scaling_chart
from .style import (
    LEGEND_ROW,
    MAX_ROW_TICKS,
    MAX_TOKEN_TICKS,
    MODEBAR_REMOVE,
    MODEL_COLORS,
    OKABE_ITO,
    OUTPUT_WIDTH,
    PLOTLY_KERNEL_DEFAULTS,
    SCREEN_HEIGHT,
    SPARE_COLORS,
    fit_screen,
    legend_below,
    model_color,
    token_labels,
    use_saved_output_renderer,
)

__all__ = [
    "LEGEND_ROW", "LOSS_X", "MAX_ROW_TICKS", "MAX_TOKEN_TICKS", "MODEBAR_REMOVE", "MODEL_COLORS", "MODEL_DASH", "MODEL_SYMBOLS", "OKABE_ITO",
    "OUTPUT_WIDTH", "PLOTLY_KERNEL_DEFAULTS", "SCREEN_HEIGHT", "SPARE_COLORS", "context_gain", "context_profiles",
    "contributions", "contributions_explorer", "fit_screen", "gam_block_diagram", "gate_channels",
    "gate_channels_explorer", "gate_heatmap", "gates_per_token", "legend_below", "loss_curves", "loss_panels",
    "lr_sweep", "model_color", "receptive_field_explorer", "recall_heatmaps", "recall_predictions",
    "retrieval_explorer", "retrieval_heatmap", "retrieval_temperature", "scaling_chart", "scaling_curves",
    "slot_tokens_bar", "slot_tokens_explorer", "token_labels", "top_slots_bar", "top_slots_explorer",
    "use_saved_output_renderer",
]
