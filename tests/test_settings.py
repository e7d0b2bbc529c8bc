"""One table of training settings: the command line, the Setup form, the sweeps and the legends all read it."""

import argparse
from dataclasses import fields, replace

import pytest

from digitpad.cli import build_parser
from digitpad.core import settings
from digitpad.core.names import Bounds
from digitpad.core.runs import describe
from digitpad.core.settings import SETTING, Setting
from digitpad.core.trainer import OPTIMIZER_BUILDERS, TrainConfig


def train_flags(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    return {a.dest: a for a in sub._actions}


def test_every_setting_is_a_train_config_field_with_the_table_default():
    plumbing = {"data_dir", "idx_dir", "reports_per_epoch"}  # where data lives and how often to report
    config_fields = {f.name: f.default for f in fields(TrainConfig) if f.name not in plumbing}
    assert config_fields == {s.name: s.default for s in SETTING.values()}


def test_the_ranges_agree_between_the_flag_the_config_and_the_form(qtbot):
    """The same out-of-range value is refused by the flag and by TrainConfig; the form cannot even show it."""
    from digitpad.gui.training.form import Form

    form = Form()
    parser = build_parser()
    for name, too_big in (("epochs", 1001), ("momentum", 1.0), ("label_smoothing", 1.0), ("seed", 2**31)):
        with pytest.raises(SystemExit):
            parser.parse_args(["train", SETTING[name].flag, str(too_big)])
        with pytest.raises(ValueError, match=name.replace("_", " ")):
            replace(TrainConfig(), **{name: too_big}).validate()
        assert form.widgets[name].maximum() < too_big
    widget = form.widgets["epochs"]
    widget.setValue(1000)
    assert widget.value() == 1000  # the form reaches as far as the table allows


@pytest.fixture
def new_setting_and_optimizer(monkeypatch):
    """What a developer adds: a row in the table and an optimizer in its registry and the names."""
    monkeypatch.setitem(SETTING, "warmup_steps", Setting(
        "warmup_steps", "Warm-up steps", int, 0, "steps of linear lr warm-up", Bounds(0, 1000, integer=True),
        short="warm-up", sweepable=True))
    optimizer = SETTING["optimizer"]
    monkeypatch.setitem(SETTING, "optimizer", replace(
        optimizer, choices=(*optimizer.choices, "rmsprop"), choice_titles={**optimizer.choice_titles,
                                                                           "rmsprop": "RMSprop"}))
    monkeypatch.setitem(OPTIMIZER_BUILDERS, "rmsprop", lambda cfg, params: None)


def test_a_new_setting_and_optimizer_appear_on_the_command_line_in_the_form_and_in_sweeps(
        qtbot, new_setting_and_optimizer):
    from digitpad.gui.training.tab import TrainingTab

    flags = train_flags(build_parser())
    assert flags["warmup_steps"].option_strings == ["--warmup-steps"]
    assert "rmsprop" in flags["optimizer"].choices
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--warmup-steps", "5000"])

    tab = TrainingTab()
    qtbot.addWidget(tab)
    assert tab.form.widgets["warmup_steps"].maximum() == 1000
    titles = [tab.optimizer.itemText(i) for i in range(tab.optimizer.count())]
    assert titles[-1] == "RMSprop"
    sweeps = [tab.runs.sweep_key.itemData(i) for i in range(tab.runs.sweep_key.count())]
    assert "warmup_steps" in sweeps
    assert describe({"warmup_steps": 10}, ["warmup_steps"]) == "warm-up 10"


def test_an_optimizer_without_a_title_is_shown_by_its_name():
    assert SETTING["optimizer"].title_of("momentum") == "SGD + momentum"
    assert SETTING["optimizer"].title_of("lion") == "lion"


def test_one_preset_mechanism_gives_the_same_setup_to_the_cli_and_the_form(qtbot):
    from digitpad.cli.train import _train_config
    from digitpad.gui.training.tab import TrainingTab

    from_cli = _train_config(build_parser().parse_args(["train", "--preset", "fast", "--seed", "3"]))
    tab = TrainingTab()
    qtbot.addWidget(tab)
    tab.seed.setValue(3)
    tab.apply_fast_preset()
    from_form = tab.config()
    keys = [s.name for s in SETTING.values() if s.in_form]
    assert {k: getattr(from_form, k) for k in keys} == {k: getattr(from_cli, k) for k in keys}
    assert from_cli.model == "cnn" and from_cli.lr == settings.PRESETS["fast"].values["lr"]
    with pytest.raises(ValueError, match="leave out --model"):
        TrainConfig.with_preset("fast", model="mlp")
