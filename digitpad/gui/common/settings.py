"""Stored settings, read through one validated path: a hand-edited or damaged file never stops the app.

Each value is read with a parser that raises ValueError (or TypeError) for anything it does not
accept; the caller's default is used instead. QSettings' INI files give back strings for numbers
and booleans, so the parsers take strings too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QByteArray, QSettings

T = TypeVar("T")


def stored(key: str, parse: Callable[[object], T], default: T) -> T:
    """The stored value of `key` as `parse` reads it, or `default` when missing or invalid."""
    settings = QSettings()
    if not settings.contains(key):
        return default
    try:
        return parse(settings.value(key))
    except (TypeError, ValueError, OverflowError):
        return default


def number_in(kind: type[int] | type[float], low: float, high: float) -> Callable[[object], float]:
    """A parser for an int or a finite float within [low, high]; "3.0" is not an int."""
    def parse(raw: object) -> float:
        if isinstance(raw, bool):
            raise ValueError(raw)
        value = kind(str(raw).strip())
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"{value} is outside {low}…{high}")
        return value
    return parse


def one_of(values) -> Callable[[object], object]:
    """A parser for one of these values, compared as text (how an INI file gives them back)."""
    by_text = {str(v): v for v in values}

    def parse(raw: object) -> object:
        if str(raw) not in by_text:
            raise ValueError(f"{raw!r} is not one of {', '.join(by_text)}")
        return by_text[str(raw)]
    return parse


def as_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if str(raw).lower() in ("true", "false"):
        return str(raw).lower() == "true"
    raise ValueError(f"{raw!r} is not a boolean")


def as_bytes(raw: object) -> QByteArray:
    """Window geometry as Qt saved it; anything else (text, a number) is refused."""
    if isinstance(raw, QByteArray):
        return raw
    if isinstance(raw, (bytes, bytearray)):
        return QByteArray(bytes(raw))
    raise TypeError(f"{type(raw).__name__} is not a byte array")

