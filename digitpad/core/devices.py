"""Which device to train on: the accelerator when there is one, else the CPU."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

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


CpuTimes = tuple[float, float]  # (CPU-seconds used by every program, by this process), since boot


def read_cpu_times() -> CpuTimes | None:
    """Busy CPU time of the whole machine and of this process, from /proc; None where there is no /proc.

    Steal time counts as busy: on a VM it is a core another guest holds.
    """
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq + steal) / tick, (int(own[11]) + int(own[12])) / tick


class CpuShare:
    """Train on the cores other programs leave free: torch's intra-op threads, re-chosen four times a second.

    An OpenMP team waits at the end of every parallel region for its slowest thread, so a team as
    large as the machine, beside one busy program, runs at the pace of the thread that shares a
    core: an MLP epoch took 5-6x longer on 2 cores. One thread fewer per core in use elsewhere
    keeps each team thread on a core of its own (`bench/busy_load.py`). Call `adjust()` between
    batches on the training thread: OpenMP's thread count belongs to the thread that sets it.
    Without /proc (macOS, Windows) it keeps all cores.

    OpenMP keeps its default wait (threads spin briefly between parallel regions): on an idle machine
    that is the fastest, and the team never spins on a core another program holds, because it only
    has as many threads as there are free cores. Passive wait (sleep at once) was tried: it held up
    beside a busy program but made idle training 1.7-2.2x slower (docs/BENCHMARKS.md).
    """

    def __init__(self, cores: int = CPU_THREADS, interval_s: float = 0.25, first_s: float = 0.05,
                 read: Callable[[], CpuTimes | None] = read_cpu_times,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cores, self.interval_s, self._read, self._clock = cores, interval_s, read, clock
        self.threads = cores
        torch.set_num_threads(cores)
        self._last = (clock(), read())
        # The first choice comes sooner: beside a busy program, a quarter second with a thread too many
        # runs at a fifth of the speed (/proc/stat counts in 10 ms ticks: 50 ms tells a busy core from an idle one).
        self._wait_s = first_s

    def adjust(self) -> int:
        """Once per interval: threads = cores minus the cores other programs kept busy meanwhile."""
        now = self._clock()
        then, before = self._last
        if now - then < self._wait_s:
            return self.threads
        times = self._read()
        self._last, self._wait_s = (now, times), self.interval_s
        if times is None or before is None:
            return self.threads
        others = ((times[0] - before[0]) - (times[1] - before[1])) / (now - then)
        wanted = min(self.cores, max(1, self.cores - int(others + 0.5)))
        if wanted != self.threads:
            self.threads = wanted
            torch.set_num_threads(wanted)
        return self.threads


def train_on_all_cores() -> None:
    """Give the calling thread torch's full intra-op pool (OpenMP's thread count is per thread)."""
    torch.set_num_threads(CPU_THREADS)


def keep_this_thread_serial() -> None:
    """Run this thread's torch work on itself alone, for a GUI thread that classifies one image at a time.

    Every thread that runs a parallel region gets its own OpenMP team. Once libgomp manages more
    threads than there are CPUs, it stops spin-waiting between parallel regions and sleeps instead,
    and training in a worker thread ran 30-60 % slower on 2 cores. With no team on the GUI thread the
    worker keeps the machine's cores to itself (`bench/gui_responsiveness.py`).
    """
    torch.set_num_threads(1)


BACKGROUND_NICENESS = 5  # how much lower than the GUI thread a background job's thread runs


def yield_to_the_window(niceness: int = BACKGROUND_NICENESS) -> None:
    """Run the calling thread at a lower priority than the rest of the process (Linux: per-thread niceness).

    For work that may wait, beside a window that may not: on a busy machine the scheduler then hands a
    free core to the GUI thread first. Where threads cannot be reniced it does nothing.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError):
        pass


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The dtype to autocast the training forward pass to, or None for float32: bfloat16 only where the device
    computes it natively (emulated, on a CPU without AVX-512 BF16, it would be slower than float32)."""
    if precision != "bfloat16":
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu":
        try:  # a private check of oneDNN's: an older torch without it runs float32
            native = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        except (AttributeError, RuntimeError):
            native = False
        return torch.bfloat16 if native else None
    return None


def describe_precision(precision: str, dtype: torch.dtype | None) -> str:
    """What the run's arithmetic is, for the status line: nothing for plain float32."""
    if precision == "float32":
        return ""
    return ", bfloat16 mixed precision" if dtype is not None else ", float32 (no native bfloat16 on this device)"


def describe(device: torch.device) -> str:
    """A human name for the status line, e.g. 'cuda (NVIDIA H100)' or 'cpu (2 threads)'."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type
