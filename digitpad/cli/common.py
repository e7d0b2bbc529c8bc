"""What every subcommand shares: exit codes, argparse types checked against the settings table, loading a model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Iterable

from digitpad.core import names
from digitpad.core.settings import SETTING, Setting

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def bounded(key: str, table: dict[str, names.Bounds] | None = None) -> Callable[[str], int | float]:
    """An argparse type for the numeric setting `key`, checked as it is parsed, so a bad value is refused with
    the flag's name before anything is loaded: a training setting against `settings.SETTING`, another
    (the playground's, the map's) against its table of `names.Bounds`."""
    if table is None:
        setting = SETTING[key]
        check = setting.parse
    else:
        bounds = table[key]
        check = Setting(key, key, int if bounds.integer else float, None, bounds=bounds).parse

    def parse(text: str) -> int | float:
        try:
            return check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = key  # argparse names the type in "invalid <name> value"
    return parse


def escaped(help_text: str) -> str:
    """Help text as argparse wants it: a literal % doubled."""
    return help_text.replace("%", "%%")


def add_setting_flags(parser: argparse.ArgumentParser, settings: Iterable[Setting]) -> None:
    """One flag per training setting, as the table says: a choice, a checked number, or a switch.

    Every default is None (a switch's is False), so what the user did not type falls back to the preset
    and the model's course defaults, in that order.
    """
    for s in settings:
        if s.kind is bool:
            parser.add_argument(s.flag, action="store_true", help=escaped(s.help))
        elif s.choices:
            parser.add_argument(s.flag, choices=s.choices, help=escaped(s.help) or None)
        elif s.name == "device":
            parser.add_argument(s.flag, type=device_name, help=escaped(s.help))
        else:
            help_text = f"{s.help} ({s.bounds.describe()})" if s.help else s.bounds.describe()
            parser.add_argument(s.flag, type=bounded(s.name), help=escaped(help_text))


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


def png_out_refused(command: str, out: Path | None) -> bool:
    """True (having said why on stderr) when a figure's --out is given but is no writable .png file."""
    if out is None:
        return False
    from digitpad.core.atomic import check_writable

    if out.suffix.lower() != ".png":
        print(f"digitpad {command}: --out {out}: the figure is written as .png", file=sys.stderr)
        return True
    try:
        check_writable(out)
    except OSError as exc:
        print(f"digitpad {command}: --out {out}: {exc}", file=sys.stderr)
        return True
    return False
