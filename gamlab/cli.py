"""`gamlab ...` / `python -m gamlab ...`: the command-line entry point.

Each command lives in the module that does its work and exposes `add_parser(subparsers)`
and `run(args)`; this file only lists them, gives every command's --help its module's
docstring (description and examples) and each option's default, claims a command's --out
folder before it runs (created, writable, one writer), and turns user mistakes into one-line errors.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from importlib import metadata

from .errors import GamlabError
from .experiments.runs import claimed_folder
from .experiments.timing import keep_freed_memory_once
from .training.distributed import quiet_unless_main
from .training.stopping import Stopped

# command name -> the module that does the work (it adds its own options to the parser)
COMMANDS = {
    "info": "gamlab.commands.info",
    "compare": "gamlab.commands.compare",
    "sweep": "gamlab.commands.sweep",
    "train": "gamlab.commands.train",
    "bench": "gamlab.commands.bench",
    "reproduce": "gamlab.commands.reproduce",
    "recall": "gamlab.commands.recall",
}


class _Parser(argparse.ArgumentParser):
    """argparse with its mistakes on one line (no usage block); subcommand parsers inherit it."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Help(argparse.RawDescriptionHelpFormatter):
    """--help as written: the description keeps its lines (the examples stay aligned), and an
    option's help ends with its default unless it has none (None, False) or already says it."""

    def _get_help_string(self, action) -> str:
        text = action.help or ""
        default = action.default
        if (not action.option_strings or default is None or default is False or default is argparse.SUPPRESS
                or default == [] or "default" in text):
            return text
        return f"{text} (default: %(default)s)"


def version() -> str:
    """The installed distribution's version (gamlab.__version__ when running from a source tree)."""
    try:
        return metadata.version("gamlab")
    except metadata.PackageNotFoundError:
        from . import __version__
        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gamlab", description="Gated Associative Memory lab: `gamlab COMMAND --help` says "
                     "what each command does, with examples.", formatter_class=_Help)
    parser.add_argument("--version", action="version", version=f"gamlab {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        command = importlib.import_module(module)
        command.add_parser(sub)
        p = sub.choices[name]  # its --help: the module's docstring, the options' defaults
        p.description, p.formatter_class = inspect.cleandoc(command.__doc__), _Help
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet_unless_main()  # under torchrun only rank 0 prints
    # this process is ours: reuse freed tensors' pages instead of faulting them in again
    keep_freed_memory_once(say=None, limit_bytes=1 << 30)
    try:
        # A command's --out is created, proved writable and locked before any work (runs.claimed_folder).
        with claimed_folder(getattr(args, "out", None)):
            return int(args.run(args) or 0)
    except GamlabError as exc:
        print(f"gamlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Trainer.fit's says at which step it stopped and what it saved
        print(f"gamlab {args.command}: interrupted{': ' + str(exc) if str(exc) else ''}.", file=sys.stderr)
        return 130
    except Stopped as exc:  # SIGTERM: a checkpoint was saved; 143 says "stopped early, resume me"
        print(f"gamlab {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
