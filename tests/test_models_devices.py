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


def test_training_threads_leave_the_cores_other_programs_use():
    """Beside a busy program a full-size OpenMP team runs at the pace of the thread that shares a core
    (5-10x slower on 2 cores): the trainer keeps one thread per core that others leave free."""
    from digitpad.core.devices import CPU_THREADS, CpuShare

    clock, busy, own = [0.0], [0.0], [0.0]
    share = CpuShare(cores=4, interval_s=1.0, read=lambda: (busy[0], own[0]), clock=lambda: clock[0])
    try:
        def second(others: float, ours: float) -> int:
            clock[0] += 1.0
            busy[0] += others + ours
            own[0] += ours
            return share.adjust()
        assert second(0.1, 3.9) == 4 and torch.get_num_threads() == 4  # idle machine: all cores
        assert second(1.0, 3.0) == 3 and torch.get_num_threads() == 3  # one busy program: one core fewer
        assert second(2.7, 1.3) == 1  # three busy cores (rounded): one thread, never zero
        assert second(9.0, 1.0) == 1
        clock[0] += 0.5
        assert share.adjust() == 1  # within the interval nothing is re-read
        assert second(0.0, 4.0) == 4  # the others stopped: all cores again
    finally:
        torch.set_num_threads(CPU_THREADS)


def test_the_first_thread_choice_comes_within_a_few_batches():
    """A run that starts beside a busy program drops its extra thread after 50 ms, not a quarter second."""
    from digitpad.core.devices import CPU_THREADS, CpuShare

    clock, busy, own = [0.0], [0.0], [0.0]
    share = CpuShare(cores=2, read=lambda: (busy[0], own[0]), clock=lambda: clock[0])
    try:
        clock[0], busy[0], own[0] = 0.06, 0.12, 0.06  # one core busy elsewhere for those 60 ms
        assert share.adjust() == 1
        clock[0], busy[0], own[0] = 0.2, 0.2, 0.2  # the other program stopped: not re-read before 0.25 s
        assert share.adjust() == 1
    finally:
        torch.set_num_threads(CPU_THREADS)
