"""Results going out: runs recorded by `digitpad train`, `compare` figures, and models exported to ONNX."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from digitpad.cli import main
from digitpad.core.evaluation import predict_all
from digitpad.core.export import ExportError, export_onnx
from digitpad.core.runs import load_runs
from digitpad.core.trainer import split_on_device
from digitpad.gui.common.charts import RUN_COLOURS
from helpers import digitpad

README = Path(__file__).resolve().parent.parent / "README.md"


def pixels_of(image: np.ndarray, colour: str) -> int:
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(image.astype(int) - rgb).sum(axis=2) < 30).sum())


def test_train_records_each_run_and_compare_draws_two_of_them(tmp_path, mnist, capsys):
    runs = tmp_path / "runs"
    train = ["train", "--model", "softmax", "--epochs", "2", "--train-limit", "2000", "--test-limit", "500",
             "--device", "cpu", "--runs-dir", runs]
    result = digitpad(*train, "--lr", "0.05", "--out", tmp_path / "m0.05.pt")  # as a user runs it
    assert result.returncode == 0 and "run recorded as finished" in result.stdout, result.stderr
    assert main([*map(str, train), "--lr", "0.5", "--out", str(tmp_path / "m0.5.pt")]) == 0  # in-process: quicker
    records, errors = load_runs([runs])
    assert [r.config["lr"] for r in records] == [0.05, 0.5] and errors == []
    assert records[0].checkpoint == str(tmp_path / "m0.05.pt") and len(records[1].epochs) == 2

    out = tmp_path / "chart.png"
    assert main(["compare", str(records[0].json_path), str(records[1].json_path), "--out", str(out)]) == 0
    assert "2 runs" in capsys.readouterr().out
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape == (1000, 1600, 3)  # a slide's size by default
    assert all(pixels_of(image, colour) > 200 for colour in RUN_COLOURS[:2])  # both runs' curves are drawn

    assert main(["compare", str(runs), "--out", str(tmp_path / "numbers.csv")]) == 0
    header = (tmp_path / "numbers.csv").read_text().splitlines()[0]
    assert header.startswith("lr 0.05: epoch (report)") and "lr 0.5: test accuracy" in header


def test_compare_without_records_says_so(tmp_path, capsys):
    (tmp_path / "junk.json").write_text("{}")
    assert main(["compare", str(tmp_path), str(tmp_path / "missing"), "--out", str(tmp_path / "x.png")]) == 2
    stderr = capsys.readouterr().err
    assert "no run records found" in stderr and "missing" in stderr and not (tmp_path / "x.png").exists()


def test_a_missing_export_extra_is_named(monkeypatch, shipped_cnn, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # what an environment without the extra looks like
    with pytest.raises(ExportError, match=re.escape("pip install 'digitpad[export]'")):
        export_onnx(shipped_cnn, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    for module in ("onnx", "onnxscript", "onnxruntime"):
        pytest.importorskip(module, reason="the export extra is not installed: pip install 'digitpad[export]'")
    out = tmp_path_factory.mktemp("export") / "model.onnx"
    assert main(["export", "--format", "onnx", "--out", str(out)]) == 0  # the shipped MNIST CNN
    return out


def test_the_onnx_export_predicts_like_eval_on_the_mnist_test_set(onnx_model, mnist, shipped_cnn, capsys):
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_model))
    pixels = mnist.test.images.numpy()[:, None].astype(np.float32) / 255  # raw [0, 1]: no normalization outside
    onnx_preds = session.run(["logits"], {"pixels": pixels})[0].argmax(1)
    x, y = split_on_device(mnist.test, torch.device("cpu"))
    torch_preds, _ = predict_all(shipped_cnn.model, x, shipped_cnn.meta.mean, shipped_cnn.meta.std)
    assert len(onnx_preds) == 10_000 and (onnx_preds == torch_preds.numpy()).all()
    capsys.readouterr()
    assert main(["eval", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (onnx_preds == y.numpy()).mean() == pytest.approx(report["accuracy"], abs=1e-9)
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["class_names"]) == [str(d) for d in range(10)] and meta["dataset"] == "mnist"
    assert json.loads(meta["normalization"])["std"] == shipped_cnn.meta.std
    assert session.run(["logits"], {"pixels": pixels[:1]})[0].shape == (1, 10)  # any batch size


def test_the_readme_snippet_reads_a_png_with_the_exported_model(onnx_model, mnist, tmp_path):
    snippet = re.search(r"```python\n(.*?onnxruntime.*?)```", README.read_text(), re.S).group(1)
    assert len(snippet.strip().splitlines()) <= 14
    (tmp_path / "model.onnx").write_bytes(onnx_model.read_bytes())
    for k in range(5):  # dark ink on white paper, at 10× size: what a scan or a drawing program gives
        digit = mnist.test.images[k].numpy()
        Image.fromarray(255 - digit).resize((280, 280)).save(tmp_path / "digit.png")
        result = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True,
                                timeout=120)
        assert result.stdout.strip() == str(int(mnist.test.labels[k])), result.stderr


def test_the_pt2_export_loads_back_and_gives_the_same_logits(shipped_cnn, tmp_path):
    from digitpad.core.export import export_model

    path = export_model(shipped_cnn, "pt2", tmp_path / "cnn.pt2")
    program = torch.export.load(str(path), extra_files={"digitpad.json": ""})
    pixels = torch.rand(3, 1, 28, 28)
    expected = shipped_cnn.model((pixels - shipped_cnn.meta.mean) / shipped_cnn.meta.std)
    torch.testing.assert_close(program.module()(pixels), expected, atol=1e-5, rtol=1e-5)
