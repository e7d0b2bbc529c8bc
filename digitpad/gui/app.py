"""Start the desktop app."""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

NO_DISPLAY = ("digitpad: no display found, so the window cannot open (Qt would abort). Run it in a desktop "
              "session, under `xvfb-run`, or with QT_QPA_PLATFORM=offscreen; `digitpad train`, `predict` and "
              "`eval` work without a display.")


def display_available() -> bool:
    """On Linux, Qt's default platform needs X11 or Wayland; elsewhere there is always a screen."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def qt_app(name: str | None = None, argv: list[str] | None = None):
    """The process's one QApplication, with pyqtgraph's look: every window and offscreen figure starts here.

    `name` sets the organisation and application name, which say where QSettings keeps the settings:
    scripts and benchmarks pass their own, so they never touch the user's.
    """
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv if argv is not None else [])
    if name is not None:
        app.setOrganizationName(name)
        app.setApplicationName(name)
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    return app


@contextmanager
def offscreen_quiet() -> Iterator[None]:
    """While drawing a figure offscreen: Qt's offscreen platform warns that it "does not support
    propagateSizeHints()" for every widget shown; every other message still reaches stderr."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(_mode, _context, message: str) -> None:
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)


def make_window(name: str | None = None, argv: list[str] | None = None):
    """The app's main window, not yet shown: what the app, the scripts, the benchmarks and the tests all open."""
    qt_app(name, argv)
    from digitpad.gui.main_window import MainWindow

    return MainWindow()


def open_window(argv: list[str]):
    """Everything before the event loop: the QApplication and the shown main window."""
    gc.disable()  # no full collections over torch's import-time objects; preload_and_freeze() freezes them, then enables it
    window = make_window("DigitPad", argv)
    window.show()
    return qt_app(), window


def on_sigterm(app, action):
    """Run `action` on the GUI thread when SIGTERM comes (a logout, `kill`); returns the waking timer.

    Python runs signal handlers only between its own bytecodes, which the Qt event loop does not execute
    while idle: a timer gives Python a look four times a second.
    """
    from PySide6.QtCore import QTimer

    signal.signal(signal.SIGTERM, lambda *_: QTimer.singleShot(0, action))
    wake = QTimer(app)
    wake.timeout.connect(lambda: None)
    wake.start(250)
    return wake


def run_app(argv: list[str] | None = None) -> int:
    if not display_available():
        print(NO_DISPLAY, file=sys.stderr)
        return 1
    app, window = open_window(argv if argv is not None else sys.argv)
    # SIGTERM quits without asking; finish_background_work below stops and joins any run, so its record
    # says "stopped", never "running" forever.
    on_sigterm(app, app.quit)
    status = app.exec()
    window.finish_background_work()
    return status
