"""Checkpoints round-trip with their metadata; every kind of bad file gives one clear CheckpointError."""

import os

import pytest
import torch

from digitpad.core.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from helpers import bad_files, trained


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    original = trained("cnn")
    path = save_checkpoint(original, tmp_path / "m.pt")
    loaded = load_checkpoint(path)
    assert loaded.meta == original.meta
    for (k, a), (_, b) in zip(original.model.state_dict().items(), loaded.model.state_dict().items()):
        assert torch.equal(a, b), k
    assert not loaded.model.training
    assert loaded.name == "m"


def test_bad_files_give_a_clear_error_naming_the_file(tmp_path):
    expected = bad_files(tmp_path)
    for name, fragment in expected.items():
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(tmp_path / name)
        assert name in str(info.value)
        assert fragment in str(info.value), (name, str(info.value))
    assert not os.path.exists("/tmp/digitpad-pwned"), "a pickle ran code"


def test_an_interrupted_save_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint(trained(), tmp_path / "m.pt")
    before = path.read_bytes()

    def crash(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(trained("cnn"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temp file left behind
