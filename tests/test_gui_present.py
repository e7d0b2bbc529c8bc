"""In front of a class: controls that stay put, the keyboard for everything, presentation mode that reflows."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect

from helpers import click, setup_run


def places(window, *buttons) -> list[QRect]:
    """Each button's rectangle in window coordinates: where a click lands."""
    return [QRect(b.mapTo(window, QPoint(0, 0)), b.size()) for b in buttons]


@pytest.mark.parametrize("size", [(1280, 760), (1024, 560)])
def test_start_pause_and_stop_keep_their_place_in_every_state_and_resume_is_where_pause_was(qtbot, window, mnist,
                                                                                           size):
    tab = window.training
    window.resize(*size)
    buttons = (tab.start_button, tab.pause_button, tab.stop_button)
    setup_run(tab, epochs=3, subset="2,000")
    qtbot.wait(50)
    idle = places(window, *buttons)
    seen = {"idle": idle}
    click(qtbot, tab.start_button)
    qtbot.waitUntil(lambda: len(tab.charts.loss_x) >= 1, timeout=60_000)
    qtbot.wait(50)
    seen["running"] = places(window, *buttons)
    click(qtbot, tab.pause_button)
    qtbot.wait(50)
    assert tab.pause_button.text() == "Resume"
    seen["paused"] = places(window, *buttons)
    click(qtbot, tab.pause_button)
    with qtbot.waitSignal(tab.run_ended, timeout=120_000):
        pass
    qtbot.wait(50)
    seen["done"] = places(window, *buttons)
    assert "Finished" in tab.status.text()
    for state, rects in seen.items():
        assert rects == idle, f"{state}: {rects} != idle {idle}"
    assert len({r.width() for r in idle}) == 1  # three equal columns: a text change resizes none
