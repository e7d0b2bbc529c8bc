"""A sweep: one training setting over a few values, one run after the other, the rest of the setup kept.

Which settings a sweep may vary, their titles and how a typed value is read come from the settings
table (`settings.SETTINGS`). The Runs list only shows a sweep's progress and starts each run it hands out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from digitpad.core.runs import describe
from digitpad.core.settings import SETTING
from digitpad.core.trainer import TrainConfig

MIN_VALUES, MAX_VALUES = 2, 10


def sweep_configs(base: TrainConfig, key: str, text: str) -> list[TrainConfig]:
    """The runs of a sweep: `base` with `key` set to each value of "0.01, 0.1, 1"; a clear ValueError otherwise."""
    setting = SETTING[key]
    if not setting.sweepable:
        raise ValueError(f"a sweep cannot vary the {setting.title.lower()}")
    words = text.replace(",", " ").split()
    if not MIN_VALUES <= len(words) <= MAX_VALUES:
        raise ValueError(f"give {MIN_VALUES} to {MAX_VALUES} values of the {setting.title.lower()}, "
                         "separated by commas")
    try:
        configs = [replace(base, **{key: setting.parse(word)}) for word in words]
        for cfg in configs:
            cfg.validate()
    except ValueError as exc:
        raise ValueError(f"{setting.title.lower()}: {exc}") from None
    return configs


@dataclass
class Sweep:
    """A sweep under way: the runs still to start, and how many there are in all."""

    key: str
    pending: list[TrainConfig]
    size: int

    @classmethod
    def of(cls, base: TrainConfig, key: str, text: str) -> "Sweep":
        configs = sweep_configs(base, key, text)
        return cls(key, configs, len(configs))

    @property
    def started(self) -> int:
        return self.size - len(self.pending)

    def next(self) -> TrainConfig | None:
        """The next run's setup, or None when every run has been started."""
        return self.pending.pop(0) if self.pending else None

    def run_name(self, cfg: TrainConfig) -> str:
        """"sweep lr 0.1": what the run is called in the Runs list and the legend."""
        return f"sweep {describe(vars(cfg), [self.key])}"
