"""One list of accepted names (core/names.py), and everything that accepts names agrees with it."""

import argparse

import pytest

from digitpad.cli import build_parser
from digitpad.core import names
from digitpad.core.datasets import DATASETS
from digitpad.core.models import MODELS
from digitpad.core.settings import PRESETS, SETTING
from digitpad.core.trainer import OPTIMIZER_BUILDERS, SCHEDULE_BUILDERS, TrainConfig


def test_every_registry_holds_exactly_the_names_that_are_accepted():
    """A model (optimizer, schedule, data set, preset) added to its registry but not to names.py, or the
    other way round, fails here, before argparse or the app would refuse or crash on it."""
    assert set(names.MODELS) == set(MODELS)
    assert set(names.DATASETS) == set(DATASETS)
    assert set(names.OPTIMIZERS) == set(OPTIMIZER_BUILDERS)
    assert set(names.SCHEDULES) == set(SCHEDULE_BUILDERS)
    for preset in PRESETS.values():  # a preset names only settings, each with a value it takes
        for key, value in preset.values.items():
            SETTING[key].check(value)
    for model in names.MODELS:  # every model's course defaults are themselves acceptable settings
        TrainConfig.for_model(model).validate()


def choices(parser: argparse.ArgumentParser, command: str) -> dict[str, tuple]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    return {a.dest: tuple(a.choices) for a in sub._actions if a.choices}


def test_the_command_line_offers_the_accepted_names():
    parser = build_parser()
    assert choices(parser, "train") == {"dataset": names.DATASETS, "model": names.MODELS, "preset": tuple(PRESETS),
                                        "optimizer": names.OPTIMIZERS, "schedule": names.SCHEDULES,
                                        "precision": names.PRECISIONS, "adversarial": names.ADVERSARIAL}
    assert choices(parser, "eval") == {"dataset": names.DATASETS}


def test_the_training_form_offers_the_accepted_names(qtbot):
    from digitpad.gui.training.tab import TrainingTab

    tab = TrainingTab()
    qtbot.addWidget(tab)

    def data(combo):
        return tuple(combo.itemData(i) for i in range(combo.count()))
    assert data(tab.model) == names.MODELS and data(tab.dataset) == names.DATASETS
    assert data(tab.optimizer) == names.OPTIMIZERS and data(tab.schedule) == names.SCHEDULES
    assert data(tab.device) == names.DEVICE_KINDS


@pytest.mark.parametrize("good", ["auto", "cpu", "cuda", "cuda:0", "cuda:12", "mps"])
def test_device_names_of_the_accepted_form(good):
    assert names.check_device_name(good) == good


@pytest.mark.parametrize("bad", ["cpu:-1", "cpu:0", "gpu", "cuda:", "cuda:x", "CUDA", "", "auto:1", "cuda:0:1"])
def test_other_device_names_are_refused(bad):
    with pytest.raises(ValueError, match="unknown device"):
        names.check_device_name(bad)


def test_the_names_load_without_torch():
    """The CLI's parser is built from names.py, so `digitpad --help` and bad flags answer at once."""
    import subprocess
    import sys

    code = "import sys, digitpad.core.names, digitpad.cli; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
