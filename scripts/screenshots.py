"""Drive the real app on a (virtual) screen and save what it shows: training mid-run and after, the canvas.

Run through scripts/screenshots.sh, which starts Xvfb at each screen size. `gallery` (at 1280×800)
takes the README's pictures of each view; `window` opens the app as a user would, at the size it
chooses for the screen, and takes `window-WxH-training.png` and `window-WxH-canvas.png`. Each shot
is the whole screen, grabbed from the X server, so it shows the real window as a person would see it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtGui import QGuiApplication, QMouseEvent
from PySide6.QtWidgets import QApplication

from digitpad.core.sample_digits import digit_strokes, transform
from digitpad.gui.app import make_window, qt_app
from digitpad.gui.lessons.loss_surface import position_of
from digitpad.gui.main_window import MainWindow

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")
MODE = sys.argv[2] if len(sys.argv) > 2 else "gallery"


def wait_until(condition, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the app did not get there in time")
        QApplication.processEvents()
        time.sleep(0.02)


def pause(seconds: float) -> None:
    wait_until(lambda end=time.monotonic() + seconds: time.monotonic() > end)


def shot(name: str) -> None:
    pause(0.4)  # let charts repaint
    path = OUT / f"{name}.png"
    QGuiApplication.primaryScreen().grabWindow(0).save(str(path))
    print(f"saved {path}")


def drag(canvas, stroke) -> None:
    sq = canvas.square()
    scale = sq.width() / 280
    pts = [QPointF(sq.left() + x * scale, sq.top() + y * scale) for x, y in stroke]
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, p, button, buttons in ([(QMouseEvent.Type.MouseButtonPress, pts[0], left, left)]
                                     + [(QMouseEvent.Type.MouseMove, p, none, left) for p in pts[1:]]
                                     + [(QMouseEvent.Type.MouseButtonRelease, pts[-1], left, none)]):
        QApplication.sendEvent(canvas, QMouseEvent(kind, p, canvas.mapToGlobal(p), button, buttons,
                                                   Qt.KeyboardModifier.NoModifier))
        QApplication.processEvents()


def draw(window: MainWindow, digit: int, **placement) -> None:
    window.canvas.clear()
    for stroke in transform(digit_strokes(digit), **placement):
        drag(window.canvas.canvas, stroke)


def lesson_shots(window: MainWindow) -> None:
    """Each lesson page mid-run: the curves part drawn, the code beside them."""
    window.setGeometry(0, 0, 1280, 800)
    lessons = window.lessons
    window.tabs.setCurrentWidget(lessons)
    page = lessons.page("linreg")
    lessons.pages.setCurrentWidget(page)
    page.start_button.click()
    wait_until(lambda: len(page.epoch_loss["scratch"]) >= 2)
    page.timer.stop()  # hold the picture mid-run
    shot("lesson-linear-regression")
    page.stop()

    page = lessons.page("softmax")
    lessons.pages.setCurrentWidget(page)
    page.start_button.click()
    wait_until(lambda: min(len(d["test"]) for d in page.data.values()) >= 4, timeout=300)
    shot("lesson-softmax-scratch")
    wait_until(lambda: not page.is_running(), timeout=300)

    page = lessons.page("cross_entropy")
    lessons.pages.setCurrentWidget(page)
    shot("lesson-cross-entropy")

    page = lessons.page("overflow")
    lessons.pages.setCurrentWidget(page)
    page.slider.setValue(130)  # ×20: the largest logit is 180, far past float32's exp limit
    shot("lesson-softmax-overflow")


def sweep_shot(window: MainWindow) -> None:
    """A learning-rate sweep of the MLP, each run overlaid on the charts as it finishes, the Runs list below."""
    tab, runs = window.training, window.training.runs
    window.tabs.setCurrentWidget(tab)
    tab.dataset.setCurrentIndex(tab.dataset.findData("mnist"))
    tab.model.setCurrentIndex(tab.model.findData("mlp"))
    tab.subset.setCurrentIndex(tab.subset.findText("2,000"))
    tab.epochs.setValue(5)
    tab.results.setCurrentWidget(runs)
    runs.sweep_key.setCurrentIndex(runs.sweep_key.findData("lr"))
    runs.sweep_values.setText("0.003, 0.03, 0.3")
    runs.sweep_button.click()
    wait_until(lambda: runs.sweep_size == 0 and not tab.is_running(), timeout=600)
    shot("training-runs")


def gallery(window: MainWindow) -> None:
    """The README's pictures: training mid-run and after, softmax weights, mistakes, the canvas."""
    window.setGeometry(0, 0, 1280, 800)
    tab = window.training
    window.tabs.setCurrentWidget(tab)
    tab.model.setCurrentIndex(tab.model.findData("cnn"))
    tab.subset.setCurrentIndex(tab.subset.findText("10,000"))
    tab.epochs.setValue(6)
    tab.start_button.click()
    wait_until(lambda: len(tab.charts.epoch_x) >= 3, timeout=300)
    pause(1.0)
    shot("training-mid-run")
    wait_until(lambda: not tab.is_running(), timeout=300)
    shot("training-done")

    tab.model.setCurrentIndex(tab.model.findData("softmax"))
    tab.subset.setCurrentIndex(tab.subset.findText("all"))
    tab.start_button.click()
    wait_until(lambda: not tab.is_running(), timeout=300)
    tab.results.setCurrentIndex(tab.results.weights_index)
    shot("training-softmax-weights")
    tab.results.setCurrentWidget(tab.results.mistakes)
    shot("training-mistakes")
    sweep_shot(window)

    window.tabs.setCurrentWidget(window.canvas)
    window.library.set_active(0)  # the shipped MNIST CNN
    for name, digit, placement in [("canvas", 7, {}),
                                   ("canvas-small-corner-4", 4, dict(scale=0.35, dx=-80, dy=70)),
                                   ("canvas-tilted-2", 2, dict(scale=0.8, angle_deg=15)),
                                   ("canvas-large-8", 8, dict(scale=1.1))]:
        draw(window, digit, **placement)
        shot(name)
    window.canvas.brush.setValue(24)  # a small digit with a thick brush: the preview shows the network's pen
    draw(window, 3, scale=0.3, dx=-80, dy=80)
    shot("canvas-small-thick-3")
    window.canvas.brush.setValue(18)
    window.canvas.logits_box.setChecked(True)
    shot("canvas-logits")
    window.canvas.logits_box.setChecked(False)
    window.library.set_active([m.name for m in window.library.models].index("fashion-mnist-cnn"))
    draw(window, 1)
    shot("canvas-clothes-model")  # a model that knows no digits says so on the canvas


def whole_window(window: MainWindow) -> None:
    """The window as it opens on this screen: a Fashion-MNIST run (long class names), then a small digit."""
    screen = QGuiApplication.primaryScreen().size()
    size = f"{screen.width()}x{screen.height()}"
    tab = window.training
    window.tabs.setCurrentWidget(tab)
    tab.dataset.setCurrentIndex(tab.dataset.findData("fashion-mnist"))
    tab.model.setCurrentIndex(tab.model.findData("softmax"))
    tab.subset.setCurrentIndex(tab.subset.findText("10,000"))
    tab.epochs.setValue(3)
    tab.start_button.click()
    wait_until(lambda: not tab.is_running(), timeout=300)
    shot(f"window-{size}-training")
    tab.results.setCurrentWidget(tab.results.mistakes)
    shot(f"window-{size}-mistakes")
    window.tabs.setCurrentWidget(window.canvas)
    window.library.set_active([m.name for m in window.library.models].index("mnist-cnn"))
    draw(window, 3, scale=0.4, dx=-60, dy=-50)  # small, off-centre, with the default brush
    shot(f"window-{size}-canvas")


def step_shots(window: MainWindow) -> None:
    """The Step tab as it opens on this screen, 20 steps in with one weight's update written out: its panels one by
    one on a small screen, all at once (a race of three optimizers) on a large one; then with larger text; and
    the loss-surface lesson with a learning rate that zig-zags."""
    screen = QGuiApplication.primaryScreen().size()
    size = f"{screen.width()}x{screen.height()}"
    large = screen.width() >= 1600
    tab = window.step
    window.tabs.setCurrentWidget(tab)
    tab.setup.race.setChecked(large)
    tab.step_by(20)
    wait_until(lambda: tab.session is not None and tab.session.step == 20 and not tab.is_busy())
    tab.update_panel.before.grid.pixel_clicked.emit(3, 14, 12)  # a click on class 3's template, mid-digit
    pause(1.0)
    panels = [None] if large else ["Batch", "Update", "Loss and accuracy"]
    for panel in panels:
        if panel is not None:
            tab.deck.show_panel(panel)
        shot(f"step-{size}" + (f"-{panel.split()[0].lower()}" if panel else ""))
    tab.deck.show_panel("Update")
    window.zoom.step(1)
    shot(f"step-{size}-larger-text")
    window.zoom.set_factor(1.0)
    lessons = window.lessons
    window.tabs.setCurrentWidget(lessons)
    page = lessons.page("loss_surface")
    lessons.pages.setCurrentWidget(page)
    page.lr.setValue(position_of(0.19))
    wait_until(lambda: not page.is_running() and not page.pending and "zig-zag" in page.summary.text())
    shot(f"lesson-loss-surface-{size}")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    # The runs these shots record go to a scratch folder, not the user's own Runs list.
    os.environ.setdefault("DIGITPAD_HOME", tempfile.mkdtemp(prefix="digitpad-screenshots-"))
    qt_app("DigitPadScreenshots", sys.argv)
    QSettings().clear()  # each run opens as on a first start: no size or setup left from the last one
    window = make_window()
    window.show()
    wait_until(lambda: window.library.active is not None)
    {"gallery": gallery, "window": whole_window, "lessons": lesson_shots, "step": step_shots}[MODE](window)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
