"""Local files a user names (spec, config, baseline, ignore file): regular files, bounded reads.

A device (``/dev/zero``), a FIFO, a socket or a folder is refused without being read (a FIFO is
opened without blocking, so it cannot hang the command), and so is a file over the cap its
caller gives; at most ``cap`` bytes are ever read. Each problem is one ``UsageError`` sentence
naming the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from middlebrick.errors import UsageError

__all__ = ["check_regular", "check_writable", "read_bounded"]


def check_regular(path: Path, *, cap: int, what: str) -> None:
    """A ``UsageError`` unless ``path`` is a readable regular file of at most ``cap`` bytes."""
    os.close(_open(path, cap=cap, what=what))


def read_bounded(path: Path, *, cap: int, what: str) -> bytes:
    """The bytes of the regular file ``path`` (at most ``cap``); a ``UsageError`` otherwise."""
    fd = _open(path, cap=cap, what=what)
    try:
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(cap + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the {what} {path}: {_reason(exc)}") from None
    finally:
        os.close(fd)
    if len(data) > cap:  # it grew since it was measured
        raise UsageError(_too_large(path, what, cap))
    return data


def check_writable(path: Path) -> None:
    """A ``UsageError`` unless a report can be written to ``path`` (checked before a scan)."""
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise UsageError(f"cannot write {path}: permission denied")


def _open(path: Path, *, cap: int, what: str) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UsageError(f"cannot read the {what} {path}: {_reason(exc)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise UsageError(f"the {what} {path} is {kind}; give a file")
        if info.st_size > cap:
            raise UsageError(_too_large(path, what, cap))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _too_large(path: Path, what: str, cap: int) -> str:
    return f"the {what} {path} is larger than {cap / 1_048_576:g} MiB; is it the right file?"


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()
