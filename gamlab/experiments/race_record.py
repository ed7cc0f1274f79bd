"""The race's record: what gamlab.experiments.compare.compare returns and `gamlab compare` saves.

    race = compare(["gam", "transformer"], PRESETS["tiny"], tc)    # a RaceResult
    race.save("runs/compare/results.json")
    race = RaceResult.load("docs/compare_results.json")              # lesson 05's replay, the README
    print(race.table())                                              # the paper's Table 1 layout
    race.model("gam").runs[0].history                                # one seed's evaluations

Three levels, one dataclass each: RaceResult (the regime the numbers hold in, the baselines,
the reading, one ModelRace per model), ModelRace (its learning rate and where it came from,
its parameter-budget change, a sample, its context-gain curve, one SeedRun per seed) and
SeedRun (one training run's numbers and history). The aggregates (mean and spread over seeds)
are computed from the runs (ModelRace.row), never stored apart from them.

Saved as JSON with a format name and a version; load refuses another version in one sentence.
Losses in nats/token, times in seconds.

Used in notebooks/05_showdown.ipynb.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ModelConfig
from ..errors import GamlabError
from ..runtime import pick_device, pick_precision
from ..training.files import read_refusal, write_atomic
from ..training.train_config import TrainConfig
from .race_table import format_table, html_table
from .runs import model_config

FORMAT, VERSION = "gamlab race", 1
# Numbers of a run that vary from seed to seed; a row shows their mean and spread.
MEASURED = ("seconds", "cpu_seconds", "s_per_epoch", "tokens_per_s", "val_loss", "ppl", "context_gain")


def mean_std(values: list[float | None]) -> tuple[float | None, float | None]:
    """(mean, sample standard deviation) of the values; std None for fewer than two; (None, None) if any is None."""
    if not values or any(v is None for v in values):
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def aggregate(runs: list[dict]) -> dict:
    """One model's rows, one per seed -> one row: each MEASURED number's mean (under its own
    key) and sample standard deviation (under key + "_std", None for one seed)."""
    row = {k: v for k, v in runs[0].items() if k not in MEASURED}
    for key in MEASURED:
        row[key], row[key + "_std"] = mean_std([r.get(key) for r in runs])
    row["seeds"] = [r["seed"] for r in runs]
    return row


@dataclass
class SeedRun:
    """One model trained once: Trainer.summary's numbers, and its history (one dict per evaluation)."""

    seed: int
    lr: float
    params: int
    steps: int
    seconds: float  # training, evaluation excluded
    cpu_seconds: float
    s_per_epoch: float | None
    tokens_per_s: float | None
    val_loss: float  # over the whole validation split
    ppl: float
    context_gain: float | None = None  # gamlab.inspection.context_use at GAM's reach; None: not measured
    history: list[dict] = field(default_factory=list)


@dataclass
class ModelRace:
    """One model of the race: its settings, and its runs in seed order."""

    name: str
    lr: float
    lr_source: str  # "--lr", "tuned: <the sweep's command>" or "preset, not tuned"
    config_changes: dict  # its budget knob as set to match GAM's count, e.g. {"expand": 3}; {} for none
    runs: list[SeedRun]
    sample: str = ""  # a continuation of the first seed's model
    context_curve: list[float] | None = None  # gain by lag, averaged over seeds

    def row(self) -> dict:
        """The table's row: mean and spread over seeds of each MEASURED number (aggregate)."""
        return aggregate([dict(model=self.name, config_changes=self.config_changes,
                               **{k: v for k, v in dataclasses.asdict(r).items() if k != "history"})
                          for r in self.runs])


@dataclass
class Regime:
    """What the numbers hold in: the preset, data, budget and machine of the race."""

    preset: str
    dataset: str
    tokenizer: str
    vocab_size: int
    train_tokens: int
    val_tokens: int
    steps_per_epoch: int
    model_config: ModelConfig  # the preset's model at this vocabulary (before any budget match)
    train_config: TrainConfig  # the first seed's; each model ran at its own lr
    seeds: list[int]
    device: str
    threads: int  # torch's CPU threads
    describe: str  # gamlab.runtime.describe: versions and device, one line
    wall_seconds: float  # the whole race: data, count tables, every run and its measures
    precision: str | None = None  # the arithmetic of training (gamlab.runtime.pick_precision): fp32, fp16, bf16
    command: str | None = None  # the command line that makes the race again (`gamlab compare`)
    note: str | None = None  # anything else a reader must know (e.g. a busy machine)

    @property
    def steps(self) -> int:
        return self.train_config.total_steps(self.steps_per_epoch)


@dataclass
class RaceResult:
    """A race: its regime, its models (with their per-seed runs), the unigram and count-table
    baselines {n: val loss}, GAM's reach R, and the reading (compare.reading) printed under the table."""

    regime: Regime
    models: list[ModelRace]
    unigram: float
    ngrams: dict[int, float]
    reach: int
    reading: list[str]

    def model(self, name: str) -> ModelRace:
        for m in self.models:
            if m.name == name:
                return m
        raise GamlabError(f"the race has no model {name!r}; it ran {', '.join(m.name for m in self.models)}.")

    def rows(self) -> list[dict]:
        """One aggregated row per model (ModelRace.row), in the race's order."""
        return [m.row() for m in self.models]

    def histories(self, seed: int = 0) -> dict[str, list[dict]]:
        """{model: history} of the `seed`-th seed run (0: the first seed)."""
        return {m.name: m.runs[seed].history for m in self.models}

    def leader(self, by: str = "step") -> tuple[str, float]:
        """(model, x): who has the lowest validation loss at x, the earliest point on the axis
        `by` ("step", or "elapsed": training seconds) that every model's first-seed history has
        reached; each model counts with its last evaluation at or before x. Lesson 05 prints it
        per step and per second, where the ranking can differ (steps cost different times)."""
        if by not in ("step", "elapsed"):
            raise GamlabError(f"by={by!r}: choose 'step' or 'elapsed'.")
        histories = {name: h for name, h in self.histories().items() if h}
        if not histories:
            raise GamlabError("the race recorded no evaluations; train with eval_every below its steps.")
        x = max(h[0][by] for h in histories.values())
        at = {name: [e for e in h if e[by] <= x][-1]["val_loss"] for name, h in histories.items()}
        return min(at, key=at.get), x

    def table(self) -> str:
        """The paper's Table 1 layout with the baselines (gamlab.experiments.race_table.format_table)."""
        return format_table(self.rows(), self.unigram, self.ngrams, self.reach)

    def html_table(self) -> str:
        """The same table as HTML (gamlab.experiments.race_table.html_table), for a notebook:
        display(IPython.display.HTML(race.html_table())). Used in notebooks/05_showdown.ipynb."""
        return html_table(self.rows(), self.unigram, self.ngrams, self.reach)

    def differs(self, preset, data, tc: TrainConfig, models) -> str | None:
        """Why this race is not the race of `models` on run preset `preset` with `data` (a
        TextData) and tc's budget (steps, batch size, first seed), as the end of "it ...";
        None when it is, so that its replay can stand in for training it (lesson 05)."""
        r = self.regime
        if (r.preset, r.dataset) != (preset.name, data.name):
            return f"raced preset {r.preset!r} on {r.dataset}, not {preset.name!r} on {data.name}"
        if r.model_config != model_config(preset, data.vocab_size):
            return "raced another model configuration than the preset's"
        for key in ("steps", "batch_size", "seed"):
            if getattr(r.train_config, key) != getattr(tc, key):
                return f"raced with {key.replace('_', ' ')} {getattr(r.train_config, key)}, not {getattr(tc, key)}"
        if [m.name for m in self.models] != list(models):
            return f"raced {', '.join(m.name for m in self.models)}, not {', '.join(models)}"
        wanted = pick_precision(pick_device(tc.device), tc.precision)
        if (r.precision or "fp32") != wanted:  # a record without it was made in float32 on a CPU
            return f"raced in {r.precision or 'fp32'}, not {wanted}"
        return None

    # ------------------------------------------------------------ JSON

    def to_dict(self) -> dict:
        regime = dataclasses.asdict(self.regime)
        regime.update(model_config=self.regime.model_config.to_dict(), train_config=self.regime.train_config.to_dict())
        return {"format": FORMAT, "version": VERSION, "regime": regime,
                "models": [dataclasses.asdict(m) for m in self.models], "unigram": self.unigram,
                "ngrams": {str(n): loss for n, loss in self.ngrams.items()}, "reach": self.reach,
                "reading": self.reading, "rows": self.rows()}  # rows: for a reader of the file; load recomputes them

    @classmethod
    def from_dict(cls, data: dict, source: str = "the record") -> RaceResult:
        if data.get("format") != FORMAT:
            raise GamlabError(f"{source} is not a race record of gamlab compare (no {FORMAT!r} format); "
                              "point at the results.json that `gamlab compare` wrote.")
        if data.get("version") != VERSION:
            raise GamlabError(f"{source} is a race record of version {data.get('version')}, and this gamlab reads "
                              f"version {VERSION}; run `gamlab compare` again, or read it with the gamlab that wrote it.")
        regime = dict(data["regime"])
        regime.update(model_config=ModelConfig.from_dict(regime["model_config"]),
                      train_config=TrainConfig.from_dict(regime["train_config"]))
        models = [ModelRace(**{**m, "runs": [SeedRun(**r) for r in m["runs"]]}) for m in data["models"]]
        return cls(Regime(**regime), models, data["unigram"], {int(n): v for n, v in data["ngrams"].items()},
                   data["reach"], list(data["reading"]))

    def save(self, path: str | Path, kept: str = "the table printed above is all that was kept") -> Path:
        """Write the record as JSON to `path` (a file; its folder is made), all or nothing; returns
        the path. A failed write (no space, no permission) is one GamlabError saying `kept`
        (gamlab.training.files.write_atomic)."""
        return write_atomic(Path(path), json.dumps(self.to_dict(), indent=1), kept=kept)

    @classmethod
    def load(cls, path: str | Path) -> RaceResult:
        """The record saved at `path`; GamlabError, in one sentence, for a missing file, a file
        that is not JSON, not a race record, or a record of another version."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise GamlabError(f"no race record at {path}; run `gamlab compare --out {path.parent}` first.") from None
        except OSError as exc:  # unreadable: a permission problem is named as one, never as damage
            raise read_refusal(path, exc, "race record") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise GamlabError(f"{path} is not valid JSON ({type(exc).__name__}); write it again with gamlab compare.") \
                from None
        if not isinstance(data, dict):
            data = {}
        return cls.from_dict(data, str(path))
