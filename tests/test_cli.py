"""The command line, through subprocess as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from digitpad.core.checkpoints import load_checkpoint
from digitpad.core.sample_digits import digit_strokes, photo_like
from helpers import bad_metadata_files, digitpad, lines, write_checkpoint


def test_train_prints_epoch_lines_and_saves_a_loadable_checkpoint(tmp_path, mnist):
    out = tmp_path / "m.pt"
    result = digitpad("train", "--model", "softmax", "--epochs", "2", "--train-limit", "3000", "--test-limit", "1000",
                      "--device", "cpu", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "epoch 1/2" in result.stdout and "epoch 2/2" in result.stdout and "test acc" in result.stdout
    trained = load_checkpoint(out)
    assert trained.meta.architecture == "softmax" and trained.meta.epochs == 2
    assert trained.meta.config["lr"] == 0.05 and trained.meta.test_accuracy > 0.7


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
    # the NaN point is dropped; the far one is clamped to the canvas and read as a dot: an answer, but unsure
    assert answers[3]["error"] is None and answers[3]["unsure"] is True


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


# --- reliability round 2: options, --out, divergence, broken models ------------------------------

def strict_json_lines(result):
    """Each line must be valid JSON as the standard defines it: NaN and Infinity are not."""
    def refuse(token):
        raise ValueError(f"not valid JSON: {token}")
    return [json.loads(line, parse_constant=refuse) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("args, flag", [
    (["--train-limit", "0"], "--train-limit"), (["--train-limit", "-5"], "--train-limit"),
    (["--test-limit", "0"], "--test-limit"), (["--lr", "1e39"], "--lr"), (["--device", "cpu:-1"], "--device"),
    (["--device", "cuda:7"], "--device"), (["--label-smoothing", "2"], "--label-smoothing"),
])
def test_bad_option_values_are_refused_at_once_naming_the_flag(tmp_path, args, flag):
    result = digitpad("train", *args, "--out", tmp_path / "m.pt")
    assert result.returncode == 2 and f"argument {flag}" in result.stderr and "Traceback" not in result.stderr
    assert "parameters" not in result.stdout and not (tmp_path / "m.pt").exists()  # nothing was trained


@pytest.mark.parametrize("args, flag", [
    (["--lr", "0"], "--lr"), (["--lr", "nan"], "--lr"), (["--momentum", "1"], "--momentum"),
    (["--epochs", "0"], "--epochs"), (["--epochs", "1.5"], "--epochs"), (["--batch-size", "-1"], "--batch-size"),
    (["--seed", "-1"], "--seed"), (["--model", "resnet"], "--model"),
])
def test_more_bad_option_values_are_refused_naming_the_flag(capsys, args, flag):
    """The same parser in-process (a subprocess each would add minutes to the suite)."""
    from digitpad.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", *args])
    assert exit_info.value.code == 2 and f"argument {flag}" in capsys.readouterr().err


def test_eval_refuses_a_limit_below_one():
    result = digitpad("eval", "--limit", "0")
    assert result.returncode == 2 and "argument --limit" in result.stderr


def read_only_folder(tmp_path):
    """A folder no file can be created in: chmod does not stop root, so root gets /proc."""
    if os.geteuid() == 0:
        return "/proc"
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_an_unwritable_out_is_refused_before_training(tmp_path):
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("a file where a folder should be")
    for out, reason in [(tmp_path / "a-folder", "is a folder"), (tmp_path / "a-file" / "m.pt", "not a folder"),
                        (f"{read_only_folder(tmp_path)}/m.pt", "cannot create a file")]:
        result = digitpad("train", "--epochs", "1", "--train-limit", "100", "--test-limit", "100", "--out", out)
        assert result.returncode == 2 and f"--out {out}" in result.stderr and reason in result.stderr, result.stderr
        assert "parameters" not in result.stdout and "Traceback" not in result.stderr


def test_a_save_that_still_fails_at_the_end_keeps_the_model_and_says_where(tmp_path, mnist):
    folder = tmp_path / "models"
    folder.mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    # ~6000 tiny steps: a second or two of training after the first line, little arithmetic
    proc = subprocess.Popen([sys.executable, "-m", "digitpad", "train", "--model", "softmax", "--epochs", "5",
                             "--batch-size", "16", "--train-limit", "20000", "--test-limit", "100", "--device", "cpu",
                             "--out", str(folder / "m.pt")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    assert "parameters" in proc.stdout.readline()  # the destination was fine when training started …
    folder.rename(tmp_path / "moved")
    folder.write_text("… and then a file took the folder's place")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "could not write" in stderr and "Traceback" not in stderr
    kept = Path(stderr.split("the model is kept at ")[1].split("; move it")[0].split(" (test accuracy")[0])
    assert kept.parent == tmp_path / "cache" / "digitpad" / "unsaved-models"
    assert load_checkpoint(kept).meta.architecture == "softmax"


@pytest.mark.parametrize("model, optimizer, lr", [("softmax", "sgd", "1e3"), ("cnn", "adam", "1e6")])
def test_a_run_that_explodes_without_reaching_nan_fails_and_saves_nothing(tmp_path, mnist, model, optimizer, lr):
    out = tmp_path / "x.pt"
    result = digitpad("train", "--model", model, "--optimizer", optimizer, "--lr", lr, "--epochs", "1",
                      "--train-limit", "3000", "--test-limit", "200", "--device", "cpu", "--out", out)
    assert result.returncode == 1 and "training diverged" in result.stderr and "lower learning rate" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_predict_and_eval_refuse_a_model_with_bad_metadata(tmp_path):

    photo = tmp_path / "photo-7.png"
    photo_like(7).save(photo)
    cases = bad_metadata_files(tmp_path)
    for name in ("mean-nan.pt", "arch-list.pt", "overflowing-weights.pt"):  # the rest: test_checkpoints.py
        result = digitpad("predict", "--model", tmp_path / name, photo)
        assert result.returncode == 2 and "cannot load model" in result.stderr and name in result.stderr
        assert cases[name] in result.stderr and "Traceback" not in result.stderr and result.stdout == ""
    result = digitpad("eval", "--model", tmp_path / "mean-nan.pt", "--limit", "10")
    assert result.returncode == 2 and "mean must be a finite number" in result.stderr


def test_eval_refuses_to_report_accuracy_when_outputs_are_not_finite(tmp_path, mnist):
    """Weights that pass the loader's probes yet overflow on real digits: once "accuracy 8 %", now an error."""
    import torch

    from digitpad.core.checkpoints import ASSETS_DIR

    state = {k: v.clone() for k, v in load_checkpoint(ASSETS_DIR / "mnist-softmax.pt").model.state_dict().items()}
    centre, corner = 14 * 28 + 14, 23 * 28 + 1  # the probes' noise is nearly equal at these two pixels
    state["1.weight"][0, centre], state["1.weight"][0, corner] = 1.15e38, -1.15e38  # cancel on every probe
    write_checkpoint(tmp_path / "edgy.pt", state=state)
    assert torch.isfinite(load_checkpoint(tmp_path / "edgy.pt").model(torch.zeros(1, 1, 28, 28))).all()
    result = digitpad("eval", "--model", tmp_path / "edgy.pt", "--limit", "500", "--json")
    assert result.returncode == 1 and "not finite" in result.stderr and result.stdout == ""
    assert "Traceback" not in result.stderr
