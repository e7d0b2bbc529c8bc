"""One training epoch: the course's textbook pipeline vs DigitPad's engine, same model, optimizer, device.

Textbook: torchvision MNIST + ToTensor + Normalize + DataLoader(batch 256, shuffle) — the loop of
every introductory notebook. Engine: the whole set as one tensor on the device, shuffled index
slices. Both train the same freshly seeded model with the same optimizer for one epoch, timed
once warm: a few batches first for the textbook loop, a first epoch for the engine (then the median
of three), so that lazy
initialization (first optimizer step, first kernels) counts on neither side. The cold start from
Start is what bench/time_to_99.py counts.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, section  # noqa: E402

from digitpad.core.datasets import cache_root, load_dataset  # noqa: E402
from digitpad.core.models import build_model  # noqa: E402
from digitpad.core.events import EpochEnd
from digitpad.core.trainer import TrainConfig, Trainer, make_optimizer  # noqa: E402

BATCH = 256
WARM_UP_BATCHES = 5


def textbook_epoch(model_name: str, cfg: TrainConfig, root: Path, device: torch.device) -> float:
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = datasets.MNIST(str(root), train=True, download=False, transform=tf)
    loader = DataLoader(train, batch_size=BATCH, shuffle=True)
    torch.manual_seed(0)
    model = build_model(model_name).to(device)
    optimizer = make_optimizer(cfg, model.parameters())
    model.train()

    def train_on(batches) -> None:
        for x, y in batches:
            x, y = x.to(device), y.to(device)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
    train_on(itertools.islice(loader, WARM_UP_BATCHES))
    start = time.perf_counter()
    train_on(loader)
    return time.perf_counter() - start


def engine_epoch(cfg: TrainConfig) -> float:
    """The median of epochs 2-4: the first one warms up; a softmax epoch is short enough that one
    hiccup of the machine would otherwise swing the ratio by a third."""
    seconds = [ev.train_seconds for ev in Trainer(replace(cfg, epochs=4)).run() if isinstance(ev, EpochEnd)]
    if len(seconds) < 4:
        raise RuntimeError("the engine did not finish its epochs")
    return median(seconds[1:])


def torchvision_root() -> Path:
    """A torchvision-shaped folder (MNIST/raw) pointing at DigitPad's verified cache, so both read the same files."""
    load_dataset("mnist")  # fills the cache if needed
    root = Path(tempfile.mkdtemp(prefix="digitpad-bench-"))
    (root / "MNIST").mkdir()
    (root / "MNIST" / "raw").symlink_to(cache_root() / "mnist", target_is_directory=True)
    return root


def main(device_name: str = "auto") -> str:
    from digitpad.core.devices import resolve_device

    device = resolve_device(device_name)
    root = torchvision_root()
    rows = []
    for name in ("softmax", "mlp", "cnn"):
        cfg = TrainConfig.for_model(name, epochs=1, batch_size=BATCH, device=device.type)
        base = textbook_epoch(name, cfg, root, device)
        ours = engine_epoch(cfg)
        rows.append([name, f"{cfg.optimizer} lr {cfg.lr:g}", f"{base:.2f} s", f"{ours:.2f} s", f"{base / ours:.1f}×"])
    return section(f"Epoch time on {device.type}: textbook DataLoader loop vs engine (batch {BATCH})",
                   ["model", "optimizer", "textbook (baseline)", "DigitPad engine", "speed-up"], rows)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "auto")
