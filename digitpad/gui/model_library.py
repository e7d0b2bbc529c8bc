"""The models the app knows: the shipped ones, those trained in this session and those opened from files.

Both tabs share one library: the Training tab adds what it trains, the Canvas tab classifies
with the active model and offers the rest in its selector.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from digitpad.core.checkpoints import CheckpointError, TrainedModel, load_checkpoint, shipped_models
from digitpad.core.inference import warm_up
from digitpad.gui.common.worker import run_call


def read_shipped() -> tuple[list[TrainedModel], list[str]]:
    """The pretrained checkpoints, each run once; a broken one is reported, the rest still load."""
    models, errors = [], []
    for path in shipped_models():
        try:
            models.append(load_checkpoint(path))
        except CheckpointError as exc:
            errors.append(str(exc))
    for model in models:
        warm_up(model)
    return models, errors


class ModelLibrary(QObject):
    models_changed = Signal()
    active_changed = Signal(object)  # TrainedModel | None
    shipped_ready = Signal()  # the pretrained models are in (load_errors says which failed)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._models: list[TrainedModel] = []
        self._active: int = -1
        self.load_errors: list[str] = []

    def load_shipped_in_background(self) -> None:
        """Read the pretrained checkpoints off the GUI thread; they join the library when read."""
        run_call(read_shipped, name="digitpad-models", parent=self, then=self._add_shipped)

    def _add_shipped(self, loaded: tuple[list[TrainedModel], list[str]] | None, error: Exception | None) -> None:
        models, errors = loaded if loaded is not None else ([], [f"cannot list the pretrained models: {error}"])
        active = self.active
        self._models = models + self._models
        self.load_errors = errors
        if active is not None:  # the shipped models go first: keep pointing at the same model
            self._active = self._models.index(active)
        self.models_changed.emit()
        if active is None:
            self.set_active(0)
        self.shipped_ready.emit()

    @property
    def models(self) -> list[TrainedModel]:
        return list(self._models)

    @property
    def active(self) -> TrainedModel | None:
        return self._models[self._active] if 0 <= self._active < len(self._models) else None

    @property
    def active_index(self) -> int:
        return self._active

    def set_active(self, index: int) -> None:
        if 0 <= index < len(self._models) and index != self._active:
            self._active = index
            self.active_changed.emit(self.active)

    def choose(self, index: int) -> None:
        """The user picked this model (on the canvas, Use on canvas, an opened file or a clicked mistake): the
        only way the canvas changes model once the app has started."""
        self.set_active(index)

    def put(self, model: TrainedModel, activate: bool = True) -> int:
        """Add a model, or replace the one from the same source (a run's next snapshot, a file read again).

        Identity is the source, never the display name: two runs of the same model, or a saved
        mnist-cnn.pt beside the shipped one, are different entries. Returns the model's index.
        """
        sources = [m.source for m in self._models]
        if model.source and model.source in sources:
            index = sources.index(model.source)
            self._models[index] = model
            self.models_changed.emit()
            if index == self._active:
                self.active_changed.emit(model)
        else:
            self._models.append(model)
            index = len(self._models) - 1
            self.models_changed.emit()
        if activate:
            self.set_active(index)
        return index
