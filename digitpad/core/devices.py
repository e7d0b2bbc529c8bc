"""Which device to train on: the accelerator when there is one, else the CPU."""

from __future__ import annotations

import torch

from digitpad.core.names import check_device_name

# torch's own choice, read before anything here changes it: one per physical core, or OMP_NUM_THREADS.
CPU_THREADS = torch.get_num_threads()


class DeviceError(ValueError):
    """A device was named that this machine does not have."""


def _available(kind: str) -> bool:
    if kind == "cpu":
        return True
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return False


def available_devices() -> list[str]:
    """The device kinds usable here, CPU always last."""
    return [k for k in ("cuda", "mps") if _available(k)] + ["cpu"]


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` picks the current accelerator (CUDA, MPS, …) or the CPU; a named one must exist."""
    if name == "auto":
        accel = getattr(torch, "accelerator", None)
        if accel is not None and accel.is_available():
            return torch.device(accel.current_accelerator().type)
        return torch.device(available_devices()[0])
    try:
        check_device_name(name)
    except ValueError as exc:
        raise DeviceError(str(exc)) from None
    kind, _, index = name.partition(":")
    if not _available(kind):
        raise DeviceError(f"device {name!r} is not available on this machine; "
                          f"available: {', '.join(available_devices())} (or use 'auto')")
    if kind == "cuda" and index and int(index) >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise DeviceError(f"device {name!r} is not available: this machine has {count} CUDA device"
                          f"{'s' if count != 1 else ''} (cuda:0…cuda:{count - 1})")
    if kind == "mps" and index not in ("", "0"):
        raise DeviceError(f"device {name!r} is not available: there is one MPS device (mps or mps:0)")
    return torch.device(name)


def train_on_all_cores() -> None:
    """Give the calling thread torch's full intra-op pool (OpenMP's thread count is per thread).

    All cores even beside busy programs: with OpenMP's passive wait (set in `digitpad/__init__.py`)
    training slowed less that way than with one thread fewer per busy core, which also gave up the
    cores' fair share when many programs ran (`bench/busy_load.py`, docs/BENCHMARKS.md).
    """
    torch.set_num_threads(CPU_THREADS)


def keep_this_thread_serial() -> None:
    """Run this thread's torch work on itself alone, for a GUI thread that classifies one image at a time.

    Every thread that runs a parallel region gets its own OpenMP team. Once libgomp manages more
    threads than there are CPUs, it stops spin-waiting between parallel regions and sleeps instead,
    and training in a worker thread ran 30-60 % slower on 2 cores. With no team on the GUI thread the
    worker keeps the machine's cores to itself (`bench/gui_responsiveness.py`).
    """
    torch.set_num_threads(1)


def describe(device: torch.device) -> str:
    """A human name for the status line, e.g. 'cuda (NVIDIA H100)' or 'cpu (2 threads)'."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type
