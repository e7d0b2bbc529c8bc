"""The pretrained models that ship in the package reach the spec's accuracy and recognise drawings."""

import pytest

from digitpad.core.checkpoints import ASSETS_DIR, load_checkpoint
from digitpad.core.datasets import load_dataset
from digitpad.core.evaluation import predict_all
from digitpad.core.inference import classify_strokes
from digitpad.core.sample_digits import drawn_digit_set
from digitpad.core.trainer import split_on_device

import torch

SPEC = {"mnist-softmax": 0.92, "mnist-mlp": 0.98, "mnist-cnn": 0.992, "fashion-mnist-cnn": 0.91}


@pytest.mark.parametrize("name,minimum", SPEC.items())
def test_shipped_model_reaches_the_spec_accuracy(name, minimum):
    trained = load_checkpoint(ASSETS_DIR / f"{name}.pt")
    data = load_dataset(trained.meta.dataset)
    pixels, labels = split_on_device(data.test, torch.device("cpu"))
    preds, _ = predict_all(trained.model, pixels, trained.meta.mean, trained.meta.std)
    accuracy = (preds == labels).double().mean().item()
    assert accuracy >= minimum
    assert accuracy == pytest.approx(trained.meta.test_accuracy, abs=1e-6)  # the recorded figure is honest
    assert (ASSETS_DIR / f"{name}.pt").stat().st_size < 5_000_000


def test_the_shipped_cnn_recognises_drawn_digits(shipped_cnn):
    drawings = list(drawn_digit_set())
    correct = sum(1 for label, strokes, _ in drawings
                  if (p := classify_strokes(shipped_cnn, strokes)) is not None and p.label == label)
    assert correct / len(drawings) >= 0.99
