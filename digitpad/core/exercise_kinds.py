"""What an exercise can be about: each *kind* is one source of setup (the Training tab, the Canvas, a lesson
page, the Step tab) with its own validated setup dict, the fields a student sees, what it can measure, and the
run that reveals the outcome.

A kind's `run` is a generator of the engine's events (the same ones `Trainer` yields, so the app's
`run_events` and the CLI drive it alike) that ends with a `Revealed` carrying every measure it took, or
with `Failed`, or with `Finished(stopped=True)` when Stop came first. To add a kind: write its `ExerciseKind`
and add it to `KINDS` — one entry (`STEP` is the latest); `exercises.py` validates, grades and logs every kind
the same way, and the Classroom tab shows its `SetupField`s without knowing it. A lesson page is one more
`LessonSpec` in `LESSONS` (the 2-D playground is one).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from digitpad.core.settings import SETTING
from digitpad.core import names
from digitpad.core.events import EpochEnd, Failed, FailureKind, Finished, Progress, RunControl

NUMBER, CHOICE, DIGIT = "number", "choice", "digit"
ANSWER_TYPES = (NUMBER, CHOICE, DIGIT)
UP, DOWN = "up", "down"


class SetupProblem(ValueError):
    """One thing wrong in an exercise's setup; `problems` lists them all, one clear line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Measure:
    """Something a run finds out, which a question may ask for: its answer type, unit and possible values."""

    title: str
    type: str  # NUMBER, CHOICE or DIGIT
    unit: str = ""
    options: tuple[str, ...] = ()  # a CHOICE measure's possible outcomes


@dataclass(frozen=True)
class SetupField:
    """One setting as the student sees it. `choices` or `bounds` make it editable when the file allows."""

    key: str
    title: str
    value: Any
    text: str  # the value as shown
    choices: tuple[Any, ...] = ()
    bounds: names.Bounds | None = None
    optional: bool = False  # None ("all") is allowed

    @property
    def editable(self) -> bool:
        return bool(self.choices) or self.bounds is not None


@dataclass(frozen=True)
class Revealed:
    """The last event of a reveal: each measure the run took (measure name → value) and a one-line account."""

    outcome: dict[str, Any]
    summary: str


@dataclass(frozen=True)
class ExerciseKind:
    """One source of setup. `check(setup, base, deep)` returns the setup with defaults filled in or raises
    SetupProblem (listing every problem); `base` is the exercise file's folder, for relative paths; `deep`
    also opens what the setup points to (a checkpoint). `fields(setup)` is what the student sees;
    `measures(setup)` what its run finds out; `run(setup, base, control)` yields the events that end in
    `Revealed`."""

    name: str
    title: str
    check: Callable[[dict, Path | None, bool], dict]
    fields: Callable[[dict], list[SetupField]]
    measures: Callable[[dict], Mapping[str, Measure]]
    run: Callable[[dict, Path | None, RunControl], Iterator[object]]


# --- shared checks ----------------------------------------------------------------------------

def unknown_keys(setup: dict, allowed: tuple[str, ...], where: str = "setup") -> list[str]:
    """One message per key the kind does not know, with the nearest known key suggested."""
    problems = []
    for key in setup:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(allowed)}"
            problems.append(f"{where}: unknown key {str(key)!r:.60} ({hint})")
    return problems


def check_value(key: str, value: Any, *, choices: tuple = (), bounds: names.Bounds | None = None,
                optional: bool = False, where: str = "setup") -> str | None:
    """None when the value is acceptable, else one message naming the key."""
    if value is None and optional:
        return None
    if choices:
        if value not in choices or isinstance(value, bool) != isinstance(choices[0], bool):
            return f"{where}.{key}: {value!r:.60} is not one of {', '.join(map(str, choices))}"
        return None
    if bounds is not None:
        try:
            bounds.check(value)
        except ValueError as exc:
            return f"{where}.{key}: {exc}"
    return None


def number_text(value: Any) -> str:
    if value is None:
        return "all"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def loss_direction(first: float | None, last: float | None, diverged: bool) -> str | None:
    """"up" when the loss ended above where it started (or the run blew up), "down" when below."""
    if diverged:
        return UP
    if first is None or last is None:
        return None
    return DOWN if last < first else UP


# --- the Training tab -------------------------------------------------------------------------

# The training settings an exercise may set: every row of the settings table but the device, which is the
# machine's business (as are folders and the report rate, which are no settings), never the file's.
TRAINING_KEYS = tuple(name for name in SETTING if name != "device")


def _choices(key: str) -> tuple:
    setting = SETTING[key]
    return setting.choices or ((False, True) if setting.kind is bool else ())


def _training_value_problems(setup: dict, keys: tuple[str, ...], where: str = "setup") -> list[str]:
    problems = unknown_keys(setup, keys, where)
    for key, value in setup.items():
        if key in keys:
            problem = check_value(key, value, choices=_choices(key), bounds=SETTING[key].bounds,
                                  optional=SETTING[key].optional, where=where)
            problems += [problem] if problem else []
    return problems


def training_config(setup: dict):
    """The TrainConfig an exercise runs: the model's course defaults, then the file's values."""
    from digitpad.core.trainer import TrainConfig

    model = setup.get("model", TrainConfig.model)
    return TrainConfig.for_model(model, **{k: v for k, v in setup.items() if k != "model"})


def check_training(setup: dict, _base: Path | None = None, _deep: bool = False) -> dict:
    problems = _training_value_problems(setup, TRAINING_KEYS)
    if problems:
        raise SetupProblem(problems)
    cfg = training_config(setup)
    try:
        cfg.validate()  # the rules between fields (a from-scratch model needs plain SGD, …)
    except ValueError as exc:
        raise SetupProblem([f"setup: {exc}"]) from None
    return {key: getattr(cfg, key) for key in TRAINING_KEYS}


ALWAYS_SHOWN = ("dataset", "model", "epochs", "batch_size", "lr", "optimizer")


def training_fields(setup: dict) -> list[SetupField]:
    """The main settings, and the others only where they differ from the model's course defaults."""
    defaults = training_config({k: setup[k] for k in ("model", "dataset") if k in setup})
    return [SetupField(key, SETTING[key].title.lower(), setup[key], number_text(setup[key]),
                       choices=_choices(key), bounds=SETTING[key].bounds, optional=SETTING[key].optional)
            for key in TRAINING_KEYS if key in setup and (key in ALWAYS_SHOWN or setup[key] != getattr(defaults, key))]


TRAINING_MEASURES = {
    "test_accuracy": Measure("test accuracy after the last epoch", NUMBER, "%"),
    "train_loss": Measure("training loss of the last epoch", NUMBER),
    "loss_direction": Measure("the training loss, from its first report to its last", CHOICE,
                              options=(DOWN, UP)),
}


def train_and_measure(cfg, control: RunControl, prefix: str = "") -> Iterator[object]:
    """Train with the engine, passing its events on; return the measures (prefixed) and a summary line.

    A run that diverges is an outcome here (its loss went up), not a failure: that is often the lesson.
    """
    from digitpad.core.trainer import Trainer

    first = last = accuracy = train_loss = None
    diverged = False
    for ev in Trainer(cfg, control).run():
        if isinstance(ev, Progress):
            first = ev.loss if first is None else first
            last = ev.loss
        elif isinstance(ev, EpochEnd):
            accuracy, train_loss = ev.test_accuracy * 100, ev.train_loss
        elif isinstance(ev, Failed):
            if ev.kind != FailureKind.DIVERGED:
                yield ev
                return None
            diverged = True
            last = math.inf
            continue  # a diverged run is an outcome: its Failed is not passed on
        elif isinstance(ev, Finished) and ev.stopped:
            yield ev
            return None
        if not isinstance(ev, Finished):
            yield ev
    if control.stopped:  # Stop before the first batch: the trainer ended without a word
        return None
    direction = loss_direction(first, last, diverged)
    outcome = {f"{prefix}loss_direction": direction}
    if accuracy is not None:
        outcome[f"{prefix}test_accuracy"] = accuracy
    if train_loss is not None and math.isfinite(train_loss):
        outcome[f"{prefix}train_loss"] = train_loss
    if diverged:
        summary = f"{cfg.model} at lr {cfg.lr:g}: the loss blew up (training diverged)"
    else:
        acc = f", test accuracy {accuracy:.2f} %" if accuracy is not None else ""
        summary = (f"{cfg.model}, {cfg.epochs} epoch(s) at lr {cfg.lr:g}: loss {first:.3g} → {last:.3g}{acc}"
                   if first is not None else f"{cfg.model}: no training step was taken")
    return outcome, summary


def run_training(setup: dict, _base: Path | None, control: RunControl) -> Iterator[object]:
    result = yield from train_and_measure(training_config(setup), control)
    if result is not None:
        yield Revealed(*result)


TRAINING = ExerciseKind("training", "Training tab", check_training, training_fields,
                        lambda _setup: TRAINING_MEASURES, run_training)


# --- the Canvas -------------------------------------------------------------------------------

CANVAS_KEYS = ("model", "checkpoint", "drawing")
MAX_DRAWING_POINTS = 20_000  # a drawn digit has a few hundred; an exercise file stays small


def shipped_model_names() -> tuple[str, ...]:
    from digitpad.core.checkpoints import shipped_models

    return tuple(p.stem for p in shipped_models())


def checkpoint_path(setup: dict, base: Path | None) -> Path:
    """The checkpoint a canvas setup uses: a shipped model by name, or a file (relative to the exercise)."""
    from digitpad.core.checkpoints import ASSETS_DIR

    if "checkpoint" in setup:
        path = Path(setup["checkpoint"]).expanduser()
        return path if path.is_absolute() or base is None else base / path
    return ASSETS_DIR / f"{setup['model']}.pt"


def check_canvas(setup: dict, base: Path | None = None, deep: bool = False) -> dict:
    from digitpad.core.preprocess import stroke_pixels
    from digitpad.core.strokes import StrokeError, StrokeSet

    problems = unknown_keys(setup, CANVAS_KEYS)
    has_model, has_file = "model" in setup, "checkpoint" in setup
    if has_model == has_file:
        problems.append("setup: give either \"model\" (a shipped model's name) or \"checkpoint\" (a file), "
                        "not " + ("both" if has_model else "neither"))
    elif has_model and setup["model"] not in shipped_model_names():
        problems.append(f"setup.model: {setup['model']!r:.60} is not a shipped model; "
                        f"choose one of {', '.join(shipped_model_names())} or give a \"checkpoint\" file")
    elif has_file and (not isinstance(setup["checkpoint"], str) or not setup["checkpoint"].strip()
                       or len(setup["checkpoint"]) > 1000):
        problems.append("setup.checkpoint: must be the path of a checkpoint file (relative to the exercise)")
    elif has_file:
        path = checkpoint_path(setup, base)
        if not path.is_file():
            problems.append(f"setup.checkpoint: {path}: no such file (it must travel with the exercise)")
        elif deep:
            from digitpad.core.checkpoints import CheckpointError, load_checkpoint

            try:
                load_checkpoint(path)
            except CheckpointError as exc:
                problems.append(f"setup.checkpoint: {exc}")
    if "drawing" not in setup:
        problems.append("setup: a canvas exercise needs a \"drawing\" (strokes, as `predict --strokes` reads)")
    else:
        try:
            strokes = StrokeSet.from_json(setup["drawing"])
            if sum(len(s.points) for s in strokes.strokes) > MAX_DRAWING_POINTS:
                problems.append(f"setup.drawing: more than {MAX_DRAWING_POINTS:,} points")
            elif stroke_pixels(strokes) is None:
                problems.append("setup.drawing: the drawing is blank (no ink)")
        except StrokeError as exc:
            problems.append(f"setup.drawing: {exc}")
    if problems:
        raise SetupProblem(problems)
    return dict(setup)


def canvas_fields(setup: dict) -> list[SetupField]:
    from digitpad.core.strokes import StrokeSet

    strokes = StrokeSet.from_json(setup["drawing"])
    model = ([SetupField("model", "model", setup["model"], setup["model"], choices=shipped_model_names())]
             if "model" in setup else
             [SetupField("checkpoint", "model", setup["checkpoint"], Path(setup["checkpoint"]).name)])
    return model + [SetupField("drawing", "drawing", setup["drawing"],
                               f"{len(strokes.strokes)} stroke(s) on a {strokes.width}×{strokes.height} canvas")]


CANVAS_MEASURES = {
    "prediction": Measure("the digit the model says", DIGIT),
    "confidence": Measure("the model's probability for its answer", NUMBER, "%"),
}


def run_canvas(setup: dict, base: Path | None, control: RunControl) -> Iterator[object]:
    """Classify the drawing with the model: the canvas's own path (`classify_strokes`)."""
    from digitpad.core.checkpoints import CheckpointError, load_checkpoint
    from digitpad.core.inference import InferenceError, classify_strokes
    from digitpad.core.strokes import StrokeSet

    try:
        model = load_checkpoint(checkpoint_path(setup, base))
        pred = classify_strokes(model, StrokeSet.from_json(setup["drawing"]))
    except (CheckpointError, InferenceError) as exc:
        yield Failed(str(exc), FailureKind.CONFIG)
        return
    if control.stopped:
        yield Finished(model, True, 0)
        return
    name = model.meta.class_names[pred.label]
    yield Revealed({"prediction": pred.label, "confidence": pred.confidence * 100},
                   f"{model.name} says {name} with probability {pred.confidence:.1%}")


CANVAS = ExerciseKind("canvas", "Canvas", check_canvas, canvas_fields, lambda _setup: CANVAS_MEASURES, run_canvas)


# --- a lesson page and its values ---------------------------------------------------------------

@dataclass(frozen=True)
class LessonSpec:
    """A lesson page an exercise can set up: its values (with their checks) and the run behind it."""

    title: str
    keys: tuple[str, ...]
    defaults: Callable[[], dict]
    check: Callable[[dict], list[str]]
    measures: Mapping[str, Measure]
    run: Callable[[dict, RunControl], Iterator[object]]
    bounds: Mapping[str, names.Bounds] = field(default_factory=dict)
    choices: Mapping[str, tuple] = field(default_factory=dict)


SOFTMAX_LESSON_KEYS = ("dataset", "epochs", "lr", "batch_size", "seed", "train_limit", "test_limit")


def _softmax_lesson_defaults() -> dict:
    from digitpad.core.models import MODELS

    d = MODELS["softmax-scratch"].defaults
    return {"dataset": "fashion-mnist", "epochs": d.epochs, "lr": d.lr_for("fashion-mnist"),
            "batch_size": d.batch_size, "seed": 0, "train_limit": None, "test_limit": None}


def _run_softmax_lesson(values: dict, control: RunControl) -> Iterator[object]:
    """Both of the lesson's implementations, one after the other, from the same seed: the concise model's
    measures, and the scratch model's prefixed `scratch_`."""
    outcome, summaries = {}, []
    for model, prefix in (("softmax", ""), ("softmax-scratch", "scratch_")):
        result = yield from train_and_measure(training_config({**values, "model": model}), control, prefix)
        if result is None:
            return
        outcome.update(result[0])
        summaries.append(result[1])
    yield Revealed(outcome, "; ".join(summaries))


LINREG_KEYS = ("epochs", "lr", "batch_size", "num_examples", "seed")
LINREG_BOUNDS = {"epochs": names.Bounds(1, 1000, integer=True), "lr": names.Bounds(0, 1e6, low_open=True),
                 "batch_size": names.Bounds(1, 1_000_000, integer=True),
                 "num_examples": names.Bounds(1, 1_000_000, integer=True), "seed": SETTING["seed"].bounds}


def _linreg_defaults() -> dict:
    from digitpad.core.scratch import LinRegConfig

    return {f.name: getattr(LinRegConfig(), f.name) for f in fields(LinRegConfig) if f.name in LINREG_KEYS}


def _run_linreg_lesson(values: dict, control: RunControl) -> Iterator[object]:
    """The lesson's from-scratch loop (`scratch.train_linreg_scratch`); the loss per epoch on all the data."""
    from digitpad.core.scratch import LinRegConfig, LinRegEpoch, LinRegStep, train_linreg_scratch

    cfg = LinRegConfig(**values)
    first = epoch_ev = None  # first: the first minibatch's loss, at the initial weights
    for ev in train_linreg_scratch(cfg):
        if control.stopped:
            yield Finished(None, True, 0)
            return
        if isinstance(ev, LinRegStep) and first is None:
            first = ev.batch_loss
        elif isinstance(ev, LinRegEpoch):
            epoch_ev = ev
            yield Progress(ev.epoch, cfg.epochs, 1, 1, ev.loss, math.nan, math.nan, math.nan)
    last = epoch_ev.loss
    outcome = {"final_loss": last, "learned_b": epoch_ev.b, "learned_w1": epoch_ev.w[0],
               "learned_w2": epoch_ev.w[1]}
    if all(math.isfinite(v) for v in outcome.values()):
        outcome["loss_direction"] = loss_direction(first, last, False)
    else:  # the weights blew up: only the direction is known
        outcome = {"loss_direction": UP}
    w = ", ".join(f"{v:.4g}" for v in epoch_ev.w)
    yield Revealed(outcome, f"after {cfg.epochs} epoch(s) at lr {cfg.lr:g}: loss {last:.4g}, w = [{w}] "
                            f"(true [2, -3.4]), b = {epoch_ev.b:.4g} (true 4.2)")


def _check_with(keys: tuple[str, ...], bounds: Mapping[str, names.Bounds], choices: Mapping[str, tuple] = {}):
    def check(values: dict) -> list[str]:
        problems = unknown_keys(values, ("lesson", *keys))
        for key, value in values.items():
            if key in keys:
                problem = check_value(key, value, choices=choices.get(key, ()), bounds=bounds.get(key),
                                      optional=key.endswith("_limit"))
                problems += [problem] if problem else []
        return problems
    return check


SOFTMAX_LESSON_BOUNDS = {k: SETTING[k].bounds for k in SOFTMAX_LESSON_KEYS if k in SETTING and SETTING[k].bounds}
LESSONS: dict[str, LessonSpec] = {
    "softmax": LessonSpec(
        "Softmax from scratch", SOFTMAX_LESSON_KEYS, _softmax_lesson_defaults,
        _check_with(SOFTMAX_LESSON_KEYS, SOFTMAX_LESSON_BOUNDS, {"dataset": names.DATASETS}),
        {**TRAINING_MEASURES,
         **{f"scratch_{k}": Measure(f"{m.title} (from scratch)", m.type, m.unit, m.options)
            for k, m in TRAINING_MEASURES.items()}},
        _run_softmax_lesson, SOFTMAX_LESSON_BOUNDS),
    "linreg": LessonSpec(
        "Linear regression", LINREG_KEYS, _linreg_defaults, _check_with(LINREG_KEYS, LINREG_BOUNDS),
        {"final_loss": Measure("the loss on all the data after the last epoch", NUMBER),
         "learned_b": Measure("the learned bias b (true 4.2)", NUMBER),
         "learned_w1": Measure("the learned weight w1 (true 2)", NUMBER),
         "learned_w2": Measure("the learned weight w2 (true -3.4)", NUMBER),
         "loss_direction": Measure("the loss, from the first epoch to the last", CHOICE, options=(DOWN, UP))},
        _run_linreg_lesson, LINREG_BOUNDS),
}


# The 2-D playground: its data and model settings as flat keys, the steps to train, and what the run shows.
PLAYGROUND_KEYS = ("data", "classes", "points", "noise", "test_share", "net", "hidden", "activation", "features",
                   "optimizer", "lr", "momentum", "weight_decay", "batch_size", "seed", "steps")
PLAYGROUND_BOUNDS = {**{k: names.PLAYGROUND_BOUNDS[k] for k in ("classes", "points", "noise", "test_share",
                                                                "batch_size")},
                     **{k: SETTING[k].bounds for k in ("lr", "momentum", "weight_decay", "seed")},
                     "steps": names.Bounds(1, 20_000, integer=True)}
PLAYGROUND_CHOICES = {"data": names.PLAYGROUND_DATA, "net": names.PLAYGROUND_MODELS,
                      "activation": names.PLAYGROUND_ACTIVATIONS, "optimizer": SETTING["optimizer"].choices}


def playground_config(values: dict):
    """The PlaygroundConfig and number of steps of a playground exercise's flat values."""
    from digitpad.core.playground import DataSpec, NetSpec, PlaygroundConfig

    v = {**_playground_defaults(), **values}
    data = DataSpec(v["data"], v["classes"], v["points"], v["noise"], v["test_share"], v["seed"])
    net = NetSpec(v["net"], tuple(v["hidden"]), v["activation"], tuple(v["features"]))
    return PlaygroundConfig(data, net, v["optimizer"], v["lr"], v["momentum"], v["weight_decay"], v["batch_size"],
                            v["seed"]), v["steps"]


def _playground_defaults() -> dict:
    from digitpad.core.playground import PRESETS

    preset = PRESETS["mlp-xor"]  # the lesson's own first example
    cfg, data, net = preset.config, preset.config.data, preset.config.net
    return {"data": data.kind, "classes": data.classes, "points": data.points, "noise": data.noise,
            "test_share": data.test_share, "net": net.kind, "hidden": list(net.hidden),
            "activation": net.activation, "features": list(net.features), "optimizer": cfg.optimizer, "lr": cfg.lr,
            "momentum": cfg.momentum, "weight_decay": cfg.weight_decay, "batch_size": cfg.batch_size,
            "seed": cfg.seed, "steps": preset.steps}


def _check_playground(values: dict) -> list[str]:
    problems = _check_with(PLAYGROUND_KEYS, PLAYGROUND_BOUNDS, PLAYGROUND_CHOICES)(values)
    for key in ("hidden", "features"):
        if key in values and not (isinstance(values[key], list) and len(values[key]) <= 8):
            problems.append(f"setup.{key}: a list, e.g. {_playground_defaults()[key]}")
    if problems:
        return problems
    try:
        playground_config(values)[0].validate()  # the rules between values (2 classes for XOR, …)
    except (TypeError, ValueError) as exc:
        return [f"setup: {exc}"]
    return []


def _run_playground(values: dict, control: RunControl) -> Iterator[object]:
    """The playground trained `steps` steps from its seed on the points its data spec draws."""
    from digitpad.core.playground import train

    cfg, steps = playground_config(values)
    frame = None
    for ev in train(cfg, steps, control=control, frame_s=0.25):
        if isinstance(ev, Failed):
            yield ev
            return
        frame = ev
        yield Progress(frame.step, steps, 1, 1, frame.train_loss, frame.train_accuracy, math.nan, math.nan)
    if control.stopped or frame is None:
        yield Finished(None, True, 0)
        return
    outcome = {"train_accuracy": frame.train_accuracy * 100, "test_accuracy": frame.test_accuracy * 100,
               "gap": (frame.train_accuracy - frame.test_accuracy) * 100}
    yield Revealed(outcome, f"{cfg.net.describe()} on {cfg.data.kind}, {steps} steps: train accuracy "
                            f"{frame.train_accuracy:.1%}, test accuracy {frame.test_accuracy:.1%}")


LESSONS["playground"] = LessonSpec(
    "2-D playground", PLAYGROUND_KEYS, _playground_defaults, _check_playground,
    {"train_accuracy": Measure("train accuracy after the last step", NUMBER, "%"),
     "test_accuracy": Measure("test accuracy after the last step", NUMBER, "%"),
     "gap": Measure("train minus test accuracy (the overfitting gap)", NUMBER, "points")},
    _run_playground, PLAYGROUND_BOUNDS, PLAYGROUND_CHOICES)


def check_lesson(setup: dict, _base: Path | None = None, _deep: bool = False) -> dict:
    lesson = setup.get("lesson")
    if lesson not in LESSONS:
        raise SetupProblem([f"setup.lesson: {lesson!r:.60} is not a lesson an exercise can set up; "
                            f"choose one of {', '.join(LESSONS)}"])
    spec = LESSONS[lesson]
    problems = spec.check(setup)
    if problems:
        raise SetupProblem(problems)
    return {"lesson": lesson, **spec.defaults(), **setup}


def lesson_fields(setup: dict) -> list[SetupField]:
    spec = LESSONS[setup["lesson"]]
    choices = {"dataset": names.DATASETS, **spec.choices}
    return ([SetupField("lesson", "lesson", setup["lesson"], spec.title)] +
            [SetupField(k, SETTING[k].title.lower() if k in SETTING else k.replace("_", " "), setup[k],
                        number_text(setup[k]),
                        choices=choices.get(k, ()), bounds=spec.bounds.get(k), optional=k.endswith("_limit"))
             for k in spec.keys])


def run_lesson(setup: dict, _base: Path | None, control: RunControl) -> Iterator[object]:
    yield from LESSONS[setup["lesson"]].run({k: v for k, v in setup.items() if k != "lesson"}, control)


LESSON = ExerciseKind("lesson", "Lesson page", check_lesson, lesson_fields,
                      lambda setup: LESSONS[setup["lesson"]].measures, run_lesson)


# --- the Step tab: N single mini-batch steps ------------------------------------------------------

STEP_KEYS = ("dataset", "model", "optimizer", "lr", "momentum", "batch_size", "seed", "steps", "test_limit")
STEP_SHOWN = ("dataset", "model", "optimizer", "lr", "batch_size", "steps")  # the rest only where not the default
EXERCISE_STEPS = names.Bounds(1, 2000, integer=True)  # a class waits for them: minutes at most on a laptop
DEFAULT_STEPS = 10  # a step exercise's steps when the file (or a session not yet stepped) gives none
STEP_MEASURES = {
    "test_accuracy": Measure("test accuracy after the last step (on the test subset)", NUMBER, "%"),
    "test_loss": Measure("test loss after the last step (on the test subset)", NUMBER),
    "loss_direction": Measure("the test loss, from before the first step to after the last", CHOICE,
                              options=(DOWN, UP)),
    "update_ratio": Measure("‖ΔW‖ / ‖W‖ of the last step", NUMBER),
}


def _step_bounds(key: str) -> names.Bounds | None:
    return EXERCISE_STEPS if key == "steps" else SETTING[key].bounds


def step_config(setup: dict):
    """The StepConfig and number of steps an exercise runs: the model's course defaults, then the file's values."""
    from digitpad.core.step import TEST_SUBSET, LaneConfig, StepConfig

    cfg = training_config({k: v for k, v in setup.items() if k in TRAINING_KEYS})
    lane = LaneConfig(cfg.optimizer, cfg.lr, cfg.momentum)
    return StepConfig(dataset=cfg.dataset, model=cfg.model, batch_size=cfg.batch_size, seed=cfg.seed, lanes=(lane,),
                      test_subset=setup.get("test_limit") or TEST_SUBSET), setup.get("steps", DEFAULT_STEPS)


def check_step(setup: dict, _base: Path | None = None, _deep: bool = False) -> dict:
    problems = unknown_keys(setup, STEP_KEYS)
    for key, value in setup.items():
        if key in STEP_KEYS:
            problem = check_value(key, value, choices=_choices(key) if key in SETTING else (),
                                  bounds=_step_bounds(key), optional=key == "test_limit")
            problems += [problem] if problem else []
    if problems:
        raise SetupProblem(problems)
    cfg, steps = step_config(setup)
    try:
        cfg.validate()
    except ValueError as exc:
        raise SetupProblem([f"setup: {exc}"]) from None
    lane = cfg.lanes[0]
    return {"dataset": cfg.dataset, "model": cfg.model, "optimizer": lane.optimizer, "lr": lane.lr,
            "momentum": lane.momentum, "batch_size": cfg.batch_size, "seed": cfg.seed, "steps": steps,
            "test_limit": cfg.test_subset}


def step_fields(setup: dict) -> list[SetupField]:
    defaults = check_step({k: setup[k] for k in ("model", "dataset") if k in setup})
    return [SetupField(key, "steps" if key == "steps" else SETTING[key].title.lower(), setup[key],
                       number_text(setup[key]), choices=_choices(key) if key in SETTING else (),
                       bounds=_step_bounds(key))
            for key in STEP_KEYS if key in STEP_SHOWN or setup[key] != defaults[key]]


def run_step(setup: dict, _base: Path | None, control: RunControl) -> Iterator[object]:
    """The Step tab's session, N steps from fresh seeded weights, measured after each as the tab does."""
    from digitpad.core.step import Opened, Stepped, open_session

    cfg, steps = step_config(setup)
    session = None
    for ev in open_session(cfg):
        if isinstance(ev, Failed):
            yield ev
            return
        session = ev.session if isinstance(ev, Opened) else session
    start_loss = session.test_loss_now()
    record = None
    for ev in session.run(steps, control, views=False):
        if isinstance(ev, Failed):
            if ev.kind != FailureKind.DIVERGED:
                yield ev
                return
            yield Revealed({"loss_direction": UP}, f"step {session.step + 1} made the loss infinite or NaN "
                                                   f"(lr {cfg.lanes[0].lr:g} is too large): the loss blew up")
            return
        if isinstance(ev, Stepped) and ev.records:
            record = ev.records[-1][0]
            yield Progress(ev.step, steps, 1, 1, record.loss_after, math.nan, math.nan, math.nan)
    if control.stopped or record is None:
        yield Finished(None, True, 0)
        return
    outcome = {"test_accuracy": record.test_accuracy * 100, "test_loss": record.test_loss,
               "loss_direction": loss_direction(start_loss, record.test_loss, False),
               "update_ratio": record.update_ratio}
    yield Revealed(outcome, f"{cfg.model}, {steps} step(s) of {cfg.lanes[0].label}, batch {cfg.batch_size}: test "
                            f"loss {start_loss:.4g} → {record.test_loss:.4g}, test accuracy "
                            f"{record.test_accuracy:.1%} on {len(session.data.y_test):,} images")


STEP = ExerciseKind("step", "Step tab", check_step, step_fields, lambda _setup: STEP_MEASURES, run_step)


# --- the registry: one entry per kind ------------------------------------------------------------

KINDS: dict[str, ExerciseKind] = {kind.name: kind for kind in (TRAINING, CANVAS, LESSON, STEP)}
