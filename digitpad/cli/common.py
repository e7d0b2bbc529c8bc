"""What every subcommand shares: exit codes, argparse types checked against the settings table, loading a model."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from digitpad.core import names
from digitpad.core.settings import SETTING, Setting

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports it


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is: it unwinds as Ctrl+C does (work stopped, records closed as
    stopped, nothing half-written), and `main` exits with EXIT_TERMINATED."""


def interrupted(exc: KeyboardInterrupt) -> tuple[str, int]:
    """How a command says it was stopped, and its exit status: by Ctrl+C or by SIGTERM."""
    return ("terminated", EXIT_TERMINATED) if isinstance(exc, Terminated) else ("interrupted", EXIT_INTERRUPTED)


def bounded(key: str, table: dict[str, names.Bounds] | None = None) -> Callable[[str], int | float]:
    """An argparse type for the numeric setting `key`, checked as it is parsed, so a bad value is refused with
    the flag's name before anything is loaded: a training setting against `settings.SETTING`, another
    (linreg's, the playground's, the map's) against its table of `names.Bounds`."""
    bounds = SETTING[key].bounds if table is None else table[key]

    def parse(text: str) -> int | float:
        try:
            return bounds.parse(text)
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


def load_data_or_exit(command: str, name: str, args: argparse.Namespace):
    """The data set `name` from where the flags say, or None having said why (the command exits EXIT_FAILED)."""
    from digitpad.core.datasets import DataError, load_dataset

    try:
        return load_dataset(name, data_dir=args.data_dir, idx_dir=args.idx_dir)
    except DataError as exc:
        print(f"digitpad {command}: {exc}", file=sys.stderr)
        return None


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
    p.add_argument("--unsure-below", type=_unsure_below, default=names.UNSURE_BELOW, metavar="P",
                   help=f"answer \"unsure\" when the top probability is below P (default {names.UNSURE_BELOW})")



def load_model_or_exit(path: Path | None):
    from digitpad.core.checkpoints import DEFAULT_MODEL, CheckpointError, load_checkpoint

    try:
        return load_checkpoint(path or DEFAULT_MODEL)
    except CheckpointError as exc:
        print(f"digitpad: cannot load model: {exc}", file=sys.stderr)
        return None


def model_path(path: Path | None) -> Path:
    """The checkpoint a command reads: the one given, or the shipped MNIST CNN."""
    from digitpad.core.checkpoints import DEFAULT_MODEL

    return path or DEFAULT_MODEL


def checkpoint_name(out: Path, command: str) -> bool:
    """A command that writes a DigitPad checkpoint refuses an --out named for an export (.onnx, .pt2):
    the file would not be what its name says. Prints why and returns False."""
    suffix = out.suffix.lower()
    if suffix in (".onnx", ".pt2"):
        print(f"digitpad {command}: --out {out}: {command} writes a DigitPad checkpoint (.pt), not {suffix}; "
              f"save it as {out.with_suffix('.pt')}, then `digitpad export --model {out.with_suffix('.pt')} "
              f"--out {out}`", file=sys.stderr)
        return False
    return True


# --- where a command writes: one check before the work, one rescue after it ----------------------------

@dataclass(frozen=True)
class Destination:
    """An --out that passed `destination`'s checks; `new_folder` is the outermost folder that did not exist
    and is created with the first file written (every writing command creates missing folders, and says so)."""

    command: str
    path: Path
    new_folder: Path | None = None

    def say_created(self) -> None:
        if self.new_folder is not None and self.new_folder.is_dir():
            print(f"digitpad {self.command}: created the folder {self.new_folder}", file=sys.stderr)


def destination(command: str, out: Path, inputs: Iterable[Path] = (), folder: bool = False) -> Destination | None:
    """Check --out before any work: not a folder, device or FIFO (a rename would replace it), not one of the
    command's inputs (the result would destroy them), and a place a file can really be created. Prints why
    not and returns None (the command exits with EXIT_USAGE)."""
    from digitpad.core.atomic import check_writable, check_writable_folder

    try:
        missing = check_writable_folder(out) if folder else check_writable(out, inputs)
    except OSError as exc:
        print(f"digitpad {command}: --out {out}: {exc.strerror or exc}", file=sys.stderr)
        return None
    return Destination(command, out, missing)


def save_or_rescue(dest: Destination, write: Callable[[Path], Path],
                   what: str = "the model") -> tuple[Path | None, int]:
    """Write the result to `dest`; when that fails after all (the folder vanished or filled up during the
    work), write it beside the requested path under a dated name or into the user's cache, and say where.

    Returns where the result is (None when nowhere) and the exit status: 0 only when it is at `dest`.
    """
    from digitpad.core.atomic import rescue_paths

    try:
        saved = write(dest.path)
        dest.say_created()
        return saved, 0
    except OSError as exc:
        print(f"digitpad {dest.command}: could not write {dest.path} ({exc.strerror or exc})", file=sys.stderr)
    places = rescue_paths(dest.path)
    for place in places:
        try:
            saved = write(place)
        except OSError:
            continue
        print(f"digitpad {dest.command}: {what} is kept at {saved}; move it where you want it", file=sys.stderr)
        return saved, EXIT_FAILED
    print(f"digitpad {dest.command}: {what} could not be written anywhere (also tried "
          f"{', '.join(map(str, places))})", file=sys.stderr)
    return None, EXIT_FAILED



def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"
