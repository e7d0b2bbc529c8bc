"""Write the exercises that ship in assets/exercises/, from the course's own numbers.

Each outcome below was measured with DigitPad's engine (`digitpad exercise check` validates the files;
the Classroom tab's Run / Reveal re-measures them): softmax regression on MNIST after one epoch reaches
90.75 % at the course's lr 0.05 and 87.49 % at lr 1.0 and diverges at lr 10; the softmax lesson diverges
at lr 50; the linear-regression warm-up learns b = 4.199 at lr 0.03 and 2.44 at lr 0.003 in 3 epochs;
the shipped softmax model reads a tilted closed 4 as a 9, the CNN as a 4.

    python scripts/make_exercises.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digitpad.core.exercise_kinds import KINDS  # noqa: E402
from digitpad.core.exercises import ALL, SUFFIX, Answer, Exercise, Sheet, write_sheet  # noqa: E402
from digitpad.core.strokes import Stroke, StrokeSet, as_points  # noqa: E402
from digitpad.core.sample_digits import shapes, transform  # noqa: E402

OUT = ROOT / "assets" / "exercises"


def exercise(title: str, question: str, kind: str, setup: dict, answer: Answer, explanation: str,
             locked=ALL, hidden=()) -> Exercise:
    return Exercise(title, question, kind, KINDS[kind].check(setup, None, False), answer, locked, tuple(hidden),
                    explanation)


def tilted_closed_four() -> dict:
    strokes = transform(shapes(4)[0], angle_deg=-15)
    drawing = StrokeSet(280, 280, 18, [Stroke(as_points([(round(x, 1), round(y, 1)) for x, y in s]))
                                       for s in strokes])
    return drawing.to_json()


def sheets() -> dict[str, Sheet]:
    softmax = {"dataset": "mnist", "model": "softmax", "epochs": 1, "batch_size": 256, "optimizer": "sgd"}
    accuracy = Answer("test_accuracy", "number", tolerance=2.0, unit="%")
    direction = Answer("loss_direction", "choice", options=("down", "up"))
    four = tilted_closed_four()
    return {
        "learning-rate": Sheet("Learning rate: too small, right, too large", (
            exercise("The course's learning rate",
                     "Softmax regression on MNIST, one epoch at the course's lr 0.05 (batch 256, plain SGD). "
                     "What test accuracy will it reach, in %?",
                     "training", {**softmax, "lr": 0.05}, accuracy,
                     "One pass over 60,000 images is enough for most of what a linear model can learn: about "
                     "91 %. Ten epochs only add about one point (92 %)."),
            exercise("Twenty times larger",
                     "The same model and epoch, with lr 1.0. What test accuracy now, in %?",
                     "training", {**softmax, "lr": 1.0}, Answer("test_accuracy", "number", tolerance=3.0, unit="%"),
                     "Steps that large overshoot: the loss starts far higher and the model ends a few points "
                     "below the course's lr (about 87.5 %)."),
            exercise("Two hundred times larger",
                     "And with lr 10: will the training loss go down or up?",
                     "training", {**softmax, "lr": 10.0}, direction,
                     "Each step overshoots the minimum by more than it was away: the loss explodes within a "
                     "few batches and the divergence watch stops the run."),
        )),
        "softmax-lr50": Sheet("Softmax from scratch at lr 50", (
            exercise("lr 50",
                     "The softmax lesson (Fashion-MNIST, 10,000 training images, one epoch) at lr 50. "
                     "Will the concise model's loss go down or up?",
                     "lesson", {"lesson": "softmax", "lr": 50.0, "epochs": 1, "train_limit": 10_000}, direction,
                     "Up: the logits grow without bound. The scratch model's exp overflows and its loss "
                     "becomes NaN; the concise one (log-sum-exp) stays a huge finite number until the "
                     "divergence watch stops it. Lesson 4 shows why."),
        )),
        "which-digit": Sheet("Which digit will it say?", (
            exercise("Softmax regression",
                     "A 4 drawn closed and tilted. Which digit will the shipped softmax-regression model say?",
                     "canvas", {"model": "mnist-softmax", "drawing": four}, Answer("prediction", "digit"),
                     "It says 9 (89 %): a linear model scores each pixel on its own, and a closed top loop "
                     "with a stem is mostly where 9s have ink."),
            exercise("The CNN",
                     "The same drawing. Which digit will the shipped CNN say?",
                     "canvas", {"model": "mnist-cnn", "drawing": four}, Answer("prediction", "digit"),
                     "It says 4: its filters see the corner where the bar meets the stem, wherever it is."),
        )),
        "linear-regression": Sheet("The warm-up: linear regression", (
            exercise("The course's setup",
                     "y = Xw + b + noise with true b = 4.2; lr 0.03, batch 10, 3 epochs from scratch. "
                     "What will the learned b be?",
                     "lesson", {"lesson": "linreg"}, Answer("learned_b", "number", tolerance=0.05),
                     "4.199: three epochs of 100 minibatches bring w and b to within a few thousandths."),
            exercise("Ten times smaller steps",
                     "The same, at lr 0.003. What will the learned b be after 3 epochs?",
                     "lesson", {"lesson": "linreg", "lr": 0.003}, Answer("learned_b", "number", tolerance=0.5),
                     "About 2.4: each step moves a tenth as far, so three epochs cover only part of the way "
                     "from 0 to 4.2."),
        )),
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, sheet in sheets().items():
        print(write_sheet(sheet, OUT / f"{name}{SUFFIX}"))


if __name__ == "__main__":
    main()
