"""Screenshots of the Fool-it panel on the Canvas tab (docs/images/fool-*.png) at the screen's size.

Run under Xvfb by scripts/screenshots.sh at 1024×600 and 1920×1080; each shot is the whole screen as grabbed
from the X server. Names carry the screen's width: fool-attack-1024.png, fool-curves-1920.png, …
"""

from __future__ import annotations

import sys

from digitpad.core.not_digits import SCRIBBLES
from digitpad.gui.app import make_window, qt_app
from screenshots import OUT, drag, draw, pause, shot, wait_until



def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    window = make_window("DigitPadScreenshots", sys.argv)
    app = qt_app()
    screen = app.primaryScreen().size()
    window.setGeometry(0, 0, screen.width(), screen.height())
    window.show()
    wait_until(lambda: len(window.library.models) >= 4)
    names = [m.name for m in window.library.models]
    tab = window.canvas
    panel = tab.fool_panel
    window.tabs.setCurrentWidget(tab)
    width = screen.width()
    window.library.set_active(names.index("mnist-cnn"))
    tab.fool_button.click()
    pause(0.5)
    draw(window, 3)
    panel.kind.setCurrentIndex(1)  # PGD
    panel.target.setCurrentIndex(1 + 8)  # make it say 8
    panel.eps.setValue(16)  # ε = 0.08
    wait_until(lambda: panel.outcome is not None and panel.outcome.result.settings.target == 8
               and panel._attack is None)
    shot(f"fool-attack-{width}")

    panel.pages.setCurrentIndex(1)
    panel.find_smallest_eps()
    wait_until(lambda: panel._search is None)
    shot(f"fool-smallest-eps-{width}")

    panel.pages.setCurrentIndex(3)
    panel.curve_limit.setValue(300)
    panel.compute_curves()
    wait_until(lambda: panel._curves is None, timeout=600)
    tab.fool_area.ensureWidgetVisible(panel.curve_chart)
    shot(f"fool-curves-{width}")

    panel.pages.setCurrentIndex(2)
    draw(window, 1)
    pause(0.5)
    panel.challenge_target.setCurrentIndex(1 + 7)
    panel.start_challenge()
    pause(0.3)
    shot(f"fool-challenge-{width}")

    tab.fool_button.click()  # closed: "not a digit?" for a scribble the CNN reads as a 4 with p = 0.97
    tab.clear()
    for stroke in SCRIBBLES["zigzag"](58).strokes:
        drag(tab.canvas, [(x, y) for x, y, _ in stroke.points])
    pause(0.3)
    shot(f"fool-not-a-digit-{width}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
