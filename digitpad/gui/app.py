"""Start the desktop app."""

from __future__ import annotations

import gc
import os
import sys

NO_DISPLAY = ("digitpad: no display found, so the window cannot open (Qt would abort). Run it in a desktop "
              "session, under `xvfb-run`, or with QT_QPA_PLATFORM=offscreen; `digitpad train`, `predict` and "
              "`eval` work without a display.")


def display_available() -> bool:
    """On Linux, Qt's default platform needs X11 or Wayland; elsewhere there is always a screen."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_window(argv: list[str]):
    """Everything before the event loop: the QApplication and the shown main window."""
    gc.disable()  # no full collections over torch's import-time objects; preload_and_freeze() freezes them, then enables it
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from digitpad.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv)
    app.setOrganizationName("DigitPad")
    app.setApplicationName("DigitPad")
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    window = MainWindow()
    window.show()
    return app, window


def run_app(argv: list[str] | None = None) -> int:
    if not display_available():
        print(NO_DISPLAY, file=sys.stderr)
        return 1
    app, window = open_window(argv if argv is not None else sys.argv)
    status = app.exec()
    window.finish_background_work()
    return status
