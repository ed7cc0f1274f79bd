"""The explorer's views, each described once: what it needs, which controls redraw it, how to draw it.

gamlab.inspection.widgets builds both explorers from VIEWS, in its order: the widget explorer (one live
figure per view, redrawn when a control the view depends on moves) and the static explorer
(one plotly figure per view, with its own sliders and dropdowns). A model gets the views whose
needs it meets (gam-sum has no gates, gam-local no slots). Adding a view is one View below,
plus its figure builder in gamlab/inspection/plots/inside.py. A view draws what GAMInternals records
(gamlab/inspection/probes.py): data not recorded yet needs a field there, filled by the
block's forward_with_internals, first.

Builders read the explorer `e` they are given (gamlab.inspection.widgets):
    e.internals      GAMInternals of the text shown (gamlab.inspection.probes)
    e.tokens         its token texts (T,)
    e.k, e.top       slots shown per token, tokens shown per slot
    e.slot_tokens(layer, slot) -> (token texts, mean weights): the corpus tokens that read a slot most
    e.table(layer)   the corpus's SlotTable for a layer (gamlab.inspection.probes)
    e.slot_layer, e.n_slots_shown   static explorer only: whose slots to list, and how many
A live builder also gets the controls' values, `live(e, layer, token, slot)`; a static builder
gets the explorer alone, `static(e)`, and precomputes every state its own controls show.

Used in notebooks/06_inside_gam.ipynb (through gamlab.inspection.widgets, its explore).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import GamlabError
from . import plots

CONTROLS = ("text", "layer", "token", "slot")  # the widget explorer's controls, in its layout's order
NEEDS = {  # what a model must have for a view, asked of its GAMInternals
    None: lambda internals: True,
    "gates": lambda internals: internals.has_gates,
    "slots": lambda internals: internals.has_slots,
}


@dataclass(frozen=True)
class View:
    """One explorer view.

    name: its key in the explorers' `.figures`; needs: None, "gates" or "slots" (NEEDS);
    controls: the controls whose change redraws its live figure (CONTROLS; a control no shown
    view names is left out of the layout); live: (e, layer, token, slot) -> go.Figure;
    static: (e) -> go.Figure; row: views shown one after another with the same row sit side
    by side in the widget explorer (None: a row of its own).
    """

    name: str
    needs: str | None
    controls: tuple[str, ...]
    live: Callable
    static: Callable
    row: str | None = None

    def __post_init__(self) -> None:
        if self.needs not in NEEDS:
            raise GamlabError(f"view {self.name!r} needs {self.needs!r}; say one of None, 'gates', 'slots'.")
        unknown = set(self.controls) - set(CONTROLS)
        if unknown:
            raise GamlabError(f"view {self.name!r} names controls {sorted(unknown)}; "
                              f"choose from {', '.join(CONTROLS)}.")

    def shown_for(self, internals) -> bool:
        """True when the probed model (its GAMInternals) has what this view draws."""
        return NEEDS[self.needs](internals)


def _at(index, *tensors) -> list:
    """Each tensor indexed by `index`, None kept (an ablation's missing path)."""
    return [None if x is None else x[index] for x in tensors]


def _slot_lists(e):
    """The readers of the busiest slots of e.slot_layer, a dropdown over the slots."""
    layer = e.slot_layer
    tables = {s: [(t, float(w)) for t, w in zip(*e.slot_tokens(layer, s))]
              for s in e.table(layer).busiest(e.n_slots_shown)}
    return plots.slot_tokens_explorer(tables, layer)


VIEWS = [
    View("gates", "gates", ("text",),
         live=lambda e, layer, token, slot: plots.gate_heatmap(*e.internals.gate_means(), e.tokens),
         static=lambda e: plots.gate_heatmap(*e.internals.gate_means(), e.tokens)),
    View("channels", "gates", ("text", "layer", "token"), row="one token",
         live=lambda e, layer, token, slot: plots.gate_channels(
             *_at((layer, token), e.internals.gate_local, e.internals.gate_global), e.tokens[token], layer),
         static=lambda e: plots.gate_channels_explorer(e.internals, e.tokens)),
    View("top_slots", "slots", ("text", "layer", "token"), row="one token",
         live=lambda e, layer, token, slot: plots.top_slots_bar(*e.internals.top_slots(layer, token, e.k),
                                                                e.tokens[token], layer),
         static=lambda e: plots.top_slots_explorer(e.internals, e.tokens, e.k)),
    View("retrieval", "slots", ("text", "layer"),
         live=lambda e, layer, token, slot: plots.retrieval_heatmap(e.internals.weights[layer], e.tokens, layer),
         static=lambda e: plots.retrieval_explorer(e.internals, e.tokens)),
    View("contributions", None, ("text", "layer"),
         live=lambda e, layer, token, slot: plots.contributions(
             *_at(layer, e.internals.local_norm, e.internals.global_norm), e.tokens, layer),
         static=lambda e: plots.contributions_explorer(e.internals, e.tokens)),
    View("slot_tokens", "slots", ("layer", "slot"),  # corpus statistics: a new text leaves it alone
         live=lambda e, layer, token, slot: plots.slot_tokens_bar(*e.slot_tokens(layer, slot), slot, layer),
         static=_slot_lists),
]
