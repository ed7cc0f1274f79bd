"""The command line follows argparse's conventions (issue 24, item 6): every command's --help has
its description and examples, every option has help and shows its default once, `gamlab
--version`, and one spelling, dest and type per option across commands."""

import argparse
import importlib
import inspect
from importlib import metadata

import pytest

from gamlab import cli
from gamlab.errors import GamlabError
from gamlab.experiments.runs import PRESETS

PARSER = cli.build_parser()
SUBPARSERS = next(a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction)).choices


def options(command: str) -> list[argparse.Action]:
    """The options `gamlab COMMAND --help` lists (hidden aliases and -h left out)."""
    return [a for a in SUBPARSERS[command]._actions
            if a.option_strings and a.help is not argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)]


def help_text(command: str, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_help_shows_the_description_and_an_example(command, capsys):
    text = help_text(command, capsys)
    doc = inspect.getdoc(importlib.import_module(cli.COMMANDS[command]))
    assert doc.splitlines()[0] in text  # the description, as the module's docstring says it
    examples = [line for line in doc.splitlines() if line.startswith(f"    gamlab {command}")]
    assert examples, f"the docstring of gamlab {command} has no example line"
    assert all(line in text for line in examples)  # kept as written, aligned


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_option_has_help_and_its_default_said_once(command):
    formatter = SUBPARSERS[command]._get_formatter()
    for action in options(command):
        assert action.help and action.help.strip(), f"gamlab {command} {action.option_strings[0]} has no help"
        text = formatter._expand_help(action)  # what --help prints for it
        assert text.count("default") <= 1, f"{action.option_strings[0]} says its default twice: {text!r}"
        if action.default not in (None, False, []):
            assert "default" in text, f"{action.option_strings[0]} does not show its default {action.default!r}"


def test_a_default_is_shown_in_the_help(capsys):
    text = help_text("train", capsys)
    assert "(default: 0)" in " ".join(text.split())  # --seed
    assert "(default: runs/compare)" in " ".join(help_text("compare", capsys).split())  # --out


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"gamlab {metadata.version('gamlab')}\n"


def test_one_option_means_one_thing_in_every_command():
    seen: dict[str, tuple] = {}
    for command in cli.COMMANDS:
        for action in options(command):
            for flag in action.option_strings:
                kind = (action.dest, action.type, type(action).__name__)
                assert seen.setdefault(flag, (command, kind))[1] == kind, \
                    f"{flag} is {kind} in gamlab {command} but {seen[flag][1]} in gamlab {seen[flag][0]}"


@pytest.mark.parametrize("flag, commands", [
    ("--fast", ["info", "train", "compare", "sweep", "bench", "recall"]),
    ("--no-progress", ["train", "compare", "sweep", "bench", "recall", "reproduce"]),
    ("--precision", ["train", "compare", "sweep", "recall", "reproduce"]),
    ("--device", list(cli.COMMANDS)),
    ("--seed", ["train", "compare", "sweep", "recall", "reproduce"]),
])
def test_the_shared_options_are_on_every_command_they_apply_to(flag, commands):
    missing = [c for c in commands if not any(flag in a.option_strings for a in options(c))]
    assert not missing, f"{flag} is missing on {missing}"


def test_no_command_spells_the_batch_size_otherwise():
    for command in cli.COMMANDS:
        flags = {f for a in options(command) for f in a.option_strings}
        assert not flags & {"--batch", "--batch_size", "--bs"}, command


def test_bench_takes_batch_size_and_its_old_spelling():
    from gamlab.commands.bench import settings

    for flag in ("--batch-size", "--batch"):  # --batch: the old spelling, hidden from --help, still read
        args = PARSER.parse_args(["bench", flag, "3", "--device", "cpu"])
        assert settings(args)["batch"] == 3


def test_bench_fast_is_a_tiny_grid_that_explicit_options_change():
    from gamlab.commands.bench import settings

    s = settings(PARSER.parse_args(["bench", "--fast", "--device", "cpu"]))
    fast = PRESETS["fast"].model
    assert (s["lengths"], s["batch"], s["repeats"]) == ([32, 64], 2, 1)
    assert (s["d_model"], s["n_slots"]) == (fast.d_model, fast.n_slots)
    s = settings(PARSER.parse_args(["bench", "--fast", "--lengths", "16", "--batch-size", "4", "--device", "cpu"]))
    assert (s["lengths"], s["batch"]) == ([16], 4)


@pytest.mark.parametrize("command", ["bench", "recall"])
@pytest.mark.parametrize("quiet", [False, True])
def test_no_progress_reaches_the_grid(command, quiet, tmp_path, monkeypatch, capsys):
    module = importlib.import_module(cli.COMMANDS[command])
    given = {}

    def run_grid(*args, progress=None, **kwargs):
        given["progress"] = progress
        raise GamlabError("stopped here by the test")

    monkeypatch.setattr(module, "run_grid", run_grid)
    if command == "bench":
        monkeypatch.setattr(module, "matmul_rate", lambda device, **kwargs: 1e9)
    argv = [command, "--fast", "--device", "cpu", "--out", str(tmp_path / "out")] + ["--no-progress"] * quiet
    assert cli.main(argv) == 2 and "stopped here by the test" in capsys.readouterr().err
    assert (given["progress"] is None) == quiet


@pytest.mark.parametrize("argv", [["bench", "--batch-size", "0"], ["train", "--model", "gam", "--out", "x", "--lr", "-1"],
                                  ["recall", "--bogus"]])
def test_a_bad_option_is_still_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and "error:" in err[0] and "--help" in err[0], err
