"""Predict-then-reveal exercises: the `.digitpad-exercise` file (a sheet of one or more exercises), its
validation, grading a student's prediction against the outcome, and the answers log.

The file is JSON, versioned by `format_version` and documented in docs/EXERCISES.md. Reading it never
trusts it: a file that is too large, nested too deeply, not a regular file (a folder, a FIFO, a symbolic
link), from a newer DigitPad, with unknown keys or wrong types is refused with one line per problem, so
a teacher fixing a hand-edited file sees everything at once. What an exercise is *about* — its setup,
what it can measure, the run that reveals it — is its kind's business (`exercise_kinds.KINDS`).

Answers go to a CSV beside the exercise (or in a folder the student chooses), one row per reveal, each
row added by a single append: many students on one shared drive add rows without rewriting — and so
without losing — each other's.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from digitpad.core.atomic import atomic_write_bytes
from digitpad.core.files import NotAFileError, TooLargeError, read_regular
from digitpad.core.exercise_kinds import (ANSWER_TYPES, CHOICE, DIGIT, KINDS, NUMBER, ExerciseKind, Measure,
                                          SetupField, SetupProblem, unknown_keys)

if TYPE_CHECKING:
    from digitpad.core.checkpoints import TrainedModel

FORMAT = "digitpad-exercise"
FORMAT_VERSION = 1
SUFFIX = ".digitpad-exercise"
MAX_FILE_BYTES = 2 * 1024 * 1024  # a sheet of drawings is tens of kB
MAX_DEPTH = 16  # a stroke point sits 8 deep
MAX_EXERCISES = 100
MAX_TEXT = {"title": 200, "question": 2000, "explanation": 4000, "option": 60}
TOP_KEYS = ("format", "format_version", "title", "exercises")
EXERCISE_KEYS = ("title", "question", "kind", "setup", "locked", "hidden", "answer", "explanation")
ANSWER_KEYS = ("measure", "type", "tolerance", "options")
ALL = "all"


class ExerciseError(ValueError):
    """An exercise file that cannot be used; `problems` holds one line per problem found."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path, self.problems = Path(path), problems
        lines = problems if len(problems) == 1 else [f"{len(problems)} problems:", *(f"  - {p}" for p in problems)]
        super().__init__(f"{path}: " + "\n".join(lines))


class AnswersLogError(OSError):
    """The answers file cannot be written; the answer is kept in the app meanwhile."""


@dataclass(frozen=True)
class Answer:
    """What the student predicts: a number (right within `tolerance`), one of `options`, or a digit."""

    measure: str
    type: str
    tolerance: float = 0.0
    options: tuple[str, ...] = ()
    unit: str = ""

    def to_json(self) -> dict:
        data: dict[str, Any] = {"measure": self.measure, "type": self.type}
        if self.type == NUMBER:
            data["tolerance"] = self.tolerance
        if self.type == CHOICE:
            data["options"] = list(self.options)
        return data


@dataclass(frozen=True)
class Exercise:
    title: str
    question: str
    kind: str
    setup: dict  # as checked by its kind: defaults filled in
    answer: Answer
    locked: tuple[str, ...] | str = ALL  # the keys a student may not change, or "all"
    hidden: tuple[str, ...] = ()  # shown only after the reveal (and never editable)
    explanation: str = ""  # shown after the reveal

    @property
    def spec(self) -> ExerciseKind:
        return KINDS[self.kind]

    def fields(self) -> list[SetupField]:
        return self.spec.fields(self.setup)

    def is_hidden(self, key: str) -> bool:
        return key in self.hidden

    def is_editable(self, setup_field: SetupField) -> bool:
        return (setup_field.editable and self.locked != ALL and setup_field.key not in self.locked
                and setup_field.key not in self.hidden)

    def with_changes(self, changes: Mapping[str, Any], base: Path | None = None) -> dict:
        """The setup with the student's changes to editable fields, checked again by the kind (SetupProblem)."""
        editable = {f.key for f in self.fields() if self.is_editable(f)}
        refused = sorted(set(changes) - editable)
        if refused:
            raise SetupProblem([f"{key}: locked by the exercise" for key in refused])
        return self.spec.check({**self.setup, **changes}, base, False)

    def to_json(self) -> dict:
        data = {"title": self.title, "question": self.question, "kind": self.kind, "setup": self.setup,
                "locked": self.locked if self.locked == ALL else list(self.locked), "hidden": list(self.hidden),
                "answer": self.answer.to_json()}
        if self.explanation:
            data["explanation"] = self.explanation
        return data


@dataclass(frozen=True)
class Sheet:
    """An exercise file: one or more exercises, stepped through in order."""

    title: str
    exercises: tuple[Exercise, ...]
    path: Path | None = None  # where it was read from: relative checkpoints and the answers file hang on it

    @property
    def base(self) -> Path | None:
        return None if self.path is None else self.path.parent

    def to_json(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "title": self.title,
                "exercises": [e.to_json() for e in self.exercises]}


def shipped_exercises() -> list[Path]:
    """The exercises that ship with the app (assets/exercises, or digitpad/assets/exercises when installed)."""
    from digitpad.core.checkpoints import ASSETS_DIR

    return sorted((ASSETS_DIR.parent / "exercises").glob(f"*{SUFFIX}"))


# --- reading ----------------------------------------------------------------------------------

def read_limited(path: Path, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; OSError-free: ValueError with one clear line.

    Read through `files.read_regular` without following a link: a FIFO never blocks the reader, a device
    or folder is refused, and a swapped-in link is not followed."""
    try:
        return read_regular(path, limit, what, follow_links=False)
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except (NotAFileError, TooLargeError) as exc:
        raise ValueError(exc.strerror) from None
    except OSError as exc:
        raise ValueError(f"cannot read it ({exc.strerror or exc})") from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    keys = [k for k, _ in pairs]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise ValueError(f"the key {duplicated[0]!r:.60} appears twice in one object")
    return dict(pairs)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(data: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Strict JSON (no NaN, no duplicate keys) no deeper than max_depth; ValueError saying what is wrong."""
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_keys,
                           parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise ValueError("not text in UTF-8, so not JSON") from None
    except RecursionError:
        raise ValueError(f"nested too deeply (more than {max_depth} levels)") from None
    except ValueError as exc:  # JSONDecodeError, our hooks', integers longer than Python parses
        raise ValueError(f"not valid JSON ({str(exc)[:200]})") from None
    if depth(value) > max_depth:
        raise ValueError(f"nested too deeply (more than {max_depth} levels)")
    return value


def depth(value: Any) -> int:
    """How deep lists and objects nest (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def read_sheet(path: str | os.PathLike, deep: bool = True) -> Sheet:
    """Read and check an exercise file; ExerciseError lists every problem. `deep` opens the checkpoints it
    names (the app does, off its GUI thread; so does `digitpad exercise check`)."""
    path = Path(path)
    try:
        data = parse_json(read_limited(path, MAX_FILE_BYTES, "an exercise file"))
    except ValueError as exc:
        raise ExerciseError(path, [str(exc)]) from None
    return sheet_from_json(data, path, deep)


def sheet_from_json(data: Any, path: Path, deep: bool = True) -> Sheet:
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ExerciseError(path, [f"not an exercise file: it holds a JSON {type(data).__name__}, not an object "
                                   f"with \"format\": \"{FORMAT}\""])
    if data.get("format") != FORMAT:
        raise ExerciseError(path, [f"not an exercise file: \"format\" is {data.get('format')!r:.60}, "
                                   f"expected \"{FORMAT}\""])
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ExerciseError(path, [f"format_version must be a whole number from 1, got {version!r:.60}"])
    if version > FORMAT_VERSION:
        from digitpad import __version__

        raise ExerciseError(path, [f"written by a newer DigitPad (format version {version}; DigitPad "
                                   f"{__version__} reads up to {FORMAT_VERSION}): update DigitPad to open it"])
    problems += unknown_keys(data, TOP_KEYS, "file")
    title = _text(data, "title", problems, "file")
    raw = data.get("exercises")
    exercises = []
    if not isinstance(raw, list) or not raw:
        problems.append("file.exercises: must be a list of at least one exercise")
    elif len(raw) > MAX_EXERCISES:
        problems.append(f"file.exercises: {len(raw)} exercises, more than {MAX_EXERCISES} in one file")
    else:
        for number, item in enumerate(raw, start=1):
            where = f"exercise {number}"
            if isinstance(item, dict) and isinstance(item.get("title"), str):
                where += f" ({item['title'][:40]!r})"
            exercise = _exercise(item, where, path.parent, deep, problems)
            if exercise is not None:
                exercises.append(exercise)
    if problems:
        raise ExerciseError(path, problems)
    return Sheet(title, tuple(exercises), path)


def _text(data: dict, key: str, problems: list[str], where: str, required: bool = True) -> str:
    value = data.get(key, None if required else "")
    limit = MAX_TEXT[key]
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        problems.append(f"{where}.{key}: must be a{' non-empty' if required else ''} text of at most {limit} "
                        f"characters, got {value!r:.60}")
        return ""
    return value


def _exercise(item: Any, where: str, base: Path, deep: bool, problems: list[str]) -> Exercise | None:
    if not isinstance(item, dict):
        problems.append(f"{where}: must be an object, got {type(item).__name__}")
        return None
    found = len(problems)
    problems += unknown_keys(item, EXERCISE_KEYS, where)
    title = _text(item, "title", problems, where)
    question = _text(item, "question", problems, where)
    explanation = _text(item, "explanation", problems, where, required=False)
    kind = item.get("kind")
    if kind not in KINDS:
        problems.append(f"{where}.kind: {kind!r:.60} is not a kind of exercise; choose one of {', '.join(KINDS)}")
        return None
    raw_setup = item.get("setup")
    if not isinstance(raw_setup, dict):
        problems.append(f"{where}.setup: must be an object, got {type(raw_setup).__name__}")
        return None
    spec = KINDS[kind]
    try:
        setup = spec.check(raw_setup, base, deep)
    except SetupProblem as exc:
        problems += [f"{where}: {p}" for p in exc.problems]
        try:  # the answer is still checked where what the setup measures is known
            _answer(item.get("answer"), spec.measures(raw_setup), where, problems)
        except (KeyError, TypeError):
            pass
        return None
    keys = {f.key for f in spec.fields(setup)}
    locked = _keys(item, "locked", keys, where, problems, default=ALL)
    hidden = _keys(item, "hidden", keys, where, problems, default=())
    answer = _answer(item.get("answer"), spec.measures(setup), where, problems)
    if len(problems) > found or answer is None:
        return None
    return Exercise(title, question, kind, setup, answer, locked, hidden, explanation)


def _keys(item: dict, key: str, known: set[str], where: str, problems: list[str], default):
    if key not in item:
        return default
    value = item[key]
    if value == ALL and key == "locked":
        return ALL
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        also = ' or "all"' if key == "locked" else ""
        problems.append(f"{where}.{key}: must be a list of setup keys{also}, got {value!r:.60}")
        return default
    strangers = [v for v in value if v not in known]
    if strangers:
        problems.append(f"{where}.{key}: {', '.join(map(repr, strangers))[:120]} not in this setup "
                        f"(its keys: {', '.join(sorted(known))})")
    return tuple(v for v in value if v in known)


def _answer(raw: Any, measures: Mapping[str, Measure], where: str, problems: list[str]) -> Answer | None:
    where = f"{where}.answer"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object with \"measure\" and \"type\", got {type(raw).__name__}")
        return None
    found = len(problems)
    problems += unknown_keys(raw, ANSWER_KEYS, where)
    measure_name, kind = raw.get("measure"), raw.get("type")
    measure = measures.get(measure_name) if isinstance(measure_name, str) else None
    if measure is None:
        problems.append(f"{where}.measure: {measure_name!r:.60} is not something this exercise's run measures; "
                        f"choose one of {', '.join(measures)}")
        return None
    if kind not in ANSWER_TYPES:
        problems.append(f"{where}.type: {kind!r:.60} is not an answer type; choose one of {', '.join(ANSWER_TYPES)}")
        return None
    if kind != measure.type:
        problems.append(f"{where}.type: {measure_name} is answered with a {measure.type}, not a {kind}")
        return None
    tolerance, options = 0.0, ()
    if kind == NUMBER:
        tolerance = raw.get("tolerance")
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not math.isfinite(tolerance) \
                or tolerance < 0:
            problems.append(f"{where}.tolerance: a number answer needs a tolerance ≥ 0 (how far off still counts "
                            f"as right), got {tolerance!r:.60}")
    elif "tolerance" in raw:
        problems.append(f"{where}.tolerance: only a number answer has a tolerance")
    if kind == CHOICE:
        options = raw.get("options", list(measure.options))
        ok = (isinstance(options, list) and 2 <= len(options) <= 10 and len(set(map(str, options))) == len(options)
              and all(isinstance(o, str) and o.strip() and len(o) <= MAX_TEXT["option"] for o in options))
        if not ok:
            problems.append(f"{where}.options: must be 2 to 10 different short texts, got {options!r:.60}")
        elif not set(measure.options) <= set(options):
            problems.append(f"{where}.options: must include every possible outcome "
                            f"({', '.join(measure.options)}), or no prediction could be right")
    elif "options" in raw:
        problems.append(f"{where}.options: only a choice answer has options")
    if len(problems) > found:
        return None
    return Answer(measure_name, kind, float(tolerance), tuple(options), measure.unit)


def check_file(path: str | os.PathLike, deep: bool = True) -> list[str]:
    """Every problem of an exercise file, one line each; empty when it is fine."""
    try:
        read_sheet(path, deep)
    except ExerciseError as exc:
        return exc.problems
    return []


def write_sheet(sheet: Sheet, path: str | os.PathLike) -> Path:
    """Check the sheet as a reader would, then write it atomically; ExerciseError if it would not read back."""
    path = Path(path)
    data = sheet.to_json()
    sheet_from_json(json.loads(json.dumps(data)), path, deep=False)
    atomic_write_bytes(path, (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


@dataclass(frozen=True)
class Draft:
    """What a tab offers to save as an exercise: its kind and setup, and, when the setup's model is not a
    file the exercise can point to (one trained in this session), the model to save beside the file (the
    setup's "checkpoint" is then renamed to that file's name on saving)."""

    kind: str
    setup: dict
    model: TrainedModel | None = None


def save_exercise(exercise: Exercise, path: str | os.PathLike, model: TrainedModel | None = None,
                  add: bool = False) -> Path:
    """Write the exercise as a new sheet of one, or (`add`) as the next exercise of the sheet at `path`.
    A model to travel with it is saved first, beside the file, and the setup's "checkpoint" names it."""
    from dataclasses import replace

    path = Path(path)
    sheet = read_sheet(path, deep=False) if add else Sheet(exercise.title, ())
    if model is not None:
        from digitpad.core.checkpoints import save_checkpoint

        stem = path.name.removesuffix(SUFFIX)
        name = f"{stem}-{len(sheet.exercises) + 1}.pt"
        save_checkpoint(model, path.parent / name)
        exercise = replace(exercise, setup={**exercise.setup, "checkpoint": name})
    return write_sheet(Sheet(sheet.title, sheet.exercises + (exercise,)), path)


# --- predictions and grading ------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """Prediction against outcome: `correct` is None when the run did not produce what was asked."""

    correct: bool | None
    text: str
    outcome: Any = None


def parse_prediction(answer: Answer, text: str) -> Any:
    """The student's entry as the answer's type; ValueError saying what is expected."""
    text = text.strip().rstrip("%").strip() if answer.type == NUMBER else text.strip()
    if answer.type == NUMBER:
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            raise ValueError(f"type a number{' in ' + answer.unit if answer.unit else ''}") from None
        if not math.isfinite(value):
            raise ValueError("type a finite number")
        return value
    if answer.type == DIGIT:
        if text not in [str(d) for d in range(10)]:
            raise ValueError("choose a digit from 0 to 9")
        return int(text)
    if text not in answer.options:
        raise ValueError(f"choose one of {', '.join(answer.options)}")
    return text


def show_value(answer: Answer, value: Any) -> str:
    if answer.type == NUMBER and isinstance(value, (int, float)):
        return f"{value:.4g}{' ' + answer.unit if answer.unit else ''}"
    return str(value)


def grade(answer: Answer, prediction: Any, outcome: Mapping[str, Any]) -> Verdict:
    value = outcome.get(answer.measure)
    if value is None:
        return Verdict(None, f"The run gave no {answer.measure.replace('_', ' ')} to compare with.")
    said = f"You predicted {show_value(answer, prediction)}; it was {show_value(answer, value)}"
    if answer.type == NUMBER:
        off = abs(prediction - value)
        correct = off <= answer.tolerance + 1e-9
        within = f"within ±{answer.tolerance:g}{' ' + answer.unit if answer.unit else ''}"
        return Verdict(correct, f"{said} — off by {off:.3g}, {'' if correct else 'not '}{within}.", value)
    correct = prediction == value
    return Verdict(correct, f"{said} — {'right' if correct else 'not this time'}.", value)


# --- the answers log ----------------------------------------------------------------------------

ANSWER_COLUMNS = ("time", "student", "file", "sheet", "exercise", "title", "measure", "prediction", "outcome",
                  "correct", "changed")


@dataclass(frozen=True)
class AnswerRecord:
    student: str
    file: str
    sheet: str
    exercise: int  # 1-based, in the sheet
    title: str
    measure: str
    prediction: Any
    outcome: Any
    correct: bool | None
    changed: dict = field(default_factory=dict)  # setup values the student changed before the run
    time: str = field(default_factory=lambda: datetime.now().astimezone().isoformat(timespec="seconds"))

    def row(self) -> list[str]:
        correct = "" if self.correct is None else "yes" if self.correct else "no"
        changed = json.dumps(self.changed, sort_keys=True) if self.changed else ""
        return [self.time, _cell(self.student), _cell(self.file), _cell(self.sheet), str(self.exercise),
                _cell(self.title), self.measure, _cell(str(self.prediction)), _cell(str(self.outcome)), correct,
                _cell(changed)]


def _cell(text: str) -> str:
    """A text a spreadsheet shows as text: cells starting with = + - @ would run as formulas (CSV injection)."""
    text = text.replace("\r", " ").replace("\n", " ")
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def answers_path(sheet_path: Path, folder: Path | None = None) -> Path:
    """`<exercise>.answers.csv` beside the exercise file, or in the chosen folder."""
    name = sheet_path.name.removesuffix(SUFFIX) if sheet_path.name.endswith(SUFFIX) else sheet_path.stem
    return (folder or sheet_path.parent) / f"{name}.answers.csv"


def append_answer(path: str | os.PathLike, record: AnswerRecord) -> Path:
    """Add one row (and the header to a new file) in a single append, synced; AnswersLogError says why not.

    Rewriting the file through a temp copy would drop a row a classmate added meanwhile; one O_APPEND
    write adds the whole row after whatever is there. Links and FIFOs are refused like any bad file."""
    path = Path(path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    try:
        if path.is_symlink():
            raise AnswersLogError(f"cannot write the answers to {path}: it is a symbolic link")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0), 0o644)
    except AnswersLogError:
        raise
    except OSError as exc:
        raise AnswersLogError(f"cannot write the answers to {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise AnswersLogError(f"cannot write the answers to {path}: not a regular file")
        if info.st_size == 0:
            writer.writerow(ANSWER_COLUMNS)
        writer.writerow(record.row())
        os.write(fd, buffer.getvalue().encode("utf-8"))
        os.fsync(fd)
    except OSError as exc:
        if isinstance(exc, AnswersLogError):
            raise
        raise AnswersLogError(f"cannot write the answers to {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return path
