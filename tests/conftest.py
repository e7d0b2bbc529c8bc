"""Test set-up: Qt offscreen, settings and data cache kept away from the user's own."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def private_data_cache(tmp_path_factory):
    """Data set files are cached in a temp folder, never in ~/.cache."""
    os.environ["DIGITPAD_DATA"] = str(tmp_path_factory.mktemp("digitpad-data"))
    yield


@pytest.fixture(autouse=True)
def private_user_data(tmp_path_factory, monkeypatch):
    """Run records go to a fresh temp folder per test, never the user's data folder."""
    monkeypatch.setenv("DIGITPAD_HOME", str(tmp_path_factory.mktemp("digitpad-home")))


@pytest.fixture(scope="session")
def mnist():
    from digitpad.core.datasets import load_dataset

    return load_dataset("mnist")


@pytest.fixture(scope="session")
def shipped_cnn():
    from digitpad.core.checkpoints import DEFAULT_MODEL, load_checkpoint

    return load_checkpoint(DEFAULT_MODEL)


@pytest.fixture(autouse=True)
def isolated_qsettings(request, tmp_path):
    """QSettings go to a temp INI file: tests never read or change the user's real settings."""
    if "qapp" not in request.fixturenames and "qtbot" not in request.fixturenames:
        yield
        return
    from PySide6.QtCore import QCoreApplication, QSettings

    QCoreApplication.setOrganizationName("DigitPadTests")
    QCoreApplication.setApplicationName("DigitPadTests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield


@pytest.fixture(autouse=True)
def no_training_thread_left(request):
    """Fail any test that leaves a training QThread running."""
    yield
    if "qtbot" in request.fixturenames:
        from digitpad.gui.common.worker import running_threads

        assert running_threads() == [], "a training thread is still running after the test"


@pytest.fixture
def window(qtbot):
    from digitpad.gui.app import make_window

    win = make_window()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: len(win.library.models) > 0, timeout=10_000)
    yield win
    win.finish_background_work()


@pytest.fixture
def canvas_tab(window):
    """The whole window, on its Canvas tab, with the shipped MNIST CNN in use."""
    window.tabs.setCurrentWidget(window.canvas)
    assert window.library.active.name == "mnist-cnn"
    return window.canvas
