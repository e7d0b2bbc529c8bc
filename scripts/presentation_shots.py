"""Presentation mode as a class sees it: every tab, full screen on this (virtual) screen, grabbed from the X server,
with the contrast of every text measured on the grabbed pixels and, once, the run colours under simulated
deuteranopia.

Run by scripts/screenshots.sh under Xvfb at 1920×1080, 1280×800 and 1024×600 (openbox, so full screen is full
screen): `python scripts/presentation_shots.py OUT_DIR` writes OUT_DIR/present-WxH-<tab>.png and prints, per tab,
the lowest contrast of enabled and of disabled text (WCAG ratio, background and text colour read from the PNG).
`python scripts/presentation_shots.py OUT_DIR colours` writes present-runs-deuteranopia.png (a compare figure of
seven runs, as seen and as a deuteranope sees it) and prints the smallest colour difference between its curves.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshots import draw, pause, wait_until  # noqa: E402

from digitpad.gui.app import make_window, qt_app  # noqa: E402
from digitpad.gui.common.colours import (RUN_COLOURS, contrast_ratio, hex_rgb, simulate_cvd,  # noqa: E402
                                        smallest_difference)
from digitpad.gui.common.widgets import FittedLabel  # noqa: E402

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")
MODE = sys.argv[2] if len(sys.argv) > 2 else "tabs"


def text_widgets(root: QWidget) -> list[QWidget]:
    return [w for w in root.findChildren(QWidget) if w.isVisible() and w.width() > 4 and w.height() > 4
            and isinstance(w, (QLabel, QAbstractButton, FittedLabel)) and w.text().strip()]


def text_contrast(image: np.ndarray, rect: QRect) -> float | None:
    """The contrast of a text's colour on its background, both read from the pixels: the background is the
    commonest colour in the rectangle, the text the pixel that differs most from it (a glyph's core)."""
    box = image[max(rect.top(), 0):rect.bottom(), max(rect.left(), 0):rect.right()].reshape(-1, 3)
    if len(box) < 16:
        return None
    colours, counts = np.unique(box, axis=0, return_counts=True)
    background = colours[counts.argmax()] / 255
    lum = np.array([contrast_ratio(c / 255, background) for c in colours])
    return float(lum.max())


def measure(window, image: np.ndarray, room: QWidget) -> tuple[float, float, str]:
    """Lowest contrast among enabled texts and among disabled ones, and the text of the lowest enabled."""
    enabled, disabled, worst = [], [], ""
    for w in text_widgets(room):
        rect = QRect(w.mapTo(window, QPoint(0, 0)) + window.geometry().topLeft(), w.size())
        ratio = text_contrast(image, rect)
        if ratio is None:
            continue
        (enabled if w.isEnabled() else disabled).append(ratio)
        if w.isEnabled() and ratio == min(enabled):
            worst = w.text()[:40]
    return min(enabled, default=0.0), min(disabled, default=0.0), worst


def grab(name: str) -> np.ndarray:
    pause(0.6)
    path = OUT / f"{name}.png"
    QGuiApplication.primaryScreen().grabWindow(0).save(str(path))
    image = np.asarray(Image.open(path).convert("RGB"))
    Image.fromarray(image).quantize(colors=256, dither=Image.Dither.NONE).save(path, optimize=True)  # small
    print(f"saved {path}")
    return image


def tabs() -> None:
    window = make_window("DigitPadPresentationShots", sys.argv)
    app = qt_app()
    window.show()
    wait_until(lambda: len(window.library.models) >= 4)
    window.presentation.enter()
    screen = app.primaryScreen().size()
    size = f"{screen.width()}x{screen.height()}"
    print(f"{size}: presentation text {app.font().pointSizeF():.1f} pt (factor {window.presentation.factor})")

    tab = window.training
    tab.model.setCurrentIndex(tab.model.findData("softmax"))
    tab.subset.setCurrentIndex(tab.subset.findText("10,000"))
    tab.epochs.setValue(3)
    tab.device.setCurrentIndex(tab.device.findData("cpu"))
    window.tabs.setCurrentWidget(tab)
    tab.start_button.click()
    wait_until(lambda: not tab.is_running(), timeout=300)
    rows = []
    image = grab(f"present-{size}-training")
    rows.append(("Training", *measure(window, image, tab)))

    window.tabs.setCurrentWidget(window.canvas)
    window.canvas.as_drawn_box.setChecked(True)
    brush = window.canvas.brush.value()
    window.canvas.brush.setValue(40)  # a small 4 in a corner with a thick brush: the network reads it, as drawn not
    draw(window, 4, scale=0.3, dx=-90, dy=-90)
    image = grab(f"present-{size}-canvas")
    window.canvas.brush.setValue(brush)
    rows.append(("Canvas", *measure(window, image, window.canvas)))

    for digit in (7, 2, 3):  # kept in My digits, as a student would with the digit keys
        draw(window, digit)
        window.canvas.keep_row.buttons[digit].click()
        wait_until(lambda: "Kept" in window.statusBar().currentMessage())
        window.statusBar().clearMessage()
    window.tabs.setCurrentWidget(window.my_digits)
    wait_until(lambda: window.my_digits.shown_count() == 3)
    image = grab(f"present-{size}-my-digits")
    rows.append(("My digits", *measure(window, image, window.my_digits)))

    window.tabs.setCurrentWidget(window.lessons)
    page = window.lessons.page("softmax")  # lr 50: the scratch loss turns NaN, the chart says where
    window.lessons.pages.setCurrentWidget(page)
    page.dataset.setCurrentIndex(page.dataset.findData("mnist"))
    page.subset.setCurrentIndex(page.subset.findData(10_000))
    page.epochs.setValue(2)
    page.lr.setValue(50)
    page.start_button.click()
    wait_until(lambda: not page.is_running(), timeout=300)
    image = grab(f"present-{size}-lessons")
    rows.append(("Lessons", *measure(window, image, window.lessons)))
    step = window.step  # ten mini-batch steps of softmax regression: the batch, as the class sees it
    window.tabs.setCurrentWidget(step)
    step.step_by(10)
    wait_until(lambda: step.session is not None and step.session.step >= 10 and not step.is_busy(), timeout=300)
    image = grab(f"present-{size}-step")
    rows.append(("Step", *measure(window, image, step)))

    window.tabs.setCurrentWidget(window.classroom)
    image = grab(f"present-{size}-classroom")
    rows.append(("Classroom", *measure(window, image, window.classroom)))
    for name, lowest, lowest_disabled, worst in rows:
        print(f"contrast {size} {name}: enabled text ≥ {lowest:.1f}:1 (lowest: {worst!r}), "
              f"disabled ≥ {lowest_disabled:.1f}:1")
    window.presentation.leave()
    window.close()


def curve_pixels(image: np.ndarray, colours: tuple[str, ...], least: int = 200) -> list[np.ndarray]:
    """Where each curve colour is painted in the figure (its exact pixels, at least `least` of them)."""
    found = []
    for colour in colours:
        rgb = np.round(hex_rgb(colour) * 255)
        mask = np.abs(image.astype(int) - rgb).sum(axis=2) <= 3
        assert mask.sum() >= least, f"{colour} is not drawn in the figure"
        found.append(mask)
    return found


def colours() -> None:
    """Seven recorded runs on a compare figure, as seen and under simulated deuteranopia, side by side."""
    from digitpad.core.runs import labels_for, load_runs
    from digitpad.gui.training.runs_panel import render_comparison

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from helpers import fake_runs

    qt_app()
    folder = Path(tempfile.mkdtemp())
    fake_runs(folder, 7)
    records, _ = load_runs([folder])
    assert len(set(labels_for([r.config for r in records], [r.name for r in records]))) == 7
    figure = folder / "runs.png"
    render_comparison(records, figure, (1200, 750))
    seen = np.asarray(Image.open(figure).convert("RGB"))
    simulated = simulate_cvd(seen, "deuteranopia")
    side_by_side = np.concatenate([seen, np.full((seen.shape[0], 16, 3), 255, np.uint8), simulated], axis=1)
    out = OUT / "present-runs-deuteranopia.png"
    Image.fromarray(side_by_side).quantize(colors=256, dither=Image.Dither.NONE).save(out, optimize=True)
    print(f"saved {out}")
    masks = curve_pixels(seen, RUN_COLOURS[:7])
    for title, image in (("as seen", seen), ("deuteranopia", simulated), ("protanopia", simulate_cvd(seen, "protanopia"))):
        found = np.array([image[mask].mean(axis=0) / 255 for mask in masks])  # each curve's pixels, as this eye sees
        print(f"{title}: the 7 runs' curves on the PNG, smallest ΔE between two of them {smallest_difference(found):.1f}")


if __name__ == "__main__":
    os.environ.setdefault("DIGITPAD_HOME", tempfile.mkdtemp())  # the shots' runs never join the user's
    OUT.mkdir(parents=True, exist_ok=True)
    colours() if MODE == "colours" else tabs()
