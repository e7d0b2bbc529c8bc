"""`digitpad` opens the app; `digitpad train | predict | explain | eval | finetune | linreg | compare | export |
step | playground | map | fool | robustness | exercise | class | my-digits`
drive the same engine headless. One module per subcommand; each has `register(sub)`, which adds its
parser and sets `run` to the function that carries it out. Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from digitpad.cli import (classroom, compare, evaluate, exercise, export, finetune, fool, linreg, my_digits, playground,
                          predict, robustness, step, train)
from digitpad.cli import map as map_command  # not `map`: the builtin stays itself
from digitpad.cli.common import EXIT_INTERRUPTED

# To add a subcommand: a module and its name here.
COMMANDS = (train, predict, evaluate, finetune, linreg, compare, export, step, playground, map_command, fool,
            robustness, exercise, classroom, my_digits)


def cmd_gui(_args: argparse.Namespace) -> int:
    from digitpad.gui.app import run_app

    return run_app()


def build_parser() -> argparse.ArgumentParser:
    from digitpad import __version__

    parser = argparse.ArgumentParser(prog="digitpad", description="Watch a neural network learn to read digits.")
    parser.add_argument("--version", action="version", version=f"digitpad {__version__}")
    parser.set_defaults(run=cmd_gui)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("gui", help="open the app (the default)").set_defaults(run=cmd_gui)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # `digitpad eval | head`: the reader has gone, which is not our error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
