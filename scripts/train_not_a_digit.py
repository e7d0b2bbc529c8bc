"""Train the not-a-digit detector shipped in assets/detectors/not-a-digit.pt (`make models` runs it; ~5 minutes
on 2 cores). It learns from the scribble generators in `ood.TRAIN_GENERATORS` and the font families in
`ood.TRAIN_FAMILIES` found on this machine; bench/not_a_digit.py measures it on the others."""

from __future__ import annotations

import sys
import time
from datetime import date

import torch

from digitpad.core.ood import (DETECTOR_PATH, HELD_OUT_GENERATORS, TRAIN_FAMILIES, TRAIN_GENERATORS,
                               NotADigitDetector, save_detector, train_detector, training_data)


def main() -> int:
    torch.set_num_threads(1)  # a small network: one thread beats two that wait for each other on a busy machine
    start = time.perf_counter()
    data = training_data()
    print(f"{len(data.digits):,} digits, {len(data.not_digits):,} not digits ({time.perf_counter() - start:.0f} s)")
    for step in train_detector(data):
        if isinstance(step, NotADigitDetector):
            detector = step
        else:
            epoch, batch, loss = step
            print(f"\repoch {epoch} batch {batch} loss {loss:.4f}", end="", flush=True)
    about = {"trained": date.today().isoformat(), "generators": list(TRAIN_GENERATORS),
             "held_out_generators": list(HELD_OUT_GENERATORS), "families": list(TRAIN_FAMILIES),
             "digits": len(data.digits), "not_digits": len(data.not_digits)}
    save_detector(detector, DETECTOR_PATH, about)
    print(f"\nsaved {DETECTOR_PATH} (threshold {detector.threshold:.3f}) in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
