"""docs/ARCHITECTURE.md's recipes, each done here in a fixture: a new model, lesson, tab and subcommand
appear everywhere they should with no edit beyond the files the recipe names.
(A new training setting or optimizer: tests/test_settings.py.)"""

import types
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from digitpad import cli
from digitpad.core import models, names
from digitpad.core.events import EpochEnd, Finished
from digitpad.core.models import Defaults, ModelSpec
from digitpad.core.settings import SETTING
from digitpad.core.trainer import TrainConfig, Trainer


def tiny_mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10))


@pytest.fixture
def new_model(monkeypatch):
    """A model added the documented way: its name in `names.MODELS`, its spec in `models.MODELS`."""
    monkeypatch.setitem(models.MODELS, "tiny", ModelSpec("tiny", "Tiny MLP", tiny_mlp,
                                                         Defaults(epochs=1, batch_size=50, lr=0.1, optimizer="sgd"),
                                                         "784→16→10"))
    monkeypatch.setattr(names, "MODELS", (*names.MODELS, "tiny"))
    # what the settings table reads from names.MODELS when it loads
    monkeypatch.setitem(SETTING, "model", replace(SETTING["model"], choices=names.MODELS))
    return "tiny"


def test_a_new_model_trains_is_offered_everywhere_and_is_explained(qtbot, new_model, mnist):
    from digitpad.core.explain import captions, explain_pixels
    from digitpad.gui.training.tab import TrainingTab

    cfg = TrainConfig.for_model(new_model, train_limit=2000, test_limit=200, device="cpu")
    events = list(Trainer(cfg).run())
    assert isinstance(events[-1], Finished) and not events[-1].stopped
    trained = [e for e in events if isinstance(e, EpochEnd)][-1].snapshot
    assert trained.meta.architecture == "tiny" and trained.meta.test_accuracy > 0.7

    explanation = explain_pixels(trained, torch.rand(28, 28).numpy())
    assert explanation.layers and captions(explanation.layers)  # its hidden layer, with its caption

    parsed = cli.build_parser().parse_args(["train", "--model", "tiny"])
    assert parsed.model == "tiny"
    tab = TrainingTab()
    qtbot.addWidget(tab)
    tab.model.setCurrentIndex(tab.model.findData("tiny"))
    assert tab.model.currentData() == "tiny" and tab.batch_size.value() == 50  # its course defaults


def test_a_new_lesson_is_a_numbered_page_stopped_when_the_window_closes(qtbot, monkeypatch):
    from digitpad.gui.lessons.page import LessonPage
    from digitpad.gui.lessons.registry import LESSONS
    from digitpad.gui.lessons.tab import LessonsTab

    stopped = []

    class Quiz(LessonPage):
        TITLE = "A quiz"

        def shutdown(self) -> bool:
            stopped.append(True)
            return True
    monkeypatch.setitem(LESSONS, "quiz", Quiz)
    tab = LessonsTab()
    qtbot.addWidget(tab)
    assert tab.pages.tabText(tab.pages.count() - 1) == f"{len(LESSONS)} · A quiz"
    assert isinstance(tab.page("quiz"), Quiz)
    assert tab.shutdown() and stopped == [True]


def test_a_new_tab_is_stopped_at_close_and_asks_first_while_it_trains(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QWidget

    class Room(QWidget):
        training, stopped = True, 0

        def is_training(self) -> bool:
            return self.training

        def shutdown(self) -> bool:
            self.stopped += 1
            return True
    room = window.add_room(Room(), "Room")
    assert window.tabs.tabText(window.tabs.indexOf(room)) == "Room"
    asked = []
    monkeypatch.setattr(window, "confirm_stop_on_close", lambda: asked.append(1) or False)
    window.close()
    assert asked == [1] and window.isVisible() and room.stopped == 0  # "no": nothing stops
    room.training = False
    window.close()
    assert not window.isVisible() and room.stopped == 1


def test_a_new_subcommand_is_one_module_and_one_name(monkeypatch, capsys):
    def register(sub) -> None:
        sub.add_parser("hello", help="say hello").set_defaults(run=lambda args: print("hello") or 0)
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, types.SimpleNamespace(register=register)))
    assert cli.main(["hello"]) == 0 and capsys.readouterr().out == "hello\n"


def test_every_subcommand_module_is_registered():
    """A module written in digitpad/cli/ but left out of COMMANDS would be silently missing from `digitpad`."""
    folder = Path(cli.__file__).parent
    modules = {p.stem for p in folder.glob("*.py")} - {"__init__", "common"}
    assert modules == {m.__name__.rsplit(".", 1)[1] for m in cli.COMMANDS}
