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


@pytest.fixture(scope="session")
def mnist():
    from digitpad.core.datasets import load_dataset

    return load_dataset("mnist")


@pytest.fixture(scope="session")
def shipped_cnn():
    from digitpad.core.checkpoints import DEFAULT_MODEL, load_checkpoint

    return load_checkpoint(DEFAULT_MODEL)
