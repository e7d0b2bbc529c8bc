"""Train the not-a-digit detector shipped in assets/detectors/not-a-digit.pt (`make models` runs it; ~10 minutes
on 2 cores). Its members (`ood.MEMBERS`) train side by side, a process of one thread each. They learn from
the scribble generators in `ood.TRAIN_GENERATORS` and the font families in `ood.TRAIN_FAMILIES` found on this
machine; bench/not_a_digit.py measures the detector on the others."""

from __future__ import annotations

import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date

import torch

from digitpad.core.ood import (DETECTOR_PATH, HELD_OUT_GENERATORS, MEMBERS, TRAIN_FAMILIES, TRAIN_GENERATORS,
                               DetectorData, assemble, detector_net, save_detector, train_member,
                               training_data)

_DATA: DetectorData | None = None  # set before the workers fork: they read it without a copy through a pipe


def train_one(member: int) -> dict[str, torch.Tensor]:
    torch.set_num_threads(1)  # a small network: one thread beats two that wait for each other on a busy machine
    seed, blurred = MEMBERS[member]
    for step in train_member(_DATA, seed=seed, blurred=blurred):
        if isinstance(step, tuple):
            epoch, batch, loss = step
            if batch % 500 == 0:
                print(f"member {member}: epoch {epoch} batch {batch} loss {loss:.4f}", flush=True)
        else:
            return step.state_dict()
    raise RuntimeError("training yielded no member")


def main() -> int:
    global _DATA
    start = time.perf_counter()
    _DATA = training_data()
    print(f"{len(_DATA.digits):,} digits, {len(_DATA.not_digits):,} not digits ({time.perf_counter() - start:.0f} s)")
    with ProcessPoolExecutor(len(MEMBERS), mp_context=multiprocessing.get_context("fork")) as pool:
        states = list(pool.map(train_one, range(len(MEMBERS))))
    members = []
    for state in states:
        member = detector_net()
        member.load_state_dict(state)
        members.append(member)
    detector = assemble(members, _DATA)
    about = {"trained": date.today().isoformat(), "members": [list(m) for m in MEMBERS],
             "generators": list(TRAIN_GENERATORS), "held_out_generators": list(HELD_OUT_GENERATORS),
             "families": list(TRAIN_FAMILIES), "digits": len(_DATA.digits), "not_digits": len(_DATA.not_digits)}
    save_detector(detector, DETECTOR_PATH, about)
    print(f"saved {DETECTOR_PATH} (threshold {detector.threshold:.3f}) in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
