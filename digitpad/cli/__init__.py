"""`digitpad` opens the app; `digitpad train | predict | explain | eval | finetune | linreg | compare | export |
step | playground | map | fool | robustness | exercise | class | my-digits`
drive the same engine headless. One module per subcommand; each has `register(sub)`, which adds its
parser and sets `run` to the function that carries it out. Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import threading
from typing import Sequence

from digitpad.cli import (classroom, compare, evaluate, exercise, export, finetune, fool, linreg, my_digits, playground,
                          predict, robustness, step, train)
from digitpad.cli import map as map_command  # not `map`: the builtin stays itself
from digitpad.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated

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
    """Run one command. Whatever happens, the user gets a line, not a traceback: Ctrl+C (also while torch
    is still importing), SIGTERM (a run's record then says "stopped", as for Ctrl+C), a reader that went
    away, an output that cannot be written (`digitpad eval > /dev/full`)."""
    previous = signal.getsignal(signal.SIGTERM)
    try:
        args = build_parser().parse_args(argv)
        if args.run is not cmd_gui and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _terminate)
        status = args.run(args)
        sys.stdout.flush()  # a full disk under `> file` shows here, not as a traceback at exit
        return status
    except BrokenPipeError:  # `digitpad eval | head`: the reader has gone, which is not our error
        _drop_stdout()
        return 0
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        print("\nterminated" if terminated else "\ninterrupted", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except OSError as exc:
        if exc.errno not in OUTPUT_FULL:
            raise
        _drop_stdout()
        print(f"digitpad: could not write the output ({exc.strerror}); nothing more was written", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)


OUTPUT_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)


def _terminate(signum, frame) -> None:
    """SIGTERM ends a command the way Ctrl+C does: the work stops at once, a run's record says "stopped"."""
    raise Terminated()


def _drop_stdout() -> None:
    """Send what is still buffered for stdout nowhere, so that exiting does not fail on it a second time."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        return
    os.dup2(os.open(os.devnull, os.O_WRONLY), fd)


if __name__ == "__main__":
    sys.exit(main())
