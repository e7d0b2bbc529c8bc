"""Screenshots of the Explain panel on the Canvas tab, one per shipped MNIST model, and one `digitpad explain` figure.

Run under Xvfb by scripts/screenshots.sh at 1440×1000, a little more than the other shots, so that the
four sections fit on one screen; each shot is the whole screen as grabbed from the X server.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


from digitpad.core.sample_digits import scribble
from digitpad.gui.canvas.explain_panel import SLIDER_STEPS
from digitpad.gui.app import make_window, qt_app
from screenshots import drag, pause, shot, wait_until
from screenshots import draw as draw_strokes

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")


def draw(window, digit: int) -> None:
    """Draw, then wait for the saliency: it comes from a child process (the first after its start-up)."""
    draw_strokes(window, digit)
    wait_until(lambda: window.canvas.explanation is not None and window.canvas.explanation.saliency is not None)


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
    panel = tab.explain_panel
    window.tabs.setCurrentWidget(tab)
    tab.explain_button.click()
    pause(0.5)  # the canvas narrows: let the layout settle before drawing

    window.library.set_active(names.index("mnist-cnn"))
    draw(window, 4)
    block = panel.network_grids[0]
    panel.select_map(0, int(panel.explanation.layers[0].maps.reshape(16, -1).max(axis=1).argmax()))
    assert block.selected is not None
    shot("canvas-explain-cnn")

    window.library.set_active(names.index("mnist-mlp"))
    draw(window, 9)
    panel.temperature.setValue(int(SLIDER_STEPS * 0.75))  # T ≈ 3.2: flatter bars, the same answer
    panel.label_picker.setCurrentIndex(panel.explanation.runner_up + 1)  # "suppose it is a …" the runner-up
    shot("canvas-explain-mlp")

    panel.temperature.setValue(SLIDER_STEPS // 2)
    panel.label_picker.setCurrentIndex(0)
    window.library.set_active(names.index("mnist-softmax"))
    draw(window, 2)
    shot("canvas-explain-softmax")

    window.library.set_active(names.index("mnist-cnn"))
    tab.explain_button.click()  # hidden again: the plain canvas, saying it is not sure
    pause(0.5)
    tab.clear()
    for stroke in scribble(3).strokes:
        drag(tab.canvas, [(x, y) for x, y, _ in stroke.points])
    shot("canvas-not-sure")
    window.close()

    figure = subprocess.run([sys.executable, "-m", "digitpad", "explain", "docs/images/photo-7.png", "--out", str(OUT)],
                            capture_output=True, text=True, check=True)
    print(figure.stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
