"""The paper's reported numbers (arXiv 2509.00605, as summarised in DESIGN.md), as data.

Table 1: validation results after 5 epochs, per dataset and model. Table 3: the ablation
on WikiText-2 (perplexity only). The paper's "Transformer" computes attention naively and
its "Mamba" stacks bare mixers, so those rows belong to gamlab's "transformer-naive" and
"mamba-bare"; the fair variants ("transformer", "mamba") are compared against the same
paper rows, for reference. The paper reports perplexity; its validation loss is ln(PPL).
The TinyStories rows give no parameter counts (None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PaperResult:
    params: float | None  # parameters
    s_per_epoch: float | None  # seconds per training epoch, on the paper's GPU
    ppl: float  # validation perplexity

    @property
    def val_loss(self) -> float:
        return math.log(self.ppl)


# (dataset, paper model) -> result.
TABLE1: dict[tuple[str, str], PaperResult] = {
    ("wikitext2", "transformer"): PaperResult(24.2e6, 131.9, 918.99),
    ("wikitext2", "mamba"): PaperResult(20.5e6, 127.1, 1017.54),
    ("wikitext2", "gam"): PaperResult(22.6e6, 117.2, 882.57),
    ("tinystories", "transformer"): PaperResult(None, 671.6, 23.55),
    ("tinystories", "gam"): PaperResult(None, 601.4, 23.15),
}

# Table 3, WikiText-2: fusion variant -> perplexity.
TABLE3: dict[str, PaperResult] = {
    "gam": PaperResult(None, None, 900.84),  # full model (gated fusion)
    "gam-global": PaperResult(None, None, 905.45),  # global path only
    "gam-sum": PaperResult(None, None, 942.59),  # local + global, summed without gates
    "gam-local": PaperResult(None, None, 944.70),  # local path only
}

# gamlab model -> the paper's name of the row it is compared with.
PAPER_NAME = {"gam": "gam", "transformer-naive": "transformer", "transformer": "transformer",
              "mamba-bare": "mamba", "mamba": "mamba"}


@dataclass(frozen=True)
class Experiment:
    """One training run of the reproduction and the paper row it is read against."""

    table: int  # 1 or 3
    dataset: str  # "wikitext2" | "tinystories"
    model: str  # a gamlab model name
    fair: bool  # a fair variant, not one of the paper's own rows

    @property
    def paper(self) -> PaperResult:
        if self.table == 3:
            return TABLE3[self.model]
        return TABLE1[(self.dataset, PAPER_NAME[self.model])]

    @property
    def run_name(self) -> str:
        """One training run per (dataset, model): Table 3's full GAM is Table 1's GAM run."""
        return f"{self.dataset}-{self.model}"


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(1, "wikitext2", "gam", False),
    Experiment(1, "wikitext2", "transformer-naive", False),
    Experiment(1, "wikitext2", "mamba-bare", False),
    Experiment(1, "wikitext2", "transformer", True),
    Experiment(1, "wikitext2", "mamba", True),
    Experiment(1, "tinystories", "gam", False),
    Experiment(1, "tinystories", "transformer-naive", False),
    Experiment(1, "tinystories", "transformer", True),
    Experiment(3, "wikitext2", "gam", False),
    Experiment(3, "wikitext2", "gam-global", False),
    Experiment(3, "wikitext2", "gam-sum", False),
    Experiment(3, "wikitext2", "gam-local", False),
)
