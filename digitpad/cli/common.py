"""What every subcommand shares: exit codes, argparse types checked against `names`, loading a model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from digitpad.core import names

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def bounded(key: str, bounds: names.Bounds | None = None) -> Callable[[str], int | float]:
    """An argparse type for the numeric setting `key`, checked against `names.BOUNDS` as it is parsed,
    so a bad value is refused with the flag's name before anything is loaded (`bounds` for a number
    that is not a training setting, such as `digitpad step --steps`)."""
    bounds = bounds or names.BOUNDS[key]

    def parse(text: str) -> int | float:
        try:
            value = int(text) if bounds.integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'a whole number' if bounds.integer else 'a number'}") from None
        try:
            bounds.check(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value
    return parse


def device_name(text: str) -> str:
    """An argparse type: a device this machine has (`cuda:7` on a one-GPU machine is refused here)."""
    try:
        names.check_device_name(text)
        from digitpad.core.devices import resolve_device

        resolve_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="cache folder for data sets (default: $DIGITPAD_DATA or ~/.cache/digitpad/data)")
    p.add_argument("--idx-dir", help="a folder holding the four IDX files (.gz or not) to use")


def _unsure_below(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a probability from 0 to 1, got {value}")
    return value


def add_unsure_arg(p: argparse.ArgumentParser) -> None:
    from digitpad.core.inference import UNSURE_BELOW

    p.add_argument("--unsure-below", type=_unsure_below, default=UNSURE_BELOW, metavar="P",
                   help=f"answer \"unsure\" when the top probability is below P (default {UNSURE_BELOW})")



def load_model_or_exit(path: Path | None):
    from digitpad.core.checkpoints import DEFAULT_MODEL, CheckpointError, load_checkpoint

    try:
        return load_checkpoint(path or DEFAULT_MODEL)
    except CheckpointError as exc:
        print(f"digitpad: cannot load model: {exc}", file=sys.stderr)
        return None



def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"

