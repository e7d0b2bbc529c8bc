"""The Classroom tab as a class sees it: an exercise before and after Run / Reveal, and the class report of
a class set of 12 scripted writers (one writes mirror digits) with leave-one-writer-out.

Run on a (virtual) screen of the size to show, e.g.
`Xvfb :18 -screen 0 1024x600x24 & DISPLAY=:18 python scripts/screenshot_classroom.py docs/images`;
the files are named after the screen: classroom-exercise-1024x600.png, classroom-report-1024x600.png, ….
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")
WRITERS = ("Ada", "Ben", "Chloé", "Dev", "Ema", "Finn", "Gus", "Hana", "Ivo", "Jia", "Kofi", "Lea")


def class_set(home: Path) -> Path:
    """12 writers × 30 drawings exported, each writer their own size, slant and shapes (Ben writes mirror
    digits), and one export cut in half on its way."""
    from digitpad.core.class_set import export_personal_set
    from digitpad.core.personal_set import add_sample
    from digitpad.core.preprocess import stroke_pixels
    from digitpad.core.strokes import Stroke, StrokeSet, as_points
    from digitpad.core.sample_digits import mirrored_strokes, shapes, transform

    for k, name in enumerate(WRITERS):
        rng = np.random.default_rng(k)
        slant, size = rng.uniform(-14, 14), rng.uniform(0.5, 0.95)
        for n in range(30):
            digit = n % 10
            options = shapes(digit)
            base = mirrored_strokes(digit) if name == "Ben" else options[int(rng.integers(len(options)))]
            moved = transform(base, scale=size * rng.uniform(0.85, 1.1), dx=rng.uniform(-40, 40),
                              dy=rng.uniform(-40, 40), angle_deg=slant + rng.uniform(-6, 6))
            strokes = StrokeSet(280, 280, float(rng.uniform(10, 26)), [Stroke(as_points(s)) for s in moved])
            add_sample(home / "sets" / name, digit, strokes, stroke_pixels(strokes))
        export_personal_set(home / "sets" / name, name, home / "exports" / f"{name}.zip")
    whole = (home / "exports" / "Lea.zip").read_bytes()
    (home / "exports" / "Max.zip").write_bytes(whole[:len(whole) // 2])  # cut off on the way
    return home / "exports"


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="digitpad-shot-"))
    os.environ["DIGITPAD_HOME"] = str(home)
    exports = class_set(home)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from screenshots import pause, shot, wait_until  # noqa: E402  (same folder)

    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QGuiApplication

    from digitpad.core.class_set import LowoConfig
    from digitpad.core.exercises import shipped_exercises
    from digitpad.gui.app import make_window

    window = make_window("DigitPadShots")
    QSettings().clear()
    window.move(0, 0)
    window.show()
    size = QGuiApplication.primaryScreen().size()
    tag = f"{size.width()}x{size.height()}"
    room = window.classroom
    window.tabs.setCurrentWidget(room)
    wait_until(lambda: len(window.library.models) > 0)

    page = room.exercises
    page.student.setText("Ada")
    page.open_file(str(next(p for p in shipped_exercises() if p.name.startswith("which-digit"))))
    wait_until(lambda: page.sheet is not None)
    page.prediction.group.button(4).click()
    shot(f"classroom-exercise-before-{tag}")
    page.reveal_button.click()
    wait_until(lambda: page.verdict is not None and page.run is None)
    shot(f"classroom-exercise-{tag}")

    lr = next(p for p in shipped_exercises() if p.name.startswith("learning-rate"))
    page.open_file(str(lr))
    wait_until(lambda: page.sheet is not None and page.sheet.path == lr)
    page.go(1)
    page.prediction.text.setText("85")
    page.reveal_button.click()
    wait_until(lambda: page.verdict is not None and page.run is None, timeout=300)
    shot(f"classroom-exercise-number-{tag}")

    room.pages.setCurrentWidget(room.class_digits)
    digits = room.class_digits
    digits.set_folder(home / "class")
    digits.import_paths([exports])
    wait_until(lambda: digits.importing is None and digits.class_set.n_samples == 12 * 30)
    shot(f"classroom-import-{tag}")
    softmax = next(k for k, m in enumerate(window.library.models) if m.name == "mnist-softmax")
    digits.model_picker.setCurrentIndex(softmax)  # the linear model: more to see than the CNN's near-perfect read
    digits.make_report()
    wait_until(lambda: digits.report is not None)
    digits.lowo_config = LowoConfig(steps=10, mnist_test_limit=500)
    digits.start_lowo()
    wait_until(lambda: digits.lowo_run is None, timeout=1200)
    shot(f"classroom-report-{tag}")
    digits.views.setCurrentWidget(digits.confusion)
    pause(0.5)
    shot(f"classroom-confusion-{tag}")
    digits.views.setCurrentWidget(digits.hardest)
    pause(0.5)
    shot(f"classroom-hardest-{tag}")
    window.close()


if __name__ == "__main__":
    main()
