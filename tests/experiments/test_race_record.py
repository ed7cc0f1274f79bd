"""The race's typed record (gamlab/experiments/race_record.py): save/load, versions refused, the
project's saved races loadable, and the README's table made from the record."""

import json
from pathlib import Path

import pytest

from gamlab import GamlabError
from gamlab.config import ModelConfig
from gamlab.experiments.race_record import VERSION, ModelRace, RaceResult, Regime, SeedRun
from gamlab.training.train import TrainConfig

ROOT = Path(__file__).resolve().parents[2]


def small_race() -> RaceResult:
    def run(seed, loss):
        return SeedRun(seed=seed, lr=2e-3, params=100, steps=4, seconds=1.0 + seed, cpu_seconds=1.0,
                       s_per_epoch=None, tokens_per_s=50.0, val_loss=loss, ppl=2.0 ** loss, context_gain=0.0,
                       history=[{"step": 4, "val_loss": loss}])

    regime = Regime(preset="fast", dataset="embedded", tokenizer="char", vocab_size=49, train_tokens=1000,
                    val_tokens=100, steps_per_epoch=10, model_config=ModelConfig.preset("tiny", vocab_size=49),
                    train_config=TrainConfig(steps=4), seeds=[0, 1], device="cpu", threads=1, describe="cpu",
                    wall_seconds=3.0, precision="fp32", command="gamlab compare --fast")
    gam = ModelRace("gam", 2e-3, "preset, not tuned", {}, [run(0, 1.0), run(1, 2.0)], "Once", [0.5, 0.0])
    return RaceResult(regime, [gam], unigram=3.0, ngrams={4: 1.2, 5: 1.1}, reach=3, reading=["gam alone."])


def test_a_record_saves_and_loads_as_it_was(tmp_path):
    race = small_race()
    path = race.save(tmp_path / "deep" / "results.json")
    again = RaceResult.load(path)
    assert again == race
    assert isinstance(again.regime.model_config, ModelConfig) and isinstance(again.regime.train_config, TrainConfig)
    assert again.ngrams == {4: 1.2, 5: 1.1} and again.regime.steps == 4
    row = again.model("gam").row()
    assert row["val_loss"] == 1.5 and row["seeds"] == [0, 1] and row["val_loss_std"] == pytest.approx(0.5 ** 0.5)
    assert "1.500±0.707" in again.table() and "5-gram" in again.table()
    with pytest.raises(GamlabError, match="the race has no model 'mamba'; it ran gam"):
        again.model("mamba")


@pytest.mark.parametrize("change, words", [
    ({"version": VERSION + 1}, f"is a race record of version {VERSION + 1}, and this gamlab reads version {VERSION}"),
    ({"version": None}, "is a race record of version None"),
    ({"format": "something else"}, "is not a race record of gamlab compare"),
])
def test_another_version_or_format_is_refused_in_one_sentence(tmp_path, change, words):
    path = small_race().save(tmp_path / "results.json")
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(GamlabError, match=words) as err:
        RaceResult.load(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_a_missing_or_broken_file_is_one_sentence(tmp_path):
    with pytest.raises(GamlabError, match="no race record at"):
        RaceResult.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(GamlabError, match="is not valid JSON"):
        RaceResult.load(tmp_path / "bad.json")


@pytest.mark.parametrize("name", ["compare_results.json", "crossover_results.json"])
def test_the_projects_saved_races_load(name):
    race = RaceResult.load(ROOT / "docs" / name)
    assert race.regime.preset == "tiny" and race.regime.dataset == "embedded" and race.regime.command
    assert race.model("gam").runs[0].params == 128_064  # what `gamlab info --preset tiny` prints
    assert all(len(m.runs) == len(race.regime.seeds) for m in race.models)
    assert race.reading[0].startswith("Ranking by validation loss")


def test_the_readme_table_is_the_saved_records():
    """The README's results table is RaceResult.table() of docs/compare_results.json, character for character."""
    race = RaceResult.load(ROOT / "docs" / "compare_results.json")
    assert race.table() in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_html_table_holds_the_text_tables_cells_one_per_td():
    """Lesson 05 shows the race as HTML (the text table is 117 characters wide, wider than a
    projector shows): the same header and cells, baselines below the models, escaped."""
    import html.parser

    race = small_race()
    race.models[0].name = "gam<b>"  # a name is text, never markup

    class Cells(html.parser.HTMLParser):
        """Each row's cells as text; a cell's text runs on across a <br/> (a spread under its mean)."""

        def __init__(self):
            super().__init__()
            self.rows, self.in_cell = [], False

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.rows[-1].append("")
                self.in_cell = True

        def handle_data(self, data):
            if self.in_cell:
                self.rows[-1][-1] += data

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self.in_cell = False

    parser = Cells()
    parser.feed(race.html_table())
    text_rows = [line for line in race.table().splitlines() if not line.startswith("---")]
    assert len(parser.rows) == len(text_rows) == 1 + 1 + 1 + 2  # header, gam, unigram, 4- and 5-gram
    assert parser.rows[0][:2] == ["Model", "Params"] and parser.rows[0][-1] == "Gain>R=3"
    assert parser.rows[1][0] == "gam<b>" and "1.500±0.707" in parser.rows[1]
    assert "1.500<br/>±0.707" in race.html_table()  # the spread under its mean: the table fits a projector
    assert [r[0] for r in parser.rows[2:]] == ["unigram", "4-gram (R)", "5-gram"]
    for cells, line in zip(parser.rows[1:], text_rows[1:]):
        assert all(c in line for c in cells)  # the text table shows the same cells


def test_the_leader_per_step_and_per_second_can_differ():
    race = small_race()
    fast = ModelRace("gam", 2e-3, "", {}, [SeedRun(0, 2e-3, 100, 4, 1.0, 1.0, None, 1.0, 1.0, 2.0, history=[
        {"step": 2, "elapsed": 1.0, "val_loss": 2.0}, {"step": 4, "elapsed": 2.0, "val_loss": 1.5}])])
    slow = ModelRace("mamba", 2e-3, "", {}, [SeedRun(0, 2e-3, 100, 4, 8.0, 8.0, None, 1.0, 1.0, 2.0, history=[
        {"step": 2, "elapsed": 4.0, "val_loss": 1.8}, {"step": 4, "elapsed": 8.0, "val_loss": 1.2}])])
    race.models = [fast, slow]
    assert race.leader("step") == ("mamba", 2)  # at step 2: 1.8 < 2.0
    assert race.leader("elapsed") == ("gam", 4.0)  # at 4 s gam has done 4 steps: 1.5 < 1.8
    with pytest.raises(GamlabError, match="choose 'step' or 'elapsed'"):
        race.leader("tokens")
