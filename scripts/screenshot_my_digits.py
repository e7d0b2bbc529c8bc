"""The My digits tab as a person sees it: a personal set of mirror writing, checked, then taught.

Run on a (virtual) screen, e.g. `Xvfb :18 -screen 0 1280x800x24 & DISPLAY=:18 python scripts/screenshot_my_digits.py`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")


def main() -> None:
    from digitpad.core.finetune import FinetuneConfig
    from digitpad.core.personal_set import add_sample
    from digitpad.core.preprocess import stroke_pixels
    from digitpad.core.sample_digits import mirror_writing_set

    home = Path(tempfile.mkdtemp(prefix="digitpad-shot-"))
    os.environ["DIGITPAD_HOME"] = str(home)  # the app's My digits folder is home/my-digits
    for label, strokes in mirror_writing_set(8, seed=2):
        add_sample(home / "my-digits", label, strokes, stroke_pixels(strokes))
    from screenshots import shot, wait_until  # noqa: E402  (same folder)

    from digitpad.gui.app import make_window

    window = make_window("DigitPadShots")
    window.resize(1280, 800)
    window.move(0, 0)
    window.show()
    window.tabs.setCurrentWidget(window.my_digits)
    tab = window.my_digits
    wait_until(lambda: "reads" in tab.score.text())
    shot("my-digits-before")
    tab.config = FinetuneConfig(epochs=3, mnist_test_limit=2000)
    tab.teach()
    wait_until(lambda: tab.teaching is None, timeout=900)
    wait_until(lambda: "reads" in tab.score.text() and "my digits" in tab.score.text())
    shot("my-digits")
    window.close()


if __name__ == "__main__":
    main()
