"""`digitpad playground` as a user runs it: one JSON line, the same for a seed, a figure, one-line errors."""

import json

import pytest
from PIL import Image

from digitpad.cli import main


def run(capsys, *args):
    status = main(["playground", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_line_is_the_same_for_a_seed_and_differs_for_another(capsys):
    args = ("--data", "moons", "--steps", "150", "--points", "100", "--json")
    first, second, other = (run(capsys, *args, "--seed", seed) for seed in (3, 3, 4))
    assert first[0] == 0 and first[1] == second[1] and first[1] != other[1]
    answer = json.loads(first[1])
    assert set(answer) == {"data", "model", "train_accuracy", "test_accuracy", "steps"}
    assert answer["data"] == "moons" and answer["model"] == "mlp" and answer["steps"] == 150
    assert 0.5 < answer["train_accuracy"] <= 1 and 0.5 < answer["test_accuracy"] <= 1


def test_softmax_with_the_squares_solves_circles_from_the_command_line(capsys):
    status, out, _ = run(capsys, "--data", "circles", "--model", "softmax", "--features", "x1,x2,x1^2,x2^2",
                         "--steps", "500", "--json")
    assert status == 0 and json.loads(out)["test_accuracy"] >= 0.95


def test_no_test_points_is_null_not_nan(capsys):
    status, out, _ = run(capsys, "--data", "blobs", "--test-share", "0", "--steps", "5", "--json")
    assert status == 0 and json.loads(out)["test_accuracy"] is None


def test_out_writes_the_regions_figure(capsys, tmp_path):
    out = tmp_path / "xor.png"
    status, text, _ = run(capsys, "--data", "xor", "--classes", "2", "--steps", "100", "--out", out)
    assert status == 0 and f"wrote {out}" in text and "test accuracy" in text
    with Image.open(out) as figure:
        assert figure.width >= 800 and figure.height >= 800
        rgb = figure.convert("RGB")
        colours = {rgb.getpixel((x, y)) for x in range(100, 800, 50) for y in range(200, 800, 50)}
    assert len(colours) > 4  # regions in both classes' colours and shades, points: not a blank picture


@pytest.mark.parametrize("args, message", [
    (("--data", "moons", "--classes", "3"), "moons has 2 classes"),
    (("--data", "xor", "--hidden", "8,8,8,8"), "argument --hidden"),
    (("--data", "xor", "--hidden", "0"), "argument --hidden"),
    (("--data", "xor", "--features", "x1,x3"), "argument --features"),
    (("--data", "xor", "--noise", "nan"), "argument --noise: must be a finite number"),
    (("--data", "xor", "--points", "5"), "argument --points: must be in"),
    (("--data", "xor", "--lr", "0"), "argument --lr: must be positive"),
    (("--data", "swirl",), "argument --data: invalid choice"),
    (("--data", "xor", "--out", "figure.jpg"), "the figure is written as .png"),
])
def test_bad_values_are_refused_in_one_line(capsys, args, message):
    try:
        status = main(["playground", *args])
    except SystemExit as exit_:  # argparse's own refusal
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2 and message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(("digitpad playground: ", "digitpad playground: error:"))
