"""`gamlab ...` / `python -m gamlab ...`: the command-line entry point.

Each command lives in the module that does its work and exposes `add_parser(subparsers)`
and `run(args)`; this file only lists them and turns user mistakes into one-line errors.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import GamlabError
from .stopping import Stopped

# command name -> module (imported only when that command runs, so `gamlab --help` is fast)
COMMANDS = {
    "info": "gamlab.info",
    "compare": "gamlab.compare",
    "train": "gamlab.train_cmd",
    "reproduce": "gamlab.reproduce",
    "bench": "gamlab.bench_cmd",
    "recall": "gamlab.recall",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gamlab", description="Gated Associative Memory lab.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except GamlabError as exc:
        print(f"gamlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gamlab {args.command}: interrupted.", file=sys.stderr)
        return 130
    except Stopped as exc:  # SIGTERM: a checkpoint was saved; 143 says "stopped early, resume me"
        print(f"gamlab {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
