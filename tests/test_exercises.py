"""Predict-then-reveal exercise files: the format, every bad file's message, grading, the answers log,
the kinds' reveals and `digitpad exercise check`."""

from __future__ import annotations

import csv
import json
import os

import pytest

from digitpad.cli import main
from digitpad.core.checkpoints import save_checkpoint
from digitpad.core.events import Failed, Finished, Progress, RunControl
from digitpad.core.exercise_kinds import KINDS, Revealed, SetupProblem
from digitpad.core.exercises import (FORMAT_VERSION, MAX_FILE_BYTES, Answer, AnswerRecord, AnswersLogError, Exercise,
                                     ExerciseError, Sheet, answers_path, append_answer, grade, parse_prediction,
                                     read_sheet, shipped_exercises, write_sheet)
from digitpad.core.strokes import Stroke, StrokeSet, as_points
from digitpad.core.sample_digits import digit_strokes

QUICK = {"dataset": "mnist", "model": "softmax", "epochs": 1, "lr": 0.05, "train_limit": 500, "test_limit": 500}


def drawing(digit: int = 7) -> dict:
    return StrokeSet(280, 280, 18, [Stroke(as_points(s)) for s in digit_strokes(digit)]).to_json()


def sheet_json(*exercises: dict, **top) -> dict:
    return {"format": "digitpad-exercise", "format_version": 1, "title": "A sheet", "exercises": list(exercises),
            **top}


def training_exercise(**over) -> dict:
    return {"title": "lr", "question": "What test accuracy?", "kind": "training", "setup": dict(QUICK),
            "answer": {"measure": "test_accuracy", "type": "number", "tolerance": 3}, **over}


def write(tmp_path, data, name="ex.digitpad-exercise") -> os.PathLike:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def problems_of(tmp_path, data) -> list[str]:
    with pytest.raises(ExerciseError) as info:
        read_sheet(write(tmp_path, data))
    return info.value.problems


def reveal(exercise: Exercise, base=None, control=None) -> list:
    return list(exercise.spec.run(exercise.setup, base, control or RunControl()))


# --- the format ----------------------------------------------------------------------------------

def test_the_shipped_exercises_read_and_their_explanations_are_what_the_models_do():
    paths = shipped_exercises()
    assert {p.name for p in paths} >= {"learning-rate.digitpad-exercise", "which-digit.digitpad-exercise",
                                       "softmax-lr50.digitpad-exercise", "linear-regression.digitpad-exercise"}
    sheets = {p.name: read_sheet(p) for p in paths}
    four = sheets["which-digit.digitpad-exercise"]
    said = [reveal(ex)[-1].outcome["prediction"] for ex in four.exercises]
    assert said == [9, 4], "softmax regression reads the tilted closed 4 as a 9, the CNN as a 4"
    warmup = sheets["linear-regression.digitpad-exercise"].exercises[0]
    outcome = reveal(warmup)[-1].outcome
    assert grade(warmup.answer, 4.2, outcome).correct and abs(outcome["learned_b"] - 4.2) < 0.01


def test_a_sheet_written_reads_back_the_same(tmp_path):
    ex = Exercise("t", "q?", "training", KINDS["training"].check(QUICK, None, False),
                  Answer("loss_direction", "choice", options=("down", "up", "stays")), locked=("lr", "model"),
                  hidden=("epochs",), explanation="because")
    path = write_sheet(Sheet("S", (ex, ex)), tmp_path / "s.digitpad-exercise")
    back = read_sheet(path)
    assert back.title == "S" and back.exercises == (ex, ex) and back.path == path
    editable = {f.key for f in back.exercises[0].fields() if back.exercises[0].is_editable(f)}
    assert "lr" not in editable and "epochs" not in editable and "batch_size" in editable


def test_a_student_may_change_only_what_the_file_leaves_open():
    ex = Exercise("t", "q?", "training", KINDS["training"].check(QUICK, None, False),
                  Answer("test_accuracy", "number", 2), locked=("model",))
    assert ex.with_changes({"lr": 0.5})["lr"] == 0.5
    with pytest.raises(SetupProblem, match="model: locked"):
        ex.with_changes({"model": "cnn"})
    with pytest.raises(SetupProblem, match="lr: must be positive"):
        ex.with_changes({"lr": -1.0})
    all_locked = Exercise("t", "q?", "training", ex.setup, ex.answer)
    with pytest.raises(SetupProblem, match="locked"):
        all_locked.with_changes({"lr": 0.5})


# --- every bad file gets its own message ------------------------------------------------------------

def test_a_file_from_a_newer_version_says_update(tmp_path):
    [problem] = problems_of(tmp_path, sheet_json(training_exercise(), format_version=FORMAT_VERSION + 1))
    assert "newer DigitPad" in problem and "update DigitPad" in problem


def test_unknown_keys_and_wrong_types_are_each_named(tmp_path):
    bad = training_exercise(setup={**QUICK, "epoch": 2, "lr": "fast", "augment": 1}, colour="red",
                            answer={"measure": "test_accuracy", "type": "choice"})
    problems = problems_of(tmp_path, sheet_json(bad, extra=1))
    text = "\n".join(problems)
    assert "file: unknown key 'extra'" in text
    assert "unknown key 'colour'" in text
    assert "unknown key 'epoch' (did you mean 'epochs'?)" in text
    assert "setup.lr: must be a number, got 'fast'" in text
    assert "setup.augment: 1 is not one of False, True" in text
    assert "test_accuracy is answered with a number, not a choice" in text
    assert len(problems) == 6


@pytest.mark.parametrize("answer, message", [
    ({"measure": "test_accuracy", "type": "number"}, "needs a tolerance"),
    ({"measure": "test_accuracy", "type": "number", "tolerance": -1}, "needs a tolerance"),
    ({"measure": "loss_direction", "type": "choice", "options": ["up", "sideways"]}, "every possible outcome"),
    ({"measure": "loss_direction", "type": "choice", "options": ["up"]}, "2 to 10 different"),
    ({"measure": "accuracy", "type": "number", "tolerance": 1}, "choose one of test_accuracy"),
    ({"measure": "test_accuracy", "type": "essay"}, "not an answer type"),
])
def test_bad_answers(tmp_path, answer, message):
    [problem] = problems_of(tmp_path, sheet_json(training_exercise(answer=answer)))
    assert message in problem and problem.startswith("exercise 1 ('lr').answer")


def test_locked_and_hidden_must_name_setup_keys(tmp_path):
    problems = problems_of(tmp_path, sheet_json(training_exercise(locked=["lr", "speed"], hidden="lr")))
    assert any("locked: 'speed' not in this setup" in p for p in problems)
    assert any("hidden: must be a list of setup keys" in p for p in problems)


def test_a_missing_or_broken_checkpoint_is_named(tmp_path, shipped_cnn):
    ex = {"title": "c", "question": "Which digit?", "kind": "canvas", "answer": {"measure": "prediction", "type": "digit"},
          "setup": {"checkpoint": "models/mine.pt", "drawing": drawing()}}
    [problem] = problems_of(tmp_path, sheet_json(ex))
    assert "models/mine.pt: no such file" in problem
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mine.pt").write_bytes(b"not a checkpoint")
    [problem] = problems_of(tmp_path, sheet_json(ex))
    assert "not a readable PyTorch file" in problem
    save_checkpoint(shipped_cnn, tmp_path / "models" / "mine.pt")
    sheet = read_sheet(write(tmp_path, sheet_json(ex)))
    assert reveal(sheet.exercises[0], sheet.base)[-1].outcome["prediction"] == 7


def test_a_canvas_exercise_needs_one_model_and_a_drawing_with_ink(tmp_path):
    blank = {"width": 280, "height": 280, "pen_width": 18, "strokes": []}
    ex = {"title": "c", "question": "?", "kind": "canvas", "answer": {"measure": "prediction", "type": "digit"},
          "setup": {"model": "mnist-cnn", "checkpoint": "x.pt", "drawing": blank}}
    text = "\n".join(problems_of(tmp_path, sheet_json(ex)))
    assert "not both" in text and "the drawing is blank" in text
    ex["setup"] = {"model": "resnet", "drawing": {"strokes": "zigzag"}}
    text = "\n".join(problems_of(tmp_path, sheet_json(ex)))
    assert "'resnet' is not a shipped model" in text and "setup.drawing: stroke file needs" in text


@pytest.mark.parametrize("content, message", [
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ("[" * 20 + "]" * 20, "nested too deeply (more than 16 levels)"),
    ('{"format": "digitpad-exercise", "format": "x"}', "appears twice"),
    ('{"a": NaN}', "NaN is not a JSON number"),
    ("\xff\xfe", "not valid JSON"),
    ("[1, 2]", "holds a JSON list"),
    ('{"format": "digitpad-run"}', "not an exercise file"),
    ('{"format": "digitpad-exercise", "format_version": "1"}', "format_version must be a whole number"),
])
def test_files_that_are_not_exercises(tmp_path, content, message):
    [problem] = problems_of(tmp_path, content)
    assert message in problem


def test_too_large_a_fifo_a_link_and_a_folder_are_refused(tmp_path):
    big = write(tmp_path, " " * (MAX_FILE_BYTES + 1), "big.digitpad-exercise")
    fifo = tmp_path / "fifo.digitpad-exercise"
    os.mkfifo(fifo)
    real = write(tmp_path, sheet_json(training_exercise()), "real.digitpad-exercise")
    link = tmp_path / "link.digitpad-exercise"
    link.symlink_to(real)
    folder = tmp_path / "folder.digitpad-exercise"
    folder.mkdir()
    expected = {big: "too large", fifo: "not a regular file", link: "a symbolic link", folder: "a folder",
                tmp_path / "gone.digitpad-exercise": "no such file"}
    for path, message in expected.items():
        with pytest.raises(ExerciseError) as info:
            read_sheet(path)
        assert message in str(info.value) and str(path) in str(info.value)
    assert read_sheet(real).title == "A sheet"


# --- predictions and grading -------------------------------------------------------------------------

def test_grading_each_answer_type():
    number = Answer("test_accuracy", "number", tolerance=2, unit="%")
    assert grade(number, 89.0, {"test_accuracy": 90.75}).correct
    verdict = grade(number, 80.0, {"test_accuracy": 90.75})
    assert verdict.correct is False and "off by 10.8" in verdict.text and "not within ±2 %" in verdict.text
    choice = Answer("loss_direction", "choice", options=("down", "up"))
    assert grade(choice, "up", {"loss_direction": "up"}).correct
    assert not grade(choice, "down", {"loss_direction": "up"}).correct
    digit = Answer("prediction", "digit")
    assert grade(digit, 9, {"prediction": 9}).correct and not grade(digit, 4, {"prediction": 9}).correct
    assert grade(number, 50.0, {"loss_direction": "up"}).correct is None  # diverged: no accuracy to compare


def test_predictions_are_parsed_as_the_answer_asks():
    assert parse_prediction(Answer("test_accuracy", "number", 2, unit="%"), " 87,5 % ") == 87.5
    assert parse_prediction(Answer("prediction", "digit"), "7") == 7
    assert parse_prediction(Answer("d", "choice", options=("down", "up")), "up") == "up"
    for answer, text in ((Answer("a", "number", 1), "lots"), (Answer("a", "number", 1), "nan"),
                         (Answer("p", "digit"), "12"), (Answer("d", "choice", options=("down", "up")), "left")):
        with pytest.raises(ValueError):
            parse_prediction(answer, text)


# --- the answers log -----------------------------------------------------------------------------------

def record(student="Ann", prediction=87.5) -> AnswerRecord:
    return AnswerRecord(student, "lr.digitpad-exercise", "Learning rate", 2, "lr 1.0", "test_accuracy", prediction,
                        87.49, True, {"lr": 0.5})


def test_answers_are_appended_beside_the_exercise_with_one_header(tmp_path):
    path = answers_path(tmp_path / "lr.digitpad-exercise")
    assert path == tmp_path / "lr.answers.csv"
    append_answer(path, record("Ann"))
    append_answer(path, record("=HYPERLINK(\"x\")", -3.0))
    rows = list(csv.reader(path.open()))
    assert rows[0][:3] == ["time", "student", "file"] and len(rows) == 3
    assert rows[1][1] == "Ann" and rows[1][9] == "yes" and json.loads(rows[1][10]) == {"lr": 0.5}
    assert rows[2][1].startswith("'="), "a formula in a name is stored as text"
    assert rows[2][7] == "-3.0", "numbers are left alone"
    assert answers_path(tmp_path / "lr.digitpad-exercise", tmp_path / "mine") == tmp_path / "mine" / "lr.answers.csv"


def test_an_unwritable_answers_file_says_why(tmp_path):
    (tmp_path / "share").write_text("a file where the folder should be: unwritable even for root")
    with pytest.raises(AnswersLogError, match="cannot write the answers to .*share/lr.answers.csv"):
        append_answer(tmp_path / "share" / "lr.answers.csv", record())
    locked = tmp_path / "ro"
    locked.mkdir()
    os.chmod(locked, 0o555)
    try:
        if not os.access(locked, os.W_OK):  # root may write anywhere: only the first case applies
            with pytest.raises(AnswersLogError, match="Permission denied"):
                append_answer(locked / "lr.answers.csv", record())
    finally:
        os.chmod(locked, 0o755)


def test_an_answers_file_that_is_a_link_a_folder_or_a_fifo_is_refused(tmp_path):
    target = tmp_path / "elsewhere.csv"
    target.write_text("")
    (tmp_path / "link.csv").symlink_to(target)
    (tmp_path / "dir.csv").mkdir()
    os.mkfifo(tmp_path / "fifo.csv")
    for name in ("link.csv", "dir.csv", "fifo.csv"):
        with pytest.raises(AnswersLogError, match="cannot write the answers"):
            append_answer(tmp_path / name, record())
    assert target.read_text() == ""


# --- reveals ------------------------------------------------------------------------------------------

def test_a_training_reveal_measures_accuracy_and_a_diverging_run_is_an_outcome():
    kind = KINDS["training"]
    events = list(kind.run(kind.check(QUICK, None, False), None, RunControl()))
    outcome = events[-1].outcome
    assert isinstance(events[-1], Revealed) and 50 < outcome["test_accuracy"] <= 100
    assert outcome["loss_direction"] == "down"
    events = list(kind.run(kind.check({**QUICK, "lr": 1000.0}, None, False), None, RunControl()))
    assert not any(isinstance(e, Failed) for e in events)
    assert events[-1].outcome == {"loss_direction": "up"} and "diverged" in events[-1].summary


def test_stop_ends_a_reveal_without_an_outcome():
    kind = KINDS["training"]
    control = RunControl()
    control.stop()
    events = list(kind.run(kind.check(QUICK, None, False), None, control))
    assert not any(isinstance(e, Revealed) for e in events)
    assert not events or (isinstance(events[-1], Finished) and events[-1].stopped)


def test_the_lesson_kind_runs_both_softmax_implementations():
    kind = KINDS["lesson"]
    setup = kind.check({"lesson": "softmax", "dataset": "mnist", "lr": 50.0, "train_limit": 500, "test_limit": 100,
                        "epochs": 1}, None, False)
    outcome = list(kind.run(setup, None, RunControl()))[-1].outcome
    assert outcome["loss_direction"] == "up" and outcome["scratch_loss_direction"] == "up"
    with pytest.raises(SetupProblem, match="not a lesson"):
        kind.check({"lesson": "overflow"}, None, False)


# --- the command line ---------------------------------------------------------------------------------

def test_exercise_check_cli(tmp_path, capsys):
    good = write(tmp_path, sheet_json(training_exercise()), "good.digitpad-exercise")
    bad = write(tmp_path, sheet_json(training_exercise(kind="map")), "bad.digitpad-exercise")
    assert main(["exercise", "check", str(good)]) == 0
    assert "ok — \"A sheet\", 1 exercise(s)" in capsys.readouterr().out
    assert main(["exercise", "check", "--json", str(good), str(bad)]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == {"file": str(good), "ok": True, "exercises": 1, "problems": []}
    assert lines[1]["ok"] is False and "'map' is not a kind of exercise" in lines[1]["problems"][0]


def test_the_step_kind_steps_from_fresh_weights_and_a_too_large_step_is_an_outcome():
    kind = KINDS["step"]
    setup = kind.check({"model": "softmax", "steps": 20, "test_limit": 500}, None, False)
    assert setup["lr"] == 0.05 and setup["batch_size"] == 256  # the model's course values fill the rest
    assert [f.key for f in kind.fields(setup)] == ["dataset", "model", "optimizer", "lr", "batch_size", "steps",
                                                   "test_limit"]  # the rest only where not the default
    events = list(kind.run(setup, None, RunControl()))
    outcome = events[-1].outcome
    assert [e.epoch for e in events if isinstance(e, Progress)][-1] == 20
    assert outcome["loss_direction"] == "down" and 60 < outcome["test_accuracy"] <= 100
    assert "500 images" in events[-1].summary
    events = list(kind.run(kind.check({"model": "softmax", "steps": 5, "lr": 1e6}, None, False), None, RunControl()))
    assert events[-1].outcome["loss_direction"] == "up"  # too large a step: the loss climbs, an outcome to predict
    with pytest.raises(SetupProblem) as problem:
        kind.check({"model": "cnn", "steps": 0, "epochs": 3}, None, False)
    assert len(problem.value.problems) == 2 and "unknown key 'epochs'" in problem.value.problems[0]


def test_the_playground_lesson_kind_trains_and_measures_the_overfitting_gap():
    kind = KINDS["lesson"]
    setup = kind.check({"lesson": "playground", "data": "moons", "points": 40, "noise": 0.3, "seed": 3,
                        "hidden": [16, 16, 16], "batch_size": 20, "steps": 1500}, None, False)
    outcome = list(kind.run(setup, None, RunControl()))[-1].outcome
    assert outcome["train_accuracy"] == 100 and outcome["gap"] >= 10  # too little data: learnt by heart
    with pytest.raises(SetupProblem, match="2 classes"):
        kind.check({"lesson": "playground", "data": "xor", "classes": 3}, None, False)
