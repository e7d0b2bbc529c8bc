"""What many test files share: driving widgets (clicks, mouse strokes, a run set up), the command line,
tiny checkpoints (good and bad) and a folder that refuses writes. Test files import these by name."""

import json
import os
import pickle
import signal
import subprocess
import sys

import numpy as np
import torch
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from digitpad.core.checkpoints import ModelMeta, TrainedModel, save_checkpoint
from digitpad.core.datasets import DATASETS
from digitpad.core.models import build_model
from digitpad.core.personal_set import add_sample
from digitpad.core.preprocess import stroke_pixels
from digitpad.core.sample_digits import digit_strokes, mirrored_strokes, transform
from digitpad.core.strokes import Stroke, StrokeSet, as_points

# --- widgets ------------------------------------------------------------------------------------


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def setup_run(tab, model="softmax", epochs=2, subset="500", test_limit=300, **values):
    tab.model.setCurrentIndex(tab.model.findData(model))
    tab.subset.setCurrentIndex(tab.subset.findText(subset))
    tab.epochs.setValue(epochs)
    tab.device.setCurrentIndex(tab.device.findData("cpu"))
    tab.test_limit = test_limit
    for name, value in values.items():
        widget = getattr(tab, name)
        if hasattr(widget, "findData"):
            widget.setCurrentIndex(widget.findData(value))
        else:
            widget.setValue(value)


def send_mouse(widget, kind, pos: QPointF, buttons):
    button = Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button if kind != QMouseEvent.Type.MouseMove
                        else Qt.MouseButton.NoButton, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(qtbot, canvas, stroke):
    """Drag the mouse through the stroke's points, given in the canvas's 280×280 space."""
    sq = canvas.square()
    scale = sq.width() / 280
    pts = [QPointF(sq.left() + x * scale, sq.top() + y * scale) for x, y in stroke]
    left = Qt.MouseButton.LeftButton
    send_mouse(canvas, QMouseEvent.Type.MouseButtonPress, pts[0], left)
    for p in pts[1:]:
        send_mouse(canvas, QMouseEvent.Type.MouseMove, p, left)
    send_mouse(canvas, QMouseEvent.Type.MouseButtonRelease, pts[-1], Qt.MouseButton.NoButton)


def draw(qtbot, canvas_tab, digit, **kw):
    for stroke in transform(digit_strokes(digit), **kw):
        drag(qtbot, canvas_tab.canvas, stroke)
    return canvas_tab.prediction


def legend_texts(plot):
    """The names in a chart's legend, in order."""
    return [label.text for _, label in plot.legend.items]


def row_of(panel, run_id):
    """The Runs list's row that shows this run."""
    return next(row for row in range(panel.table.rowCount())
                if panel.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == run_id)


# --- the command line ---------------------------------------------------------------------------


def digitpad(*args, check=False):
    return subprocess.run([sys.executable, "-m", "digitpad", *map(str, args)], capture_output=True, text=True,
                          check=check, timeout=300)


def lines(result):
    return [json.loads(line) for line in result.stdout.splitlines()]


# --- checkpoints and files ----------------------------------------------------------------------


class Evil:
    """A pickle that would run a command when loaded: no loader of ours may ever run it."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/digitpad-pwned",))


def trained(arch: str = "softmax") -> TrainedModel:
    info = DATASETS["mnist"]
    meta = ModelMeta(arch, "mnist", info.class_names, info.mean, info.std, test_accuracy=0.9, epochs=2,
                     config={"lr": 0.1})
    return TrainedModel(build_model(arch).eval(), meta)


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


def refuse_writes(monkeypatch):
    """What a read-only folder does even to root, who may write anywhere: creating a file fails."""
    import tempfile

    def denied(*_a, **_k):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(tempfile, "mkstemp", denied)


# --- run records --------------------------------------------------------------------------------


def fake_runs(folder, n: int) -> None:
    """n recorded runs of three models at six learning rates, without training any."""
    import math
    from dataclasses import asdict

    from digitpad.core.runs import RunRecord, save_record
    from digitpad.core.trainer import TrainConfig

    models = ("softmax", "mlp", "cnn")
    for k in range(n):
        config = asdict(TrainConfig.for_model(models[k % 3], lr=(0.01, 0.03, 0.1, 0.3, 1.0, 3.0)[k // 3 % 6]))
        xs = [i / 4 for i in range(1, 21)]
        save_record(RunRecord(f"run{k:02d}", f"run {k}", config, status="finished", started=f"2026-01-01T00:{k:02d}",
                              loss_x=xs, loss_y=[2.3 * math.exp(-x * (0.3 + k / 20)) + 0.1 for x in xs],
                              epochs=[{"epoch": e, "train_loss": 0.3, "train_accuracy": 0.8 + e / 40,
                                       "test_accuracy": 0.78 + e / 40 + k / 250, "seconds": 1.0} for e in range(1, 6)],
                              final_accuracy=0.9, folder=folder))


def hand(seed: int, n: int = 10, mirrored: bool = False):
    """One writer's drawings: each digit once per ten, in their own size, slant, place and pen."""
    rng = np.random.default_rng(seed)
    for k in range(n):
        digit = k % 10
        base = mirrored_strokes(digit) if mirrored else digit_strokes(digit)
        moved = transform(base, scale=rng.uniform(0.55, 1), dx=rng.uniform(-30, 30), dy=rng.uniform(-30, 30),
                          angle_deg=rng.uniform(-15, 15))
        yield digit, StrokeSet(280, 280, float(rng.uniform(10, 24)), [Stroke(as_points(s)) for s in moved])


def personal_set(folder, seed, n=10, mirrored=False):
    """That writer's drawings kept in a personal set folder, as My digits keeps them."""
    for digit, strokes in hand(seed, n, mirrored):
        add_sample(folder, digit, strokes, stroke_pixels(strokes))
    return folder


def ctrl_c_raises() -> None:
    """Ctrl+C (SIGINT) raises KeyboardInterrupt in this process, as in a terminal. A test runner started in the
    background (`cmd &` in a script, as a CI may) hands its children SIGINT ignored, and Python then never
    raises it: give this as a child's `preexec_fn`, or call it before signalling oneself."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
