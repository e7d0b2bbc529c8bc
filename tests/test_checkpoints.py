"""Checkpoints round-trip with their metadata; every kind of bad file gives one clear CheckpointError."""

import os
import pickle

import pytest
import torch

from digitpad.core.checkpoints import CheckpointError, ModelMeta, TrainedModel, load_checkpoint, save_checkpoint
from digitpad.core.datasets import DATASETS
from digitpad.core.models import build_model


def trained(arch: str = "softmax") -> TrainedModel:
    info = DATASETS["mnist"]
    meta = ModelMeta(arch, "mnist", info.class_names, info.mean, info.std, test_accuracy=0.9, epochs=2,
                     config={"lr": 0.1})
    return TrainedModel(build_model(arch).eval(), meta)


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    original = trained("cnn")
    path = save_checkpoint(original, tmp_path / "m.pt")
    loaded = load_checkpoint(path)
    assert loaded.meta == original.meta
    for (k, a), (_, b) in zip(original.model.state_dict().items(), loaded.model.state_dict().items()):
        assert torch.equal(a, b), k
    assert not loaded.model.training
    assert loaded.name == "m"


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/digitpad-pwned",))


def bad_files(tmp_path):
    good = save_checkpoint(trained(), tmp_path / "good.pt").read_bytes()
    other_arch = trained()
    other_arch.meta = ModelMeta("mlp", "mnist", other_arch.meta.class_names, 0.1, 0.3)
    wrong_shape = {"format": "digitpad-checkpoint", "meta": trained().meta.to_dict(),
                   "state_dict": {"1.weight": torch.zeros(10, 1024), "1.bias": torch.zeros(10)}}
    torch.save(wrong_shape, tmp_path / "wrong-shape.pt")
    torch.save({"fc.weight": torch.zeros(3, 3)}, tmp_path / "foreign.pt")
    save_checkpoint(other_arch, tmp_path / "other-arch.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "truncated.pt").write_bytes(good[: len(good) // 2])
    (tmp_path / "random.pt").write_bytes(os.urandom(4096))
    with open(tmp_path / "evil.pt", "wb") as fh:
        pickle.dump(Evil(), fh)
    torch.save({"format": "digitpad-checkpoint", "x": Evil()}, tmp_path / "evil-zip.pt")
    return {
        **bad_metadata_files(tmp_path),
        "empty.pt": "empty", "truncated.pt": "truncated or corrupt", "random.pt": "truncated or corrupt",
        "evil.pt": "", "evil-zip.pt": "could run code", "foreign.pt": "not a DigitPad checkpoint",
        "other-arch.pt": "do not fit", "wrong-shape.pt": "do not fit", "missing.pt": "no such file",
    }


def write_checkpoint(path, arch="softmax", state=None, **meta_changes) -> None:
    """A checkpoint as a hand-edited or foreign file might hold it: any metadata, any weights."""
    model = trained(arch)
    meta = {**model.meta.to_dict(), **meta_changes}
    torch.save({"format": "digitpad-checkpoint", "format_version": 1, "meta": meta,
                "state_dict": state if state is not None else model.model.state_dict()}, path)


def bad_metadata_files(tmp_path) -> dict[str, str]:
    """Checkpoints whose weights fit but whose metadata (or numbers) would give NaN, nonsense or a crash."""
    cases = {
        "mean-nan.pt": (dict(mean=float("nan")), "mean must be a finite number"),
        "mean-inf.pt": (dict(mean=float("inf")), "mean must be a finite number"),
        "mean-text.pt": (dict(mean="0.13"), "mean must be a number"),
        "std-inf.pt": (dict(std=float("inf")), "std must be a finite number"),
        "std-tiny.pt": (dict(std=1e-300), "std must be a finite number in [0.01, 1]"),
        "std-bool.pt": (dict(std=True), "std must be a number"),
        "arch-list.pt": (dict(architecture=["softmax"]), "unknown architecture"),
        "arch-unknown.pt": (dict(architecture="resnet"), "unknown architecture"),
        "dataset-unknown.pt": (dict(dataset="cifar"), "unknown dataset"),
        "nine-classes.pt": (dict(class_names=list("012345678")), "10 names"),
        "class-numbers.pt": (dict(class_names=list(range(10))), "each class name"),
        "accuracy-2.pt": (dict(test_accuracy=2.0), "test accuracy"),
        "epochs-text.pt": (dict(epochs="two"), "epochs must be a number"),
        "config-list.pt": (dict(config=[1, 2]), "config must be a mapping"),
        "no-mean.pt": (dict(mean=None), "mean must be a number"),
    }
    for name, (changes, _) in cases.items():
        write_checkpoint(tmp_path / name, **changes)
    missing = trained().meta.to_dict()
    del missing["std"]
    torch.save({"format": "digitpad-checkpoint", "meta": missing, "state_dict": trained().model.state_dict()},
               tmp_path / "missing-std.pt")
    cnn_state = build_model("cnn").state_dict()
    cnn_state["1.running_var"] = -torch.ones_like(cnn_state["1.running_var"])
    write_checkpoint(tmp_path / "negative-bn-var.pt", arch="cnn", state=cnn_state)
    huge = build_model("softmax").state_dict()
    huge["1.weight"] = torch.full_like(huge["1.weight"], 3e38)  # finite, but the forward pass overflows
    write_checkpoint(tmp_path / "overflowing-weights.pt", state=huge)
    return {**{name: fragment for name, (_, fragment) in cases.items()}, "missing-std.pt": "missing std",
            "negative-bn-var.pt": "running variance is negative", "overflowing-weights.pt": "outputs overflow"}


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
