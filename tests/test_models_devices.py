import pytest
import torch

from digitpad.core.devices import DeviceError, available_devices, resolve_device
from digitpad.core.models import MODELS, build_model, linear_weight_templates, parameter_count


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_maps_a_batch_of_digits_to_ten_logits(name):
    model = build_model(name)
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_parameter_counts_match_the_architectures():
    assert parameter_count(build_model("softmax")) == 784 * 10 + 10
    sizes = [784, 512, 256, 128, 64, 10]
    assert parameter_count(build_model("mlp")) == sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def test_softmax_regression_initialization_follows_the_course():
    torch.manual_seed(0)
    lin = build_model("softmax")[1]
    assert torch.all(lin.bias == 0)
    assert 0.008 < float(lin.weight.detach().std()) < 0.012


def test_weight_templates_exist_only_for_the_linear_model():
    assert linear_weight_templates(build_model("softmax")).shape == (10, 28, 28)
    assert linear_weight_templates(build_model("cnn")) is None


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    assert available_devices()[-1] == "cpu"
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="not available"):
            resolve_device("cuda")
