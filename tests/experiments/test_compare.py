"""The fair race: per-model learning rates, seeds with spread, the context gain, count tables."""

import math

import pytest

from gamlab import GamlabError
from gamlab.experiments.compare import aggregate, compare, reading, within_spread
from gamlab.experiments.race_table import format_table
from gamlab.experiments.runs import PRESETS, train_config
from gamlab.experiments.sweep import learning_rates, load_tuned, save_tuned, sweep


def rows(*pairs, n=3):
    return [{"model": m, "val_loss": v, "val_loss_std": s, "seeds": list(range(n))} for m, v, s in pairs]


def test_reading_says_when_a_gap_lies_within_the_spread():
    a, b, c = rows(("gam", 1.00, 0.05), ("transformer", 1.04, 0.05), ("mamba", 1.50, 0.05))
    assert within_spread(a, b) is True and within_spread(a, c) is False
    text = " ".join(reading([a, b, c], {6: 1.2}, reach=5))
    assert "gam vs transformer: the gap (0.040) lies within the spread" in text
    assert "transformer vs mamba: the gap (0.460) exceeds the spread" in text
    assert "its loss 1.000 is below the 6-gram count table of that window (1.200)" in text
    one = rows(("gam", 1.0, None), ("transformer", 2.0, None), n=1)
    assert within_spread(*one) is None and "one seed, so no spread was measured" in reading(one)[1]


def test_aggregate_means_and_sample_std_per_number():
    runs = [{"model": "gam", "params": 10, "steps": 4, "seed": s, "val_loss": v, "ppl": math.exp(v),
             "seconds": 1.0 + s, "cpu_seconds": 1.0, "s_per_epoch": None, "tokens_per_s": 5.0, "context_gain": 0.0}
            for s, v in ((0, 1.0), (1, 2.0), (2, 3.0))]
    row = aggregate(runs)
    assert row["val_loss"] == 2.0 and row["val_loss_std"] == 1.0 and row["seeds"] == [0, 1, 2]
    assert row["s_per_epoch"] is None and row["params"] == 10
    table = format_table([dict(row, lr=2e-3)], unigram=3.0, ngrams={6: 0.4, 7: 0.3}, reach=5)
    assert "2.000±1.000" in table and "   0.002" in table and "6-gram (R)" in table and "7-gram " in table


def test_learning_rates_come_from_the_flag_the_stored_sweep_or_the_preset(tmp_path):
    path = tmp_path / "tuned.json"
    save_tuned("tiny", {"lr": {"gam": 8e-3}, "steps": 240}, command="gamlab sweep --preset tiny", path=path)
    save_tuned("fast", {"lr": {"gam": 1e-2}}, command="gamlab sweep --fast", path=path)
    assert set(load_tuned(path)) == {"tiny", "fast"}  # one preset's sweep keeps the others'
    lrs = learning_rates("tiny", ["gam", "transformer"], default=2e-3, path=path)
    assert lrs == {"gam": (8e-3, "tuned: gamlab sweep --preset tiny"), "transformer": (2e-3, "preset, not tuned")}
    assert learning_rates("tiny", ["gam"], lr=1e-4, path=path) == {"gam": (1e-4, "--lr")}


def test_the_shipped_sweep_is_found_and_used_by_default():
    """gamlab/experiments/tuned_lr.json is package data beside sweep.py: `gamlab compare` and lesson 05
    read it without a path (a lost file would fall back to the preset's rate without a word)."""
    from gamlab.experiments.sweep import tuned_path

    assert tuned_path().is_file() and tuned_path().parent.name == "experiments"
    stored = load_tuned()["tiny"]
    lrs = learning_rates("tiny", ["gam", "transformer", "mamba"], default=2e-3)
    assert {name: lr for name, (lr, _) in lrs.items()} == stored["lr"]
    assert all(source.startswith("tuned: gamlab sweep") for _, source in lrs.values())


def test_sweep_keeps_the_lowest_loss_and_survives_a_diverging_rate():
    preset = PRESETS["fast"]
    result = sweep(["gam"], preset, train_config(preset), grid=[3e-3, 1e4], steps=4, log=lambda line: None)
    table = result["val_loss"]["gam"]
    assert table["10000"] == [math.inf] or table["10000"][0] > table["0.003"][0]
    assert result["lr"] == {"gam": 3e-3} and result["at_edge"] == ["gam"] and result["steps"] == 4


@pytest.mark.parametrize("kwargs,words", [(dict(grid=[]), "grid must hold positive"),
                                          (dict(grid=[-1.0]), "grid must hold positive"),
                                          (dict(seeds=0), "--steps and --seeds must be positive")])
def test_sweep_mistakes_are_one_sentence(kwargs, words):
    preset = PRESETS["fast"]
    with pytest.raises(GamlabError, match=words):
        sweep(["gam"], preset, train_config(preset), **kwargs)


def test_compare_refuses_zero_seeds():
    with pytest.raises(GamlabError, match="--seeds must be a positive number"):
        compare(["gam"], PRESETS["fast"], train_config(PRESETS["fast"]), seeds=0)


def test_lr_sweep_figure_draws_what_the_sweep_measured():
    from gamlab.inspection.plots import MODEL_COLORS, lr_sweep

    result = {"val_loss": {"gam": {"0.001": [1.0, 1.2], "0.002": [0.8], "0.004": [math.inf]},
                           "transformer": {"0.001": [2.0], "0.002": [1.5], "0.004": [1.4]}},
              "lr": {"gam": 0.002, "transformer": 0.004}, "steps": 240}
    fig = lr_sweep(result)
    gam, tr = fig.data
    assert list(gam.x) == [0.001, 0.002, 0.004] and gam.y[0] == pytest.approx(1.1)  # the mean over seeds
    assert list(gam.y[1:]) == [0.8, None]  # a gap for the diverged run
    assert gam.line.color == MODEL_COLORS["gam"] and tr.line.color == MODEL_COLORS["transformer"]
    assert list(gam.marker.symbol) == ["circle", "star", "circle"] and tr.marker.symbol[-1] == "star"
    assert fig.layout.xaxis.type == "log" and "240 steps" in fig.layout.title.text


def test_reading_calls_a_negative_context_gain_noise_with_its_spread():
    gam, tf = rows(("gam", 1.0, 0.05), ("transformer", 1.1, 0.05))
    gam["context_gain"], gam["context_gain_std"] = 0.0, 0.0
    tf["context_gain"], tf["context_gain_std"] = -0.005, 0.004
    text = " ".join(reading([gam, tf], {6: 1.2}, reach=5))
    assert "transformer's gain below zero (-0.005) is noise" in text and "±0.004" in text
    assert "gam's gain below zero" not in text  # zero is not below zero


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_the_race_samples_continue_a_prompt_its_tokenizer_knows(tmp_path, kind):
    """The stories' opening where the text has its letters; on a text in another script, the
    first words of the validation text (the opening's letters would be unknown tokens)."""
    from gamlab.experiments.runs import STORY_PROMPT, sample_prompt
    from gamlab.training.data import load_data

    english = tmp_path / "english.txt"
    english.write_text("".join(f"Once more, upon line {i}, a time came and went.\n" for i in range(200)))
    greek = tmp_path / "greek.txt"
    greek.write_text("".join(f"γραμμή {i}: αλφα βήτα γάμμα δέλτα έψιλον.\n" for i in range(200)), encoding="utf-8")
    knobs = dict(tokenizer=kind, vocab_size=300, block_size=16, batch_size=2)
    assert sample_prompt(load_data(str(english), **knobs)) == STORY_PROMPT
    prompt = sample_prompt(load_data(str(greek), **knobs))
    assert prompt.startswith("γραμμή 180:") and len(prompt.split()) == 4 and "\ufffd" not in prompt


def test_check_learned_checks_on_the_stories_and_says_it_on_your_own_text(capsys):
    from gamlab.experiments.runs import check_learned

    check_learned("gam", 1.0, "the unigram counts", 2.0, "embedded")  # below the bar: silent
    check_learned("gam", 1.0, "the unigram counts", 2.0, "mine.txt")
    assert capsys.readouterr().out == ""
    with pytest.raises(AssertionError, match="gam is no better than the unigram counts"):
        check_learned("gam", 2.5, "the unigram counts", 2.0, "embedded")
    check_learned("gam", 2.5, "the unigram counts", 2.0, "mine.txt")
    out = capsys.readouterr().out
    assert out.startswith("gam is no better than the unigram counts (2.500 against 2.000)")
    assert all(len(line) <= 80 for line in out.splitlines())
