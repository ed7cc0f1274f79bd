"""Training recipes: gamlab's careful one, and the one the paper's author actually ran.

The paper (arXiv 2509.00605) gives its settings (DESIGN.md) but not how its script used them.
The author's script (github.com/rishiraj/gam, benchmark.py, which made Tables 1 and 3) differs
from gamlab in nine places; a recipe names each choice with its reason, and
`gamlab reproduce --recipe paper|careful` trains the whole reproduction one way or the other.

    choice              careful (gamlab's)                  paper (benchmark.py)
    decay               2-D weights only, not A_log         every parameter
    warmup_from_zero    factor (step + 1) / W               step / W: the first update has lr 0
    min_lr_ratio        cosine ends at lr * 0.1             ends at 0
    tokenizer           lossless BPE                        Whitespace BPE, [UNK] [PAD] [SOS] [EOS]
    tokenizer_splits    train                               train, validation, test (a leak)
    tinystories_rows    50,000 train / 50,000 validation    50,000 / 5,000
    init                tok and pos embeddings N(0, 0.02)   pos N(0, 1), tied matrix nn.Linear's
    keep_partial        the last, smaller batch dropped     kept
    val_average         mean over tokens                    mean of per-batch means

    recipe = get_recipe("paper")
    tc = TrainConfig.preset("paper", **recipe.train_changes())   # recipe="paper", min_lr_ratio=0
    model = recipe.build("gam", mc)                               # embeddings started its way
    tok = recipe.tokenizer_for({"train": t, "validation": v}, 10_000)
    data = recipe.text_data(train_ids, val_ids, tok, mc.block_size, tc.batch_size, tc.seed, "wikitext2")
    Trainer(model, tc, data.get_batch, ...)   # reads tc.recipe: decay groups, warm-up start, validation mean

Taught in docs/reproduce.md.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from ..errors import GamlabError


@dataclass(frozen=True)
class Careful:
    """gamlab's recipe: every command's, and `gamlab reproduce --recipe careful`."""

    name: str = "careful"
    decay: str = "matrices"  # make_optimizer: which parameters AdamW decays ("matrices" | "all")
    warmup_from_zero: bool = False  # make_scheduler: warm-up factor step / W instead of (step + 1) / W
    min_lr_ratio: float = 0.1  # where the cosine ends, a fraction of lr
    tokenizer: str = "bpe"  # gamlab.training.tokenizer kind
    tokenizer_splits: tuple[str, ...] = ("train",)  # the splits the tokenizer learns from
    tinystories_rows: tuple[int, int] = (50_000, 50_000)  # (train, validation) rows read from the hub
    wikitext2_rows: ClassVar[tuple] = (None, None)  # every row
    init: str = "careful"  # LanguageModel.init_embeddings
    keep_partial: bool = False  # TextData: an epoch ends with the leftover, smaller batch
    val_average: str = "token"  # evaluate: "token" (cross-entropy of the split) | "batch"

    WHY: ClassVar[dict[str, str]] = {
        "decay": "decay on a bias, a LayerNorm gain or Mamba's A_log pulls it to 0, which shrinks no map",
        "warmup_from_zero": "an update at lr 0 teaches nothing; the first step already moves at lr / W",
        "min_lr_ratio": "a cosine that ends at a tenth of lr keeps the last steps learning",
        "tokenizer": "decode(encode(text)) == text, so samples and probes read as the text was written",
        "tokenizer_splits": "a tokenizer that never saw the validation text cannot leak it into the vocabulary",
        "tinystories_rows": "the paper gives no row counts; 50,000 stories fit its s/epoch ratio to WikiText-2",
        "init": "N(0, 0.02) embeddings keep the tied head's first logits near uniform (loss near ln vocab)",
        "keep_partial": "every step has the same batch size, so steps, throughput and torchrun splits compare",
        "val_average": "every validation token weighs the same: the loss is the split's cross-entropy",
    }

    # ---- the functions that apply the choices (the optimizer, schedule and validation mean
    # are applied by train.Trainer from TrainConfig.recipe)

    def train_changes(self) -> dict:
        """TrainConfig fields this recipe sets: its name (read by the Trainer) and the cosine floor."""
        return {"recipe": self.name, "min_lr_ratio": self.min_lr_ratio}

    def rows(self, dataset: str, max_rows: int | None = None) -> tuple[int | None, int | None]:
        """(train, validation) hub rows to read for `dataset`, at most `max_rows` each (None: all)."""
        cap = self.tinystories_rows if dataset == "tinystories" else self.wikitext2_rows
        return tuple(n if max_rows is None else max_rows if n is None else min(n, max_rows) for n in cap)

    def tokenizer_for(self, splits: dict[str, str], vocab_size: int):
        """A tokenizer of this recipe's kind, trained on its splits among `splits` (split -> text)."""
        from .tokenizer import train_tokenizer

        texts = [splits[s] for s in self.tokenizer_splits if splits.get(s)]
        if self.tokenizer == "bpe-paper":
            return train_tokenizer(self.tokenizer, texts, vocab_size)  # one text per split, as the author's
        return train_tokenizer(self.tokenizer, "\n".join(texts), vocab_size)

    def build(self, name: str, config):
        """build_model(name, config) with this recipe's embedding initialisation."""
        from ..model import build_model

        return build_model(name, config, init=self.init)

    def text_data(self, train, val, tokenizer, block_size: int, batch_size: int, seed: int = 0, name: str = ""):
        """TextData of token ids (N,) that keeps, or drops, the last partial batch as the recipe does."""
        from .data import TextData

        return TextData(train, val, tokenizer, block_size, batch_size, seed, name, keep_partial=self.keep_partial)


@dataclass(frozen=True)
class Paper(Careful):
    """The paper author's recipe (rishiraj/gam, benchmark.py): `gamlab reproduce --recipe paper`."""

    name: str = "paper"
    decay: str = "all"
    warmup_from_zero: bool = True
    min_lr_ratio: float = 0.0
    tokenizer: str = "bpe-paper"
    tokenizer_splits: tuple[str, ...] = ("train", "validation", "test")
    tinystories_rows: tuple[int, int] = (50_000, 5_000)
    init: str = "paper"
    keep_partial: bool = True
    val_average: str = "batch"

    # MAX_TRAIN_ROWS / MAX_VAL_ROWS hold for WikiText-2 too; its 36,718 / 3,760 rows are fewer.
    wikitext2_rows: ClassVar[tuple] = (50_000, 5_000)
    WHY: ClassVar[dict[str, str]] = {
        "decay": "benchmark.py: AdamW(model.parameters(), weight_decay=0.1) decays every parameter",
        "warmup_from_zero": "benchmark.py's warm-up factor is step / 100, so its first update has lr 0",
        "min_lr_ratio": "benchmark.py's cosine is 0.5 * (1 + cos(pi * progress)), which ends at 0",
        "tokenizer": "benchmark.py: BPE(unk_token='[UNK]'), Whitespace, [UNK] [PAD] [SOS] [EOS], no word-end suffix",
        "tokenizer_splits": "benchmark.py trains the BPE on every split it loaded: validation leaks into the vocabulary",
        "tinystories_rows": "benchmark.py: MAX_TRAIN_ROWS = 50000, MAX_VAL_ROWS = 5000",
        "init": "benchmark.py keeps nn.Embedding's N(0, 1) positions; tying to head keeps nn.Linear's init",
        "keep_partial": "benchmark.py's DataLoader keeps the last partial batch (drop_last=False)",
        "val_average": "benchmark.py's evaluate divides the sum of batch losses by the number of batches",
    }


RECIPES: dict[str, Careful] = {"careful": Careful(), "paper": Paper()}


def get_recipe(name: str) -> Careful:
    """The recipe called `name` ("careful" or "paper"); GamlabError for another name."""
    if name not in RECIPES:
        raise GamlabError(f"Unknown recipe {name!r}; choose one of {', '.join(RECIPES)}.")
    return RECIPES[name]


def differences() -> list[tuple[str, object, object, str, str]]:
    """(choice, careful value, paper value, careful's reason, paper's reason) for each difference."""
    careful, paper = RECIPES["careful"], RECIPES["paper"]
    return [(f.name, getattr(careful, f.name), getattr(paper, f.name), Careful.WHY[f.name], Paper.WHY[f.name])
            for f in fields(Careful) if f.name != "name"]
