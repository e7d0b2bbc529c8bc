"""Where DigitPad keeps the user's own files (run records today): one folder, the platform's usual place."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def user_data_dir() -> Path:
    """$DIGITPAD_HOME, else the platform's standard data folder (what Qt calls AppDataLocation).

    The variable lets tests, and a teacher preparing a class machine, point everything elsewhere.
    """
    if os.environ.get("DIGITPAD_HOME"):
        return Path(os.environ["DIGITPAD_HOME"]).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "DigitPad"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "DigitPad"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "digitpad"
