"""`digitpad explain` (a figure per file plus predict's JSON), and predict's "unsure" and runner-up."""

import json

import pytest
from PIL import Image

from digitpad.core.checkpoints import ASSETS_DIR
from digitpad.core.sample_digits import digit_strokes, photo_like, scribble
from helpers import digitpad, lines


def test_explain_writes_a_projector_sized_figure_per_input_and_goes_on_after_a_bad_file(tmp_path):
    photo = tmp_path / "photo-7.png"
    photo_like(7).save(photo)
    strokes = tmp_path / "four.json"
    strokes.write_text(json.dumps({"width": 280, "height": 280, "pen_width": 18, "strokes": digit_strokes(4)}))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    out = tmp_path / "figures"
    result = digitpad("explain", photo, broken, tmp_path / "missing.png", "--out", out)
    answers = lines(result)
    assert result.returncode == 1 and [a["file"] for a in answers] == [str(photo), str(broken),
                                                                     str(tmp_path / "missing.png")]
    good = answers[0]
    assert good["prediction"] == 7 and good["error"] is None and good["unsure"] is False and good["runner_up"] != 7
    assert good["explanation"] == str(out / "photo-7-explain.png")
    with Image.open(good["explanation"]) as figure:
        assert figure.width >= 1200 and figure.height >= 800
        assert len(figure.convert("RGB").getcolors(1 << 20)) > 50  # drawn, not a blank page
    assert "not an image" in answers[1]["error"] and "explanation" not in answers[1]
    assert "no such file" in answers[2]["error"]
    assert sorted(p.name for p in out.iterdir()) == ["photo-7-explain.png"]
    assert "Traceback" not in result.stderr and "propagateSizeHints" not in result.stderr

    predicted = lines(digitpad("predict", photo))[0]
    assert set(good) - set(predicted) == {"explanation"}  # predict's fields, plus the figure
    assert all(good[k] == predicted[k] for k in predicted if k != "probabilities")
    assert good["probabilities"] == pytest.approx(predicted["probabilities"], abs=1e-6)  # batch of 2 vs 1: float noise

    result = digitpad("explain", "--strokes", strokes, "--model", ASSETS_DIR / "mnist-mlp.pt",
                      "--out", out)
    (answer,) = lines(result)
    assert result.returncode == 0 and answer["prediction"] == 4
    assert (out / "four-explain.png").stat().st_size > 10_000


def test_predict_says_unsure_for_a_scribble_and_names_the_runner_up(tmp_path):
    path = tmp_path / "scribble.json"
    path.write_text(json.dumps(scribble(3).to_json()))
    (answer,) = lines(digitpad("predict", "--strokes", path))
    assert answer["unsure"] is True and answer["error"] is None
    ranked = sorted(range(10), key=lambda k: answer["probabilities"][k])
    assert answer["prediction"] == ranked[-1] and answer["runner_up"] == ranked[-2]
    (answer,) = lines(digitpad("predict", "--strokes", path, "--unsure-below", "0.05"))
    assert answer["unsure"] is True and answer["reason"].startswith("not a digit?")  # whatever the threshold


def test_unsure_threshold_must_be_a_probability(tmp_path):
    result = digitpad("predict", "x.png", "--unsure-below", "1.5")
    assert result.returncode == 2 and "probability from 0 to 1" in result.stderr


def test_explain_into_a_folder_it_cannot_write_reports_it(tmp_path):
    photo = tmp_path / "seven.png"
    photo_like(7).save(photo)
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    result = digitpad("explain", photo, "--out", blocker)  # checked before any work, like every --out
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert f"--out {blocker}: {blocker} is a regular file, not a folder" in result.stderr
