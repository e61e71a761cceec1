"""Atomic file writes: write a temporary file beside the target, flush it to disk, then rename.

A crash at any point leaves either the old file or the new one, never a half-written target; the
worst left-over is a ``.tmp-*`` file, which readers ignore and :func:`remove_stale_temps` deletes.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

TEMP_MARK = ".tmp-"


def temp_path(target: Path) -> Path:
    return target.with_name(f"{target.name}{TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def is_temp(path: Path) -> bool:
    return TEMP_MARK in path.name


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


WINDOWS_REPLACE_TRIES = 20  # x 50 ms: how long a reader (or a virus scanner) may hold the target


def replace_file(source: Path, target: Path) -> None:
    """``os.replace``; on Windows, where a file open in another process cannot be replaced
    (PermissionError), tried again for about a second before the error is raised."""
    if sys.platform != "win32":
        os.replace(source, target)
        return
    for attempt in range(WINDOWS_REPLACE_TRIES):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if attempt == WINDOWS_REPLACE_TRIES - 1:
                raise
            time.sleep(0.05)


def write_atomic(target: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temp)`` to produce the content, then move it over ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(target)
    try:
        write(temp)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        replace_file(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_dir(target.parent)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    def write(temp: Path) -> None:
        temp.write_bytes(data)

    write_atomic(target, write)


def write_text_atomic(target: Path, text: str) -> None:
    def write(temp: Path) -> None:
        temp.write_text(text, encoding="utf-8")

    write_atomic(target, write)


def remove_stale_temps(directory: Path) -> int:
    """Delete temporary files left by a crashed writer in ``directory``; returns how many."""
    removed = 0
    if directory.is_dir():
        for path in directory.iterdir():
            if is_temp(path):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
    return removed


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``directory`` (a read-merge-write is not interleaved)."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks, single writer assumed
        yield
        return
    with open(directory / ".lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
