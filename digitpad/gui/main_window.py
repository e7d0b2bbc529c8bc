"""The main window: one tab ("room") per part of the app over one model library; closing stops their work cleanly."""

from __future__ import annotations

import gc
from dataclasses import replace

from PySide6.QtCore import QRect, QSettings, QSize, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QTabWidget, QWidget

from digitpad.core.checkpoints import CheckpointError, TrainedModel, load_checkpoint
from digitpad.core.devices import keep_this_thread_serial
from digitpad.core.evaluation import Mistake
from digitpad.core.personal_set import default_folder
from digitpad.core.trainer import preload_training_modules
from digitpad.gui.common.worker import run_call
from digitpad.gui.commands import Commands
from digitpad.gui.canvas.tab import CanvasTab, dataset_picture
from digitpad.gui.classroom.tab import ClassroomTab
from digitpad.gui.lessons.tab import LessonsTab
from digitpad.gui.model_library import ModelLibrary
from digitpad.gui.common.dialogs import show_warning
from digitpad.gui.my_digits.tab import MyDigitsTab
from digitpad.gui.step.tab import StepTab
from digitpad.gui.common.settings import as_bytes, number_in, stored
from digitpad.gui.common.presentation import Presentation
from digitpad.gui.common.text_zoom import TextZoom
from digitpad.gui.training.tab import TrainingTab
from digitpad.gui.common.worker import Worker

PREFERRED_SIZE = QSize(1280, 800)
MINIMUM_SIZE = QSize(720, 480)  # fits a 1024×600 netbook with its panel and title bar
TITLE_BAR = 40  # room left above the window for the window manager's frame
SCREEN_SHARE = 0.9  # on a large screen (a projector) the window takes most of it


def first_size(available: QRect) -> QSize:
    """The window's first size: 1280×800 or 90 % of a larger screen, never more than the screen."""
    def side(preferred: int, room: int, minimum: int) -> int:
        return max(minimum, min(room, max(preferred, round(room * SCREEN_SHARE))))

    return QSize(side(PREFERRED_SIZE.width(), available.width(), MINIMUM_SIZE.width()),
                 side(PREFERRED_SIZE.height(), available.height() - TITLE_BAR, MINIMUM_SIZE.height()))


def preload_and_freeze() -> None:
    """Import what training would import lazily, then freeze every object alive so far.

    Start-up objects (modules, widgets, models) live for the whole session; once frozen, the cyclic
    GC's full collections, which took 20-170 ms here and stall the window mid-training, skip them.
    Until then the GC stays off: a full collection in this thread holds the GIL, and during these
    imports each one froze the freshly shown window for 140-200 ms.
    """
    gc.disable()
    try:
        preload_training_modules()
    finally:
        gc.freeze()
        gc.enable()


class MainWindow(QMainWindow):
    checkpoint_handled = Signal()  # an opened checkpoint is in use, or the reason it is not was shown

    def __init__(self) -> None:
        super().__init__()
        keep_this_thread_serial()  # the training worker needs the cores; the canvas needs one
        self.library = ModelLibrary(self)
        self.training = TrainingTab()
        self.canvas = CanvasTab(self.library)
        self.tabs = QTabWidget()
        self.add_room(self.training, "Training")
        self.add_room(self.canvas, "Canvas")
        self.my_digits = self.add_room(MyDigitsTab(self.library, default_folder()), "My digits")
        self.canvas.keep_row.chosen.connect(self.keep_drawing)
        self.lessons = self.add_room(LessonsTab(), "Lessons")
        self.step = self.add_room(StepTab(self.library), "Step")
        self.classroom = self.add_room(ClassroomTab(self.library, self.training, self.canvas, self.lessons, self.step),
                                       "Classroom")
        self.setCentralWidget(self.tabs)
        self.commands = Commands(self, self.tabs)  # File, Edit, Run: every action has its key
        self.zoom = TextZoom(self.fits_screen, self)
        view = self.menuBar().addMenu("&View")
        self.zoom.add_to(view)
        self.commands.add_tab_keys(view)
        self.presentation = Presentation(self, self.zoom, self.fits_in, self.rooms)  # F5
        view.addAction(self.training.charts.accuracy_action)
        self.presentation.add_to(view)
        self.zoom.refused.connect(lambda why: self.statusBar().showMessage(why, 8000))
        self.training.snapshot_ready.connect(lambda m: self.library.put(m, activate=False))
        self.training.snapshot_ready.connect(self.canvas.map_panel.training_snapshot)
        self.canvas.map_panel.image_chosen.connect(self.open_test_image)
        self.my_digits.changed.connect(lambda: self.canvas.map_panel.set_personal(
            [(s.pixels, s.label) for s in self.my_digits.personal.samples]))
        self.training.model_trained.connect(self._on_model_trained)
        self.training.use_on_canvas.connect(self.use_on_canvas)
        self.training.run_started.connect(self.statusBar().clearMessage)  # no word of the last run stays
        self.my_digits.kept.connect(lambda message: self.statusBar().showMessage(message, 8000))
        self.training.model_loaded_request.connect(self.open_checkpoint)
        self.training.results.mistake_chosen.connect(self.open_mistake)
        self.library.active_changed.connect(self._update_title)
        self.setMinimumSize(MINIMUM_SIZE)
        available = self.screen().availableGeometry()
        self.resize(first_size(available))
        self.move(available.center() - self.rect().center())
        geometry = stored("window/geometry", as_bytes, None)
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.zoom.fit_screen()
        self.tabs.setCurrentIndex(stored("window/tab", number_in(int, 0, self.tabs.count() - 1), 0))
        self._update_title(None)
        self.commands.focus_first()
        # The window appears at once; the pretrained models and the training modules load behind it.
        self.library.shipped_ready.connect(self._on_shipped_ready)
        self.library.load_shipped_in_background()
        QTimer.singleShot(0, self, lambda: run_call(preload_and_freeze, name="digitpad-preload", parent=self))

    def fits_screen(self) -> bool:
        """The window's smallest size at the current text size fits the screen it is on (with room for a title
        bar, except in full screen)."""
        room = self.screen().geometry() if self.isFullScreen() else self.screen().availableGeometry()
        return self.fits_in(room.size() - QSize(0, 0 if self.isFullScreen() else TITLE_BAR))

    def fits_in(self, room: QSize) -> bool:
        """The window's smallest size at the current text size fits in `room` (a screen, less its title bar)."""
        for _ in range(2):  # a font change reaches the layouts (hidden tabs' too) as posted events, in two rounds
            QApplication.processEvents()
        need = self.minimumSizeHint().expandedTo(self.minimumSize())
        return need.width() <= room.width() and need.height() <= room.height()

    def add_room(self, room: QWidget, title: str) -> QWidget:
        """One tab of the window. A room that runs work has `shutdown()`, called when the window closes; one
        with `is_training()` makes closing ask first while it is true. Returns the room."""
        self.tabs.addTab(room, title)
        return room

    def rooms(self) -> list[QWidget]:
        return [self.tabs.widget(i) for i in range(self.tabs.count())]

    def finish_background_work(self) -> None:
        """Stop every room's work and join every helper thread: nothing may outlive the window's Qt objects."""
        for room in self.rooms():
            if hasattr(room, "shutdown"):
                room.shutdown()
        Worker.join_all()

    def keep_drawing(self, label: int) -> None:
        """"This is a …": the canvas drawing goes to My digits with its label; the canvas clears for the next."""
        pred = self.canvas.prediction
        self.my_digits.keep(label, self.canvas.canvas.stroke_set(), pred.pixels if pred else None)
        if pred is not None and self.canvas.picture is None:
            self.canvas.clear()

    def _on_shipped_ready(self) -> None:
        if self.library.load_errors:
            self.statusBar().showMessage("Some pretrained models could not be loaded: "
                                         + "; ".join(self.library.load_errors), 15000)

    def _on_model_trained(self, model: TrainedModel, stopped: bool) -> None:
        """Every run's model joins the canvas list; the canvas keeps its model until the teacher says otherwise
        (Use on canvas, or picking it there): nothing changes behind the teacher's back."""
        self.library.put(model, activate=False)
        active = self.library.active
        keeps = f" (the canvas keeps {active.name})" if active is not None and active.source != model.source else ""
        self.statusBar().showMessage(f"{'Stopped' if stopped else 'Done'}: {model.name} joined the canvas list{keeps}.")

    def use_on_canvas(self, model: TrainedModel) -> None:
        """The teacher's "Use on canvas": that model on the Canvas tab, which comes into view."""
        self.library.choose(self.library.put(model, activate=False))
        self.tabs.setCurrentWidget(self.canvas)
        self.statusBar().showMessage(f"The canvas now uses {model.title}.", 8000)

    def open_checkpoint(self, path: str) -> None:
        """Read the checkpoint on a thread; the model in use changes only once it has loaded."""
        self.statusBar().showMessage(f"Opening {path}…")
        run_call(load_checkpoint, path, name="digitpad-open", parent=self, then=self._on_checkpoint_read)

    def _on_checkpoint_read(self, model: TrainedModel | None, error: Exception | None) -> None:
        if error is None:
            self.library.choose(self.library.put(model, activate=False))
            self.statusBar().showMessage(f"Loaded {model.title}; the canvas uses it now.")
        else:
            reason = str(error) if isinstance(error, CheckpointError) else f"{type(error).__name__}: {error}"
            self.statusBar().clearMessage()
            self.error_box = show_warning(self, "Cannot open model", f"{reason}\n\nThe model in use is unchanged.")
        self.checkpoint_handled.emit()

    def open_mistake(self, mistake: Mistake, true_name: str, model: TrainedModel | None) -> None:
        """A test image a run's model got wrong, on the canvas as it is (the 28×28 test image itself), read by
        the model that made the mistake: clicking it is the teacher's say-so to switch."""
        if model is not None:
            index = next((i for i, m in enumerate(self.library.models) if m is model), None)
            if index is None:  # a later epoch has taken its entry: it comes back under a name of its own
                index = self.library.put(replace(model, source=model.name), activate=False)
            self.library.choose(index)
        self.open_test_image(mistake.image, mistake.index, true_name)
        if model is not None:
            self.statusBar().showMessage(f"Test image {mistake.index} ({true_name}), read by {model.name}: the model "
                                         "that got it wrong.", 10000)

    def open_test_image(self, image, index: int, true_name: str, explain: bool = False) -> None:
        """A test image (28×28 uint8) on the canvas, from the mistakes or the map; `explain`: with the Explain panel."""
        self.canvas.show_picture(dataset_picture(image, f"test image {index}, labelled {true_name}"))
        self.tabs.setCurrentWidget(self.canvas)
        if explain:
            self.canvas.explain_button.setChecked(True)

    def _update_title(self, _model=None) -> None:
        active = self.library.active
        self.statusBar().showMessage(f"Canvas model: {active.title}" if active else "No model loaded")
        self.setWindowTitle(f"DigitPad — {active.title}" if active else "DigitPad")

    def confirm_stop_on_close(self) -> bool:
        """Ask before stopping a run; the question answers itself if the run ends meanwhile."""
        Button = QMessageBox.StandardButton
        self.quit_box = QMessageBox(QMessageBox.Icon.Question, "Training is running",
                                    "A model is still training. Stop it and quit?", Button.Yes | Button.No, self)
        self.quit_box.setDefaultButton(Button.No)
        ended = self.training.run_ended.connect(lambda: self.quit_box.done(Button.Yes))
        try:
            return self.quit_box.exec() == Button.Yes
        finally:
            self.training.run_ended.disconnect(ended)

    def closeEvent(self, event: QCloseEvent) -> None:
        training = any(room.is_training() for room in self.rooms() if hasattr(room, "is_training"))
        if training and not self.confirm_stop_on_close():
            event.ignore()
            return
        self.finish_background_work()
        self.training.save_settings()
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/tab", self.tabs.currentIndex())
        event.accept()
