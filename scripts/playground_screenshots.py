"""Screenshots of the 2-D playground (Lessons tab) and of the map of the digits (Canvas tab), at the screen's size.

Run under Xvfb by scripts/screenshots.sh at 1024×600 and 1920×1080; each shot is the whole screen as grabbed
from the X server. `python scripts/playground_screenshots.py OUT [playground|map|all]`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings

from PySide6.QtCore import QPointF
from PySide6.QtTest import QTest

from digitpad.gui.app import make_window, qt_app
from screenshots import draw, pause, shot, wait_until

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")
WHAT = sys.argv[2] if len(sys.argv) > 2 else "all"


def playground_shots(window, size: str) -> None:
    """A preset after its run, and the overfitting one with a hidden unit chosen."""
    window.tabs.setCurrentWidget(window.lessons)
    page = window.lessons.page("playground")
    window.lessons.pages.setCurrentWidget(page)
    for key in ("mlp-xor", "overfit"):
        page.preset_buttons[key].click()
        wait_until(lambda: not page.is_running(), timeout=120)
        if page.tiles.tiles:
            page.tiles.tiles[0][0].clicked.emit()
        shot(f"playground-{key}-{size}")


def hover(plot, xy) -> None:
    """Move the pointer over the map's point xy: its thumbnail shows."""
    scene = plot.getPlotItem().vb.mapViewToScene(QPointF(*xy))
    QTest.mouseMove(plot.viewport(), plot.mapFromScene(scene))
    pause(0.3)


def map_shots(window, size: str) -> None:
    """The map of the shipped CNN with a drawn 4 on it, the pointer on a misclassified digit."""
    names = [m.name for m in window.library.models]
    window.library.set_active(names.index("mnist-cnn"))
    window.tabs.setCurrentWidget(window.canvas)
    panel = window.canvas.map_panel
    window.canvas.map_button.click()
    wait_until(lambda: panel.digit_map is not None, timeout=120)
    draw(window, 4)
    m = panel.digit_map
    wrong = [i for i in range(len(m.labels)) if m.predictions[i] != m.labels[i]]
    hover(panel.view.plot, m.positions[wrong[0]])
    shot(f"map-{size}")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DIGITPAD_HOME", tempfile.mkdtemp(prefix="digitpad-screenshots-"))
    qt_app("DigitPadScreenshots", sys.argv)
    QSettings().clear()
    window = make_window()
    screen = qt_app().primaryScreen().availableGeometry()
    window.show()
    wait_until(lambda: window.library.active is not None)
    pause(0.5)
    size = f"{screen.width()}x{screen.height()}"
    if WHAT in ("playground", "all"):
        playground_shots(window, size)
    if WHAT in ("map", "all"):
        map_shots(window, size)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
