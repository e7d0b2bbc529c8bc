"""The shipped not-a-digit detector: what it flags, how its threshold is set, and the files it refuses."""

import io

import numpy as np
import pytest
import torch

from digitpad.core import ood
from digitpad.core.datasets import load_dataset
from digitpad.core.not_digits import SCRIBBLES
from digitpad.core.preprocess import stroke_pixels
from digitpad.core.sample_digits import drawn_digit_set


def fields(drawings) -> np.ndarray:
    return np.stack([stroke_pixels(s) for s in drawings])


def test_the_shipped_detector_flags_scribbles_it_never_saw_and_almost_no_digits():
    detector = ood.read_detector()
    zigzags = fields(SCRIBBLES["zigzag"](seed) for seed in range(200))  # held out of its training
    doodles = fields(SCRIBBLES["shapes"](seed) for seed in range(100))
    assert detector.flags(zigzags).mean() >= 0.85
    assert detector.flags(doodles).mean() >= 0.95
    mnist = load_dataset("mnist").test.images[:2000].float().numpy() / 255
    assert detector.flags(mnist).mean() <= 0.005
    assert not detector.flags(fields(s for _, s, _ in list(drawn_digit_set())[::4])).any()


def test_the_threshold_flags_at_most_the_chosen_share_of_each_validation_set():
    torch.manual_seed(0)
    noise = torch.randint(0, 256, (400, 28, 28), dtype=torch.uint8)
    data = ood.DetectorData(noise, noise, val_digits=noise[:200], val_uci=noise[200:])
    members = [ood.detector_net().eval() for _ in ood.MEMBERS]
    detector = ood.assemble(members, data, mnist_share=0.01, uci_share=0.05)
    assert detector.flags(noise[:200].float().numpy() / 255).mean() <= 0.01
    assert detector.flags(noise[200:].float().numpy() / 255).mean() <= 0.05
    assert 0.01 <= detector.threshold <= 0.999


def test_a_detector_file_of_another_format_version_is_refused_in_words(tmp_path):
    path = tmp_path / "old.pt"
    buffer = io.BytesIO()
    torch.save({"format": ood.FORMAT, "format_version": 1, "threshold": 0.7, "about": {},
                "state_dict": ood.detector_net().state_dict()}, buffer)
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="format version 1, this DigitPad reads 2: run scripts/train_not_a_digit.py"):
        ood.read_detector(path)


def test_the_members_run_side_by_side_give_the_mean_of_their_logits():
    torch.manual_seed(1)
    ensemble = ood.ensemble_net().eval()
    x = torch.rand(6, 1, 28, 28)
    each = torch.stack([m(x) for m in ensemble.members]).mean(0).detach()
    with torch.no_grad():
        side_by_side = ensemble(x)
        ensemble.load_state_dict(ood.ensemble_net().state_dict())  # new weights: made again
        reloaded = ensemble(x)
    torch.testing.assert_close(side_by_side, each, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(reloaded, side_by_side)
    torch.testing.assert_close(reloaded, torch.stack([m(x) for m in ensemble.members]).mean(0).detach(),
                               atol=1e-5, rtol=1e-5)
