"""The training form, made from the settings table (`core/settings.py`): a control per setting it shows.

The fields build the Setup form, reads the TrainConfig from it, shows presets and model defaults,
and saves and restores the settings, every stored value through the same validation with the
default as fallback (`gui/common/settings.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox, QWidget

from digitpad.core.devices import available_devices
from digitpad.core.models import MODELS, Defaults, parameter_count_of
from digitpad.core import names
from digitpad.core.settings import SETTING, Setting
from digitpad.core.trainer import TrainConfig
from digitpad.gui.common.settings import number_in, one_of, stored



@dataclass(frozen=True)
class Choice:
    value: object
    title: str
    tip: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class Field:
    """One control of the form, holding the TrainConfig field `name`."""

    name: str
    label: str
    kind: type  # int or float for a spin box; object for a combo box of `choices`
    default: object
    choices: tuple[Choice, ...] = ()
    low: float = 0
    high: float = 0
    decimals: int = 0
    step: float = 1
    tip: str = ""
    widget_name: str = ""  # the TrainingTab attribute, when it differs from `name`

    @property
    def attr(self) -> str:
        return self.widget_name or self.name

    def make(self) -> QWidget:
        if self.choices:
            widget = QComboBox()
            # Sized by a short text, not the longest item: the form's column never outgrows its panel
            # (a long model title is elided in the box and shown whole in the list).
            widget.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            widget.setMinimumContentsLength(18)
            for choice in self.choices:
                widget.addItem(choice.title, choice.value)
                if choice.tip:
                    widget.setItemData(widget.count() - 1, choice.tip, Qt.ItemDataRole.ToolTipRole)
                widget.model().item(widget.count() - 1).setEnabled(choice.enabled)
        elif self.kind is int:
            widget = QSpinBox(minimum=int(self.low), maximum=int(self.high))
        else:
            widget = QDoubleSpinBox(decimals=self.decimals, minimum=self.low, maximum=self.high,
                                    singleStep=self.step)
        widget.setToolTip(self.tip)
        self.show(widget, self.default)
        return widget

    def read(self, widget: QWidget) -> object:
        return widget.currentData() if self.choices else widget.value()

    def show(self, widget: QWidget, value: object) -> None:
        if self.choices:
            index = widget.findData(value)
            if index >= 0 and widget.model().item(index).isEnabled():
                widget.setCurrentIndex(index)
        else:
            widget.setValue(value)

    def parse(self, raw: object) -> object:
        """A stored value as this field accepts it; ValueError for anything else."""
        if self.choices:
            return one_of([c.value for c in self.choices if c.enabled])(raw)
        return number_in(self.kind, self.low, self.high)(raw)


def _compact(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e4 else f"{n / 1e3:.1f}k"


# Form controls whose TrainingTab attribute is not the setting's own name.
WIDGET_NAMES = {"train_limit": "subset"}


def spin_range(setting: Setting, decimals: int) -> tuple[float, float]:
    """The table's range as a spin box can hold it: an open end one step inside, an int within 32 bits."""
    bounds, tick = setting.bounds, 10.0 ** -decimals
    low = bounds.low + tick if bounds.low_open else bounds.low
    high = bounds.high - tick if bounds.high_open else bounds.high
    return low, min(high, 2**31 - 1) if setting.kind is int else high


def field_for(setting: Setting, choices: tuple[Choice, ...] = ()) -> Field:
    """The form's control for one row of the settings table (its own choices where the form needs more)."""
    if not choices and setting.choices:
        choices = tuple(Choice(c, setting.title_of(c)) for c in setting.choices)
    if not choices and setting.form_choices:
        choices = tuple(Choice(value, title) for value, title in setting.form_choices)
    if choices:
        return Field(setting.name, setting.title, object, setting.default, choices, tip=setting.help,
                     widget_name=WIDGET_NAMES.get(setting.name, ""))
    low, high = spin_range(setting, setting.decimals)
    return Field(setting.name, setting.title, setting.kind, setting.default, low=low, high=high,
                 decimals=setting.decimals, step=setting.step, tip=setting.help,
                 widget_name=WIDGET_NAMES.get(setting.name, ""))


def setting_control(name: str, value: object, decimals: int | None = None) -> QWidget:
    """A control for one training setting with the table's range and choices (the lessons' own rows of controls);
    `decimals` narrows a float's box where a row is short of room."""
    setting = SETTING[name] if decimals is None else replace(SETTING[name], decimals=decimals)
    control = field_for(setting)
    widget = control.make()
    if isinstance(widget, QComboBox):  # in a row, as wide as its items: not the form column's fixed width
        widget.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        widget.setMinimumContentsLength(0)
    control.show(widget, value)
    return widget


def training_fields() -> tuple[Field, ...]:
    """The form's fields, in the table's order; built at run time (parameter counts, this machine's devices)."""
    counts = {name: parameter_count_of(name) for name in names.MODELS}
    devices = ("auto", *available_devices())
    own_choices = {
        "model": tuple(Choice(s.name, f"{s.title} · {_compact(counts[s.name])} params",
                              f"{s.note}; {counts[s.name]:,} parameters") for s in map(MODELS.get, names.MODELS)),
        "device": tuple(Choice(d, d, enabled=d in devices) for d in names.DEVICE_KINDS),
    }
    return tuple(field_for(s, own_choices.get(s.name, ())) for s in SETTING.values() if s.in_form)


@dataclass
class Form:
    """The fields and their widgets: what the TrainingTab lays out and reads."""

    fields: tuple[Field, ...] = field(default_factory=training_fields)
    widgets: dict[str, QWidget] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.widgets = {f.name: f.make() for f in self.fields}

    def config(self, **extra) -> TrainConfig:
        return TrainConfig(**{f.name: f.read(self.widgets[f.name]) for f in self.fields}, **extra)

    def show(self, values: dict[str, object]) -> None:
        """Set these fields' controls; the model first, since choosing it loads its defaults, then the
        data set, whose course lr the lr control may follow (`CourseLr`)."""
        by_name = {f.name: f for f in self.fields}
        first = ("model", "dataset")
        for name in sorted(values, key=lambda k: first.index(k) if k in first else len(first)):
            by_name[name].show(self.widgets[name], values[name])

    def save(self, prefix: str = "training/") -> None:
        settings = QSettings()
        for f in self.fields:
            settings.setValue(prefix + f.name, f.read(self.widgets[f.name]))

    def stored_values(self, prefix: str = "training/") -> dict[str, object]:
        """Every stored field that is valid; a missing or invalid one is left out (the control keeps its default)."""
        missing = object()
        values = {f.name: stored(prefix + f.name, f.parse, missing) for f in self.fields}
        return {name: value for name, value in values.items() if value is not missing}


class CourseLr:
    """Keeps an lr control on the course's lr for the chosen data set, until the user types their own.

    The course's lr depends on the data set (`Defaults.lr_by_dataset`): switching the data set moves the
    lr along while it still shows the course's value for the previous one, and leaves a typed lr alone.
    """

    def __init__(self, lr: QDoubleSpinBox, dataset: QComboBox, defaults: Callable[[], Defaults]) -> None:
        self.lr, self.dataset, self.defaults = lr, dataset, defaults
        self.shown_for: str = dataset.currentData()
        dataset.currentIndexChanged.connect(self._follow)

    def _follow(self) -> None:
        defaults, now = self.defaults(), self.dataset.currentData()
        if math.isclose(self.lr.value(), defaults.lr_for(self.shown_for)):
            self.lr.setValue(defaults.lr_for(now))
        self.shown_for = now
