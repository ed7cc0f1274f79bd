"""The run layer (gamlab/experiments/runs.py): the one preset vocabulary, and a trained model in
one call (load a saved run that matches, or train one)."""

import pytest

from gamlab import GamlabError
from gamlab.experiments.compare import DEFAULT_MODELS, compare
from gamlab.experiments.runs import PRESETS, load_run_data, race_configs, train_config, trained_model
from gamlab.model import shapes_only
from gamlab.training.checkpoint import load_checkpoint

FAST = PRESETS["fast"]


# ---------------------------------------------------------------- one preset vocabulary

def command_presets():
    """{command: the choices of its --preset} for every command that has one."""
    from gamlab.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return {name: next((a.choices for a in p._actions if "--preset" in a.option_strings), None)
            for name, p in sub.choices.items()}


def test_preset_means_a_run_preset_in_every_command():
    presets = command_presets()
    assert {c for c, choices in presets.items() if choices is not None} >= {"info", "compare", "train", "sweep",
                                                                          "bench"}
    for command, choices in presets.items():
        assert choices is None or list(choices) == list(PRESETS), command


def test_each_preset_knows_its_name_and_keeps_the_papers_facts():
    assert all(p.name == name for name, p in PRESETS.items())
    paper = PRESETS["paper"]
    assert (paper.model.d_model, paper.model.n_layer, paper.model.block_size, paper.model.n_slots) == (512, 6, 256, 512)
    assert (paper.train.batch_size, paper.train.lr, paper.train.epochs) == (32, 3e-4, 5)
    assert train_config(FAST, steps=3, seed=2).steps == 3 and FAST.train.steps == 12  # a copy, the preset unchanged


def test_bench_preset_measures_that_presets_block():
    from gamlab.cli import build_parser
    from gamlab.commands.bench import settings

    def sizes(*argv):
        s = settings(build_parser().parse_args(["bench", "--device", "cpu", *argv]))
        return s["d_model"], s["n_slots"], s["batch"], s["lengths"][-1]

    tiny = PRESETS["tiny"].model
    assert sizes("--preset", "tiny")[:2] == (tiny.d_model, tiny.n_slots) == (64, 64)
    assert sizes("--preset", "paper") == (512, 512, 16, 8192)  # the paper's Table 2
    assert sizes("--preset", "paper", "--slots", "128")[1] == 128 and sizes()[:2] == (128, 512)


@pytest.mark.parametrize("name", list(PRESETS))
def test_info_counts_the_models_compare_builds(name, capsys):
    """`gamlab info --preset P` prints, per model, the parameter count of the model `gamlab compare
    --preset P` builds: the preset's model at the vocabulary its tokenizer gets, budget matched."""
    from gamlab.cli import main

    assert main(["info", "--preset", name]) == 0
    shown = {line.split()[0]: int(line.split()[1].replace(",", "")) for line in capsys.readouterr().out.splitlines()
             if line.startswith("  ")}
    preset = PRESETS[name]
    data = load_run_data(preset, train_config(preset))  # the data compare loads
    for model, config in race_configs(DEFAULT_MODELS, preset, data.vocab_size).items():
        assert shown[model] == shapes_only(model, config).num_params(), model
    if name == "tiny":
        assert shown["gam"] == 128_064  # the GAM of docs/compare_results.json, trained by `gamlab compare`


def test_info_counts_what_compare_trained_in_fast(capsys):
    """The fast preset through compare's own code path (one step each): the trained models' counts."""
    from gamlab.cli import main

    assert main(["info", "--fast"]) == 0
    shown = {line.split()[0]: int(line.split()[1].replace(",", "")) for line in capsys.readouterr().out.splitlines()
             if line.startswith("  ")}
    race = compare(list(DEFAULT_MODELS), FAST, train_config(FAST, steps=1), context=False, progress=False,
                   log=lambda line: None)
    assert {m.name: m.runs[0].params for m in race.models} == {m: shown[m] for m in DEFAULT_MODELS}


# ---------------------------------------------------------------- a trained model in one call

def test_trained_model_trains_when_nothing_is_saved_then_loads_that_run(tmp_path):
    lines = []
    run = trained_model("gam", FAST, out=tmp_path / "gam", progress=False, log=lines.append)
    assert run.trained_here and run.history[-1]["step"] == 12 and not run.model.training
    assert str(run).startswith(f"trained {tmp_path / 'gam'}: gam, ") and "12 steps of preset 'fast'" in str(run)
    assert "on embedded (char tokens" in str(run)
    again = trained_model("gam", FAST, out=tmp_path / "gam", progress=False, log=lines.append)
    assert not again.trained_here and str(again).startswith(f"loaded {tmp_path / 'gam'}: gam, ")
    assert again.history == run.history and again.data.vocab_size == run.data.vocab_size
    for a, b in zip(run.model.parameters(), again.model.parameters()):
        assert (a == b).all()
    assert lines == []


def test_trained_model_loads_a_race_run_at_its_tuned_rate(tmp_path):
    """A race's saved GAM (compare --out, lesson 05) is that run: other lr, same model, data, budget."""
    compare(["gam"], FAST, train_config(FAST), lrs={"gam": (8e-3, "tuned")}, context=False, progress=False,
            out=tmp_path / "race", log=lambda line: None)
    run = trained_model("gam", FAST, out=tmp_path / "own", look_in=[tmp_path / "race" / "gam"], progress=False)
    assert not run.trained_here and run.folder == tmp_path / "race" / "gam" and run.lr == 8e-3
    assert "at lr 0.008" in str(run) and not (tmp_path / "own").exists()


def test_trained_model_passes_over_another_run_and_refuses_one_in_its_own_folder(tmp_path):
    trained_model("gam", FAST, out=tmp_path / "short", progress=False)
    state = load_checkpoint(tmp_path / "short")
    assert state["train_config"]["steps"] == 12
    # another budget: a run of 5 steps, made by the same call with the preset's steps changed
    from gamlab.experiments.runs import make_trainer, model_config

    tc = train_config(FAST, steps=5)
    data = load_run_data(FAST, tc)
    make_trainer("gam", model_config(FAST, data.vocab_size), data, tc, out=tmp_path / "five", progress=False).fit()
    make_trainer("mamba", model_config(FAST, data.vocab_size), data, train_config(FAST), out=tmp_path / "mamba",
                 progress=False).fit()
    lines = []
    run = trained_model("gam", FAST, out=tmp_path / "short", look_in=[tmp_path / "five", tmp_path / "mamba"],
                        progress=False, log=lines.append)
    assert run.folder == tmp_path / "short" and not run.trained_here
    assert lines == [f"not using {tmp_path / 'five'}: it holds a run of steps 5, not the preset's 12.",
                     f"not using {tmp_path / 'mamba'}: it holds model 'mamba', not 'gam'."]
    with pytest.raises(GamlabError, match=f"{tmp_path / 'five'} holds a run of steps 5, not the preset's 12; "
                                          "choose another folder for preset 'fast' or delete that run."):
        trained_model("gam", FAST, out=tmp_path / "five", progress=False)
    with pytest.raises(GamlabError, match="holds model 'gam', not 'mamba'"):
        trained_model("mamba", FAST, out=tmp_path / "short", progress=False)


def test_trained_model_finishes_an_unfinished_run_in_its_folder(tmp_path):
    from gamlab.experiments.runs import make_trainer, model_config

    tc = train_config(FAST, checkpoint_every=6)  # a run cut off after step 6's checkpoint
    data = load_run_data(FAST, tc)
    make_trainer("gam", model_config(FAST, data.vocab_size), data, tc, out=tmp_path / "gam", progress=False).fit(7)
    whole = trained_model("gam", FAST, out=tmp_path / "whole", progress=False)
    lines = []
    run = trained_model("gam", FAST, out=tmp_path / "gam", progress=False, log=lines.append)
    assert lines == [f"resuming the unfinished run in {tmp_path / 'gam'} at step 6 of 12"]
    assert run.trained_here and [h["val_loss"] for h in run.history] == [h["val_loss"] for h in whole.history]
