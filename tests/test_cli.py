"""The command line, through subprocess as a user runs it."""

import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from digitpad.core.checkpoints import load_checkpoint
from digitpad.core.sample_digits import digit_strokes, photo_like


def digitpad(*args, check=False):
    return subprocess.run([sys.executable, "-m", "digitpad", *map(str, args)], capture_output=True, text=True,
                          check=check, timeout=300)


def lines(result):
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_train_prints_epoch_lines_and_saves_a_loadable_checkpoint(tmp_path, mnist):
    out = tmp_path / "m.pt"
    result = digitpad("train", "--model", "softmax", "--epochs", "2", "--train-limit", "3000", "--test-limit", "1000",
                      "--device", "cpu", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "epoch 1/2" in result.stdout and "epoch 2/2" in result.stdout and "test acc" in result.stdout
    trained = load_checkpoint(out)
    assert trained.meta.architecture == "softmax" and trained.meta.epochs == 2
    assert trained.meta.config["lr"] == 0.03 and trained.meta.test_accuracy > 0.7


def test_train_with_a_diverging_learning_rate_fails_cleanly(tmp_path, mnist):
    result = digitpad("train", "--model", "mlp", "--lr", "1000", "--optimizer", "sgd", "--epochs", "1",
                      "--train-limit", "2000", "--test-limit", "200", "--out", tmp_path / "x.pt")
    assert result.returncode == 1 and "diverged" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.pt").exists()


def test_predict_answers_every_file_even_the_bad_ones(tmp_path):
    photo = tmp_path / "photo-7.png"
    photo_like(7).save(photo)
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(photo.read_bytes()[:300])
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    result = digitpad("predict", photo, blank, corrupt, text, tmp_path / "missing.png")
    answers = lines(result)
    assert result.returncode == 1 and [a["file"] for a in answers] == [str(p) for p in
                                                                     (photo, blank, corrupt, text,
                                                                      tmp_path / "missing.png")]
    first = answers[0]
    assert first["prediction"] == 7 and first["error"] is None
    assert len(first["probabilities"]) == 10 and sum(first["probabilities"]) == pytest.approx(1, abs=1e-6)
    for bad, fragment in zip(answers[1:], ["no ink", "corrupt", "not an image", "no such file"]):
        assert bad["prediction"] is None and bad["probabilities"] is None and fragment in bad["error"]


def test_predict_strokes(tmp_path):
    good = tmp_path / "one.json"
    good.write_text(json.dumps({"width": 280, "height": 280, "pen_width": 18, "strokes": digit_strokes(1)}))
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"width": 280, "height": 280, "pen_width": 18, "strokes": []}))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    nan = tmp_path / "nan.json"
    nan.write_text('{"width": 280, "height": 280, "pen_width": 18, "strokes": [[[NaN, 1], [1e308, -5]]]}')
    answers = lines(digitpad("predict", "--strokes", good, empty, broken, nan))
    assert answers[0]["prediction"] == 1
    assert "no ink" in answers[1]["error"] and "not a readable stroke JSON" in answers[2]["error"]
    assert answers[3]["error"] is None or "no ink" in answers[3]["error"]


def test_predict_with_a_bad_model_says_so(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 100)
    result = digitpad("predict", "--model", bad, tmp_path / "x.png")
    assert result.returncode == 2 and "cannot load model" in result.stderr and str(bad) in result.stderr
    assert "Traceback" not in result.stderr


def test_eval_json(mnist):
    result = digitpad("eval", "--json", "--limit", "1000")
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["n"] == 1000 and report["dataset"] == "mnist"
    assert sum(map(sum, report["confusion"])) == 1000 and len(report["per_class_accuracy"]) == 10
    assert report["accuracy"] > 0.98


def test_eval_table(mnist):
    result = digitpad("eval", "--limit", "500")
    assert "accuracy" in result.stdout and "confusion matrix" in result.stdout and result.returncode == 0


def test_version():
    assert digitpad("--version").stdout.startswith("digitpad ")


def test_the_app_without_a_display_says_so_instead_of_aborting():
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux needs a display server")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "digitpad"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1 and "no display found" in result.stderr and "xvfb-run" in result.stderr


def test_output_into_a_closed_pipe_is_not_an_error(mnist):
    read_end, write_end = os.pipe()
    producer = subprocess.Popen([sys.executable, "-m", "digitpad", "eval", "--limit", "200"], stdout=write_end,
                                stderr=subprocess.PIPE)
    os.close(write_end)
    os.close(read_end)  # the reader is gone before anything is written, like `| head` after its lines
    assert producer.wait(120) == 0 and b"Traceback" not in producer.stderr.read()
