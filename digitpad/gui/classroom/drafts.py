"""What each tab offers to "Save as exercise…": its current state as a `Draft` (kind + setup), or why not.

To make a new tab a source: give it an `exercise_requested` signal and a function here that reads its state
into a Draft of its kind; `ClassroomTab.add_source` does the rest. (A lesson page needs only an
`exercise_setup()`: the Lessons tab's draft reads it.)
"""

from __future__ import annotations

from pathlib import Path

from digitpad.core.checkpoints import ASSETS_DIR
from digitpad.core.exercise_kinds import DEFAULT_STEPS, KINDS, TRAINING_KEYS, SetupProblem
from digitpad.core.exercises import Draft
from digitpad.core.preprocess import stroke_pixels


def checked(kind: str, setup: dict) -> Draft | str:
    """The setup as its kind completes and checks it, or what is wrong with it."""
    try:
        return Draft(kind, KINDS[kind].check(setup, None, False))
    except SetupProblem as exc:
        return "This setup cannot be an exercise: " + "; ".join(exc.problems)


def training_draft(training) -> Draft | str:
    """The Training tab's setup as the form shows it (the device stays the student's machine's)."""
    cfg = training.config()
    return checked("training", {key: getattr(cfg, key) for key in TRAINING_KEYS})


def canvas_draft(canvas) -> Draft | str:
    """The drawing and the canvas's model: a shipped model by name, any other saved beside the exercise."""
    model = canvas.library.active
    strokes = canvas.canvas.stroke_set()
    if model is None:
        return "No model on the canvas: train one or open a checkpoint first."
    if canvas.picture is not None or stroke_pixels(strokes) is None:
        return "Draw a digit on the canvas first: an exercise keeps the drawing's strokes (not an opened image)."
    drawing = strokes.to_json()
    source = Path(model.source) if model.source else None
    if source is not None and source.parent == ASSETS_DIR.resolve():
        return checked("canvas", {"model": source.stem, "drawing": drawing})
    return Draft("canvas", {"checkpoint": f"{model.name or 'model'}.pt", "drawing": drawing}, model)


def lesson_draft(lessons) -> Draft | str:
    page = lessons.pages.currentWidget()
    setup = page.exercise_setup()
    if setup is None:
        return f"The lesson \"{page.TITLE}\" has nothing to run, so no exercise can be made from it."
    return checked("lesson", setup)


def step_draft(step) -> Draft | str:
    """The Step tab's first lane and setup, as many steps as the session has taken (DEFAULT_STEPS before any)."""
    cfg = step.setup.config()
    if len(cfg.lanes) > 1:
        return "A race cannot be an exercise yet: untick Race, and make one exercise per optimizer."
    lane = cfg.lanes[0]
    return checked("step", {"dataset": cfg.dataset, "model": cfg.model, "optimizer": lane.optimizer, "lr": lane.lr,
                            "momentum": lane.momentum, "batch_size": cfg.batch_size, "seed": cfg.seed,
                            "steps": step.steps_taken() or DEFAULT_STEPS, "test_limit": cfg.test_subset})
