"""The Step tab's setup: the Training form's own fields (same ranges, same course defaults), where to start
from (fresh seeded weights or any model in the library), and up to three more optimizers to race."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGridLayout, QGroupBox, QLabel, QVBoxLayout,
                               QWidget)

from digitpad.core.checkpoints import TrainedModel
from digitpad.core.models import MODELS
from digitpad.core.step import MAX_LANES, RACE_LANES, LaneConfig, StepConfig
from digitpad.gui.model_library import ModelLibrary
from digitpad.gui.training.form import CourseLr, Field, Form, training_fields

FIELDS = ("dataset", "model", "optimizer", "lr", "momentum", "batch_size", "seed")
FRESH = "fresh weights (the seed below)"


class RaceLane:
    """One more optimizer in the race: on or off, which one, its lr and momentum."""

    def __init__(self, default: LaneConfig, by_name: dict[str, Field]) -> None:
        self.on = QCheckBox()
        self.optimizer = by_name["optimizer"].make()
        self.optimizer.setMinimumContentsLength(6)
        self.lr = by_name["lr"].make()
        self.momentum = by_name["momentum"].make()
        self.optimizer.setCurrentIndex(self.optimizer.findData(default.optimizer))
        self.lr.setValue(default.lr)
        self.momentum.setValue(default.momentum)
        self.optimizer.currentIndexChanged.connect(self._update_momentum)
        self.on.toggled.connect(self._update_momentum)
        self._update_momentum()

    def widgets(self) -> tuple[QWidget, ...]:
        return self.on, self.optimizer, self.lr, self.momentum

    def _update_momentum(self) -> None:
        for w in (self.optimizer, self.lr):
            w.setEnabled(self.on.isChecked())
        self.momentum.setEnabled(self.on.isChecked() and self.optimizer.currentData() == "momentum")

    def config(self) -> LaneConfig:
        return LaneConfig(self.optimizer.currentData(), self.lr.value(), self.momentum.value())


class SetupPanel(QWidget):
    """What the next session steps; `changed` fires on any edit (the current session then no longer matches)."""

    changed = Signal()

    def __init__(self, library: ModelLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        by_name = {f.name: f for f in training_fields() if f.name in FIELDS}
        fields = [by_name[name] for name in FIELDS]
        self.form = Form(fields=tuple(fields))
        for name in FIELDS:
            setattr(self, name, self.form.widgets[name])
        self.start_from = QComboBox()
        self.start_from.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.start_from.setMinimumContentsLength(14)
        self.start_from.setToolTip("Step on from fresh seeded weights, or from any model in the library "
                                   "(its architecture and data set are then fixed)")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Start from", self.start_from)
        for f in fields:
            form.addRow(f.label, self.form.widgets[f.name])
        self.race = QGroupBox("Race: more optimizers on the same batches")
        self.race.setCheckable(True)
        self.race.setChecked(False)
        self.race.setToolTip("Every lane starts from the same weights and sees the same batches in the same order")
        self.lanes = [RaceLane(default, by_name) for default in RACE_LANES[1:MAX_LANES]]
        self.lanes[-1].on.setChecked(False)
        for lane in self.lanes[:-1]:
            lane.on.setChecked(True)
        grid = QGridLayout(self.race)
        grid.setContentsMargins(4, 4, 4, 4)
        for col, title in enumerate(("", "optimizer", "lr", "μ")):
            grid.addWidget(QLabel(title), 0, col)
        for row, lane in enumerate(self.lanes, start=1):
            for col, widget in enumerate(lane.widgets()):
                grid.addWidget(widget, row, col)
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.race)
        layout.addStretch(1)

        self.model.currentIndexChanged.connect(self._apply_model_defaults)
        self.course_lr = CourseLr(self.lr, self.dataset, lambda: MODELS[self.model.currentData()].defaults)
        self.optimizer.currentIndexChanged.connect(self._update_momentum)
        self.start_from.currentIndexChanged.connect(self._apply_start)
        library.models_changed.connect(self._list_models)
        self._apply_model_defaults()
        self._list_models()
        for widget in (*self.form.widgets.values(), self.start_from):
            signal = widget.currentIndexChanged if isinstance(widget, QComboBox) else widget.valueChanged
            signal.connect(self.changed)
        self.race.toggled.connect(self.changed)
        for lane in self.lanes:
            for widget in lane.widgets():
                signal = (widget.toggled if isinstance(widget, QCheckBox) else
                          widget.currentIndexChanged if isinstance(widget, QComboBox) else widget.valueChanged)
                signal.connect(self.changed)

    def _apply_model_defaults(self) -> None:
        """The course's optimizer, lr, momentum and batch size for the model, as the Training tab sets them."""
        defaults = MODELS[self.model.currentData()].defaults.for_dataset(self.dataset.currentData())
        self.form.show({k: v for k, v in defaults.items() if k in FIELDS})
        self._update_momentum()

    def _update_momentum(self) -> None:
        self.momentum.setEnabled(self.optimizer.currentData() == "momentum")

    def _list_models(self) -> None:
        chosen = self.start_from.currentData()
        self.start_from.blockSignals(True)
        self.start_from.clear()
        self.start_from.addItem(FRESH, None)
        for model in self.library.models:
            self.start_from.addItem(model.title, model.source or model.title)
            self.start_from.setItemData(self.start_from.count() - 1, model.title, Qt.ItemDataRole.ToolTipRole)
        index = self.start_from.findData(chosen) if chosen is not None else 0
        self.start_from.setCurrentIndex(max(index, 0))
        self.start_from.blockSignals(False)
        self._apply_start()

    def start_model(self) -> TrainedModel | None:
        key = self.start_from.currentData()
        return next((m for m in self.library.models if (m.source or m.title) == key), None)

    def _apply_start(self) -> None:
        """A library model fixes the architecture and the data set; fresh weights leave them free."""
        start = self.start_model()
        if start is not None:
            self.form.show({"model": start.meta.architecture, "dataset": start.meta.dataset})
        for name in ("model", "dataset"):
            self.form.widgets[name].setEnabled(start is None)

    def config(self) -> StepConfig:
        lane = LaneConfig(self.optimizer.currentData(), self.lr.value(), self.momentum.value())
        race = [r.config() for r in self.lanes if r.on.isChecked()] if self.race.isChecked() else []
        return StepConfig(dataset=self.dataset.currentData(), model=self.model.currentData(),
                          batch_size=self.batch_size.value(), seed=self.seed.value(), lanes=(lane, *race))
