"""`digitpad fool`, `digitpad robustness`, `train --adversarial` and predict's "not a digit", as a user runs them."""

import json

from PIL import Image

from digitpad.core.checkpoints import ASSETS_DIR, load_checkpoint
from digitpad.core.not_digits import SCRIBBLES
from digitpad.core.sample_digits import photo_like
from helpers import digitpad, lines

SOFTMAX = ASSETS_DIR / "mnist-softmax.pt"


def test_fool_answers_one_json_line_per_file_within_its_budget(tmp_path):
    photo = tmp_path / "seven.png"
    photo_like(7).save(photo)
    missing = tmp_path / "missing.png"
    result = digitpad("fool", photo, missing, "--model", SOFTMAX, "--eps", "0.15", "--attack", "pgd", "--steps",
                      "10", "--target", "3", "--json", "--out", tmp_path / "figs")
    good, bad = lines(result)
    assert result.returncode == 1  # one file could not be read
    assert set(good) >= {"file", "prediction_before", "prediction_after", "target", "eps", "linf",
                         "probabilities_after"}
    assert good["prediction_before"] == 7 and good["target"] == 3 and good["eps"] == 0.15
    assert good["prediction_after"] == 3 and good["error"] is None
    assert 0 < good["linf"] <= 0.15 and abs(sum(good["probabilities_after"]) - 1) < 1e-6
    adversarial = Image.open(tmp_path / "figs" / "seven-adversarial.png")
    assert adversarial.size == (28, 28) and adversarial.mode == "L"
    assert Image.open(tmp_path / "figs" / "seven-fool.png").size[0] >= 900  # the panel's figure
    assert bad["prediction_after"] is None and "no such file" in bad["error"]


def test_fool_says_it_in_a_sentence_by_default(tmp_path):
    photo = tmp_path / "seven.png"
    photo_like(7).save(photo)
    result = digitpad("fool", photo, "--model", SOFTMAX, "--eps", "0.3")
    assert result.returncode == 0, result.stderr
    assert "seven.png: 7 →" in result.stdout and "FGSM ε 0.3" in result.stdout and "fooled" in result.stdout


def test_fool_refuses_a_bad_budget_before_loading_anything():
    result = digitpad("fool", "x.png", "--eps", "1.5")
    assert result.returncode == 2 and "ε must be from 0 to 1" in result.stderr


def test_robustness_prints_the_curve_as_json(tmp_path):
    result = digitpad("robustness", "--model", SOFTMAX, "--eps", "0,0.05,0.1", "--limit", "300", "--json")
    assert result.returncode == 0, result.stderr
    curve = json.loads(result.stdout)
    assert curve["eps"] == [0.0, 0.05, 0.1] and curve["attack"] == "fgsm" and curve["n"] == 300
    acc = curve["accuracy"]
    assert acc[0] > 0.85 and acc[0] > acc[1] > acc[2]
    table = digitpad("robustness", "--model", SOFTMAX, "--eps", "0.1", "--limit", "100", "--attack", "pgd")
    assert table.returncode == 0 and "under PGD, 20 steps, 100 test images" in table.stdout


def test_train_with_adversarial_examples_records_them_in_the_checkpoint(tmp_path, mnist):
    out = tmp_path / "adv.pt"
    result = digitpad("train", "--model", "softmax", "--epochs", "1", "--train-limit", "2000", "--test-limit", "500",
                      "--adversarial", "fgsm", "--adv-eps", "0.1", "--device", "cpu", "--out", out)
    assert result.returncode == 0, result.stderr
    config = load_checkpoint(out).meta.config
    assert config["adversarial"] == "fgsm" and config["adv_eps"] == 0.1
    bad = digitpad("train", "--adversarial", "pgd", "--adv-eps", "0", "--out", tmp_path / "x.pt")
    assert bad.returncode == 2 and "--adv-eps" in bad.stderr


def test_predict_says_not_a_digit_with_a_reason(tmp_path):
    scribble = tmp_path / "scribble.json"
    scribble.write_text(json.dumps(SCRIBBLES["zigzag"](7).to_json()))
    photo = tmp_path / "seven.png"
    photo_like(7).save(photo)
    answers = lines(digitpad("predict", "--strokes", scribble))
    answers += lines(digitpad("predict", photo))
    assert answers[0]["unsure"] is True and answers[0]["reason"].startswith("not a digit?")
    assert answers[0]["not_a_digit"] >= 0.5
    assert answers[1]["prediction"] == 7 and answers[1]["unsure"] is False and answers[1]["reason"] is None
    assert answers[1]["not_a_digit"] < 0.5
    low = lines(digitpad("predict", photo, "--unsure-below", "0.999"))[0]  # the threshold still works
    assert low["unsure"] is True and low["reason"].startswith("not sure: top probability")
