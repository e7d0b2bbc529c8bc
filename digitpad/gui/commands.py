"""The window's menus and keys: everything a teacher does, reachable from the keyboard.

File (Open model, Save model, Export charts, Open image, Quit), Run (Start, Pause/Resume, Stop, Step) and
Edit (Undo, Redo, Clear, Explain) act on the tab in view: each command presses that tab's button of the same
name (`start_button`, `undo_button`, …; a tab with pages, such as Lessons, offers its page's first), exactly
as a click would, so it does only what the button would do and only when the button can be pressed. A new
tab that names its buttons so gets the keys for free. View adds a key per tab (Ctrl+1 …). When a tab comes
into view, the keyboard focus goes to the control a teacher would press first there (Start, the canvas).

The focus ring: one `FocusRing` (a QFocusFrame) follows the focused control — a thick ring visible from the back
of the room, drawn around the control, so nothing is resized or restyled when the focus moves (a style sheet on
the buttons themselves would change their size and look).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QRectF, Qt
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter, QPen, QRegion
from PySide6.QtWidgets import QAbstractButton, QApplication, QMainWindow, QMenu, QTabWidget, QWidget

RING_COLOUR = "#0047ab"  # 8.4:1 on white, 7.3:1 on Fusion's window grey
RING_WIDTH = 3
TAB_KEYS = 9  # Ctrl+1 … Ctrl+9


class FocusRing(QWidget):
    """A 3-pixel ring just outside the focused control (Fusion's own hint is a faint 1-pixel tint).

    It is a child of the window, above everything, so no parent clips it; it follows the control when that
    moves, resizes or scrolls (it watches the control and its parents) and covers only the ring itself
    (a mask), so it never costs the controls under it a repaint.
    """

    MARGIN = RING_WIDTH + 1

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.target: QWidget | None = None
        self._watched: list[QWidget] = []
        self.hide()

    def follow(self, widget: QWidget | None) -> None:
        for w in self._watched:
            w.removeEventFilter(self)
        self.target = widget
        self._watched = []
        while widget is not None and widget is not self.parentWidget():
            widget.installEventFilter(self)
            self._watched.append(widget)
            widget = widget.parentWidget()
        self.place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.Hide):
            self.place()
        return False

    def place(self) -> None:
        """Around the part of the control in view (a control half scrolled away is ringed where it shows)."""
        target, window = self.target, self.parentWidget()
        if target is None or not target.isVisible():
            self.hide()
            return
        rect = QRect(target.mapTo(window, QPoint(0, 0)), target.size())
        parent = target.parentWidget()
        while parent is not None and parent is not window:
            rect &= QRect(parent.mapTo(window, QPoint(0, 0)), parent.size())
            parent = parent.parentWidget()
        if rect.isEmpty():
            self.hide()
            return
        m = self.MARGIN
        outer = rect.adjusted(-m, -m, m, m)
        self.setGeometry(outer)
        local = QRect(QPoint(0, 0), outer.size())
        self.setMask(QRegion(local) - QRegion(local.adjusted(m, m, -m, -m)))
        self.raise_()
        self.show()
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(RING_COLOUR), RING_WIDTH))
        half = RING_WIDTH / 2
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(half, half, -half, -half), 3, 3)
        painter.end()


@dataclass(frozen=True)
class Command:
    """A menu entry that presses the button called `control` on the tab in view."""

    title: str
    keys: tuple[str | QKeySequence.StandardKey, ...]
    control: str
    tip: str = ""


RUN = (Command("&Start", ("Ctrl+Return", "Ctrl+Enter"), "start_button", "Start training (or the lesson's run)"),
       Command("&Pause / Resume", ("Ctrl+P",), "pause_button", "Pause the run, or resume it"),
       Command("S&top", ("Ctrl+.",), "stop_button", "Stop the run within one batch"),
       Command("Ste&p", ("F10",), "step_button", "One step (on a tab that steps)"))
EDIT = (Command("&Undo", (QKeySequence.StandardKey.Undo,), "undo_button"),
        Command("&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "redo_button"),
        Command("&Clear", ("Esc",), "clear_button", "Clear the canvas; Undo brings the drawing back"),
        Command("&Explain", ("Ctrl+E",), "explain_button", "Show or hide why the network answers what it does"))


def sequences(keys) -> list[QKeySequence]:
    out: list[QKeySequence] = []
    for key in keys:
        out += QKeySequence.keyBindings(key) if isinstance(key, QKeySequence.StandardKey) else [QKeySequence(key)]
    return out


def places(room: QWidget) -> list[QWidget]:
    """Where a tab's buttons are looked for: its page in view first (Lessons), then the tab itself."""
    page = room.current_page() if hasattr(room, "current_page") else None
    return [page, room] if page is not None else [room]


def control_in_view(tabs: QTabWidget, name: str) -> QAbstractButton | None:
    """The button called `name` on the tab in view, if it has one."""
    room = tabs.currentWidget()
    if room is None:
        return None
    for place in places(room):
        button = getattr(place, name, None)
        if isinstance(button, QAbstractButton):
            return button
    return None


def usable(button: QAbstractButton | None) -> bool:
    return button is not None and button.isEnabled() and button.isVisible()


class Commands(QObject):
    """The window's File, Edit and Run menus, the tab keys, the focus on each tab and the focus ring."""

    def __init__(self, window: QMainWindow, tabs: QTabWidget) -> None:
        super().__init__(window)
        self.window, self.tabs = window, tabs
        self.actions: dict[str, QAction] = {}
        self._build_file_menu(window.menuBar().addMenu("&File"))
        for title, commands in (("&Edit", EDIT), ("&Run", RUN)):
            menu = window.menuBar().addMenu(title)
            for command in commands:
                self._add_command(menu, command)
            menu.aboutToShow.connect(lambda commands=commands: self._enable(commands))
        self.ring = FocusRing(window)
        QApplication.instance().focusChanged.connect(self._follow_focus)
        tabs.currentChanged.connect(lambda _index: self.focus_first())

    # --- menus -------------------------------------------------------------------------------

    def _action(self, menu: QMenu, title: str, keys, slot, tip: str = "") -> QAction:
        action = QAction(title, self.window)
        action.setShortcuts(sequences(keys))
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.window.addAction(action)  # its keys work with the menu closed, even in full screen without a menu bar
        self.actions[title.replace("&", "").replace("…", "")] = action
        return action

    def _build_file_menu(self, menu: QMenu) -> None:
        window = self.window
        self._action(menu, "&Open model…", (QKeySequence.StandardKey.Open,), window.training.open_model,
                     "Open a DigitPad checkpoint; the canvas uses it")
        self._action(menu, "&Save model…", (QKeySequence.StandardKey.Save,), window.training.save_model,
                     "Save the model of the last run (checkpoint, ONNX or .pt2)")
        self._action(menu, "&Export charts…", ("Ctrl+Shift+E",), window.training.runs.choose_chart_export,
                     "The training charts as PNG or SVG, or their numbers as CSV")
        self._action(menu, "Open &image…", ("Ctrl+I",), self._open_image, "Classify a picture on the Canvas tab")
        menu.addSeparator()
        self._action(menu, "&Quit", ("Ctrl+Q",), window.close, "Close DigitPad (asks first while training)")
        menu.aboutToShow.connect(self._enable_file)

    def _enable_file(self) -> None:
        training = self.window.training
        self.actions["Save model"].setEnabled(training.save_button.isEnabled())
        self.actions["Open model"].setEnabled(training.load_button.isEnabled())

    def _open_image(self) -> None:
        self.tabs.setCurrentWidget(self.window.canvas)
        self.window.canvas.choose_image()

    def _add_command(self, menu: QMenu, command: Command) -> None:
        self._action(menu, command.title, command.keys, lambda: self.press(command), command.tip)

    def _enable(self, commands: tuple[Command, ...]) -> None:
        """The menu shows what the tab in view can do now (the keys check again when pressed)."""
        for command in commands:
            self.actions[command.title.replace("&", "")].setEnabled(usable(control_in_view(self.tabs, command.control)))

    def press(self, command: Command) -> bool:
        """Press the tab's button, as a click does; say so when there is none to press."""
        button = control_in_view(self.tabs, command.control)
        if not usable(button):
            title = command.title.replace("&", "")
            self.window.statusBar().showMessage(f"{title}: nothing to {title.split(' /')[0].lower()} on this tab "
                                                "right now.", 4000)
            return False
        button.click()
        return True

    def add_tab_keys(self, menu: QMenu) -> None:
        """View ▸ the tabs, Ctrl+1 … Ctrl+9 (the menu lists the tabs there are when it opens)."""
        tabs_menu = menu.addMenu("&Go to tab")
        for k in range(TAB_KEYS):
            action = QAction(self.window)
            action.setShortcut(QKeySequence(f"Ctrl+{k + 1}"))
            action.triggered.connect(lambda _=False, k=k: k < self.tabs.count() and self.tabs.setCurrentIndex(k))
            self.window.addAction(action)
            self.actions[f"tab {k + 1}"] = action
        tabs_menu.aboutToShow.connect(lambda: self._list_tabs(tabs_menu))

    def _list_tabs(self, menu: QMenu) -> None:
        menu.clear()
        for k in range(min(self.tabs.count(), TAB_KEYS)):
            menu.addAction(self.actions[f"tab {k + 1}"])
            self.actions[f"tab {k + 1}"].setText(self.tabs.tabText(k))

    # --- focus -------------------------------------------------------------------------------

    def focus_first(self) -> None:
        """Focus what a teacher presses first on the tab in view: Start, else the canvas, else its first control."""
        room = self.tabs.currentWidget()
        if room is None:
            return
        for name in ("start_button", "canvas"):
            for place in places(room):
                widget = getattr(place, name, None)
                if isinstance(widget, QWidget) and widget.isEnabled() and widget.focusPolicy() != Qt.FocusPolicy.NoFocus:
                    widget.setFocus(Qt.FocusReason.TabFocusReason)
                    return
        room.setFocus(Qt.FocusReason.TabFocusReason)
        room.focusNextChild()

    def _follow_focus(self, _old: QWidget | None, new: QWidget | None) -> None:
        """The ring goes around the newly focused control of this window."""
        self.ring.follow(new if new is not None and new.window() is self.window else None)
