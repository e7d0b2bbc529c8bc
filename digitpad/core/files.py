"""Reading the user's files safely: one check of what a path is, made before anything reads it.

Every path DigitPad reads (images, stroke files, checkpoints, personal sets, run records, IDX and .gz
files) goes through `open_regular` or `read_regular`. A named pipe (FIFO) would block the reader
forever, a device such as /dev/zero never ends, a folder cannot be read as a file: each is refused up
front with a message naming what the path is. The file is opened without blocking and checked on the
open descriptor, so a path swapped for a FIFO between the check and the read cannot slip through.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

KINDS = (
    (stat.S_ISREG, "a regular file"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotAFileError(OSError):
    """The path exists but is not a regular file; `strerror` says what it is ("a named pipe (FIFO), …")."""


class TooLargeError(OSError):
    """A file is larger than anything of its kind can be; `strerror` says the limit."""


def kind_of(mode: int) -> str:
    """What a file mode says the path is, in words ("a folder", "a named pipe (FIFO)", …)."""
    return next((name for test, name in KINDS if test(mode)), "not a regular file")  # (a door, a whiteout…)


def _refuse(path: str | os.PathLike, mode: int) -> NotAFileError:
    code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
    return NotAFileError(code, f"{kind_of(mode)}, not a regular file", str(path))


def open_regular(path: str | os.PathLike, follow_links: bool = True) -> BinaryIO:
    """Open a regular file for reading (binary), refusing anything else without blocking on it.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; the check is then
    made on the open descriptor (no race with the path changing), and blocking mode restored. With
    follow_links=False a symbolic link is refused too (O_NOFOLLOW: a link swapped in is not followed).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags | (0 if follow_links else getattr(os, "O_NOFOLLOW", 0)))
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:
            raise NotAFileError(errno.ELOOP, "a symbolic link, not followed: open the file it points to",
                                str(path)) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(path, mode)
        if hasattr(os, "O_NONBLOCK"):  # (Windows has neither FIFOs nor this flag)
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, limit: int, what: str = "a file", follow_links: bool = True) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; TooLargeError past it (never more is read).
    `what` names the kind of file in that message ("a stroke file")."""
    with open_regular(path, follow_links) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(errno.EFBIG, f"larger than {describe_size(limit)}, too large for {what}", str(path))
    return data


def describe_size(n: int) -> str:
    """A byte count as a person says it: 4 MB, 256 MB, 47 MB."""
    for unit, size in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def file_problem(exc: OSError) -> str:
    """The reason an OSError gives, without the path (callers name the file themselves)."""
    return exc.strerror or str(exc)


def reason(exc: BaseException) -> str:
    """An exception's first line for a one-line message, named by its type where the text alone says
    nothing (a KeyError's "101", an empty EOFError)."""
    lines = str(exc).strip().splitlines()
    text = lines[0][:200] if lines else ""
    return text if any(c.isalpha() for c in text) else f"{type(exc).__name__} {text}".strip()
