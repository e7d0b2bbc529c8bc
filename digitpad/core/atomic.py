"""Atomic file writes: a crash or Ctrl+C mid-write leaves the old file intact."""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from digitpad.core.files import kind_of


@contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a temp file next to `path`; rename it over `path` only once it is fully written and synced."""
    target = Path(path)
    if target.exists() and not target.is_file():  # a rename would replace a device or a FIFO
        raise OSError(errno.EINVAL, f"{target} is {kind_of(target.stat().st_mode)}, not a regular file")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp makes the file private (0600); give it the old file's mode, or the usual 0644.
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def missing_folder(path: str | os.PathLike) -> Path | None:
    """The outermost folder on the way to `path` that does not exist yet (the writer creates it), or None."""
    folder, missing = Path(path).absolute().parent, None
    while not folder.exists() and folder != folder.parent:
        folder, missing = folder.parent, folder
    return missing


def _same_place(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return a.resolve() == b.resolve()


def check_writable(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> Path | None:
    """Raise OSError saying why `atomic_writer(path)` would fail or do harm, before minutes of work depend on
    it; return the folder the writer will create (None when its folder exists), so the caller can say so.

    Refused: a folder, a device, FIFO or other non-regular file (the rename would replace it), one of the
    command's own `inputs` (writing the result over the model it was made from), a path under a file, and
    a folder that will not take a new file: this is tried for real, as permission bits do not tell (root,
    read-only mounts, ACLs).
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"{target} is a folder; name a file in it, e.g. {target / 'model.pt'}")
    if target.exists() and not target.is_file():
        raise OSError(errno.EINVAL, f"{target} is {kind_of(target.stat().st_mode)}, not a regular file; "
                                    "name a new file")
    for given in inputs:
        if _same_place(target, Path(given)):
            raise OSError(errno.EEXIST, f"{target} is also an input of this command; writing there would destroy "
                                        "it — name another file")
    missing = missing_folder(target)
    folder = (missing or target.absolute()).parent
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{folder} is a file, not a folder, so {target} cannot be created")
    _probe(folder, target.name)
    return missing


def check_writable_folder(path: str | os.PathLike) -> Path | None:
    """Like `check_writable`, for a folder that files will be written into: it must be a folder (or not
    exist yet, then the returned outermost missing folder is created) and take a new file."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{target} is {kind_of(target.stat().st_mode)}, not a folder")
    missing = None if target.exists() else (missing_folder(target / "x") or target)
    folder = missing.parent if missing else target
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{folder} is a file, not a folder, so {target} cannot be created")
    _probe(folder, "figure")
    return missing


def _probe(folder: Path, name: str) -> None:
    """Create and remove a file in `folder`: the one sure test that a file can be written there."""
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot create a file in {folder} ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_writer(path) as fh:
        fh.write(data)


def rescue_paths(wanted: Path) -> list[Path]:
    """Where a result goes when `wanted` cannot be written at the end of the work: beside it under a new
    name, then the user's cache folder. Losing minutes of training to a bad path is not an option."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"{wanted.stem or 'model'}-{stamp}{wanted.suffix or '.pt'}"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "digitpad" / "unsaved-models"
    return [wanted.parent / name, cache / name]
