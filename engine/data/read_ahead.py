"""A bars file read ahead: started as soon as the command line names it, taken when the backtest
needs its bars.

``avin backtest --data FILE`` calls :func:`start` before anything else is imported (even polars:
this module imports neither it nor numpy, the thread does), so the read -- polars' import, then
about 0.25 s of work that does not hold the interpreter's lock for a million one-minute bars --
runs beside the imports of the backtest's own modules. :func:`take` waits for it and gives its
bars, or reads there and then when nothing was started for the file or the file changed since;
whatever the read raised, ``take`` raises in the caller's thread, as a read there would have.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


def _read(path: Path) -> pl.DataFrame:
    from engine.data.bars_file import read_bars

    return read_bars(path)


class _Read(threading.Thread):
    def __init__(self, path: Path, version: tuple[int, ...]) -> None:
        # a daemon: a command that stops early (a misspelled strategy) does not wait for it
        super().__init__(name=f"read-ahead {path.name}", daemon=True)
        self.path = path
        self.version = version
        self.frame: pl.DataFrame | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.frame = _read(self.path)
        except BaseException as exc:  # polars' panics are BaseExceptions: all go to the taker
            self.error = exc


_started: dict[Path, _Read] = {}
_lock = threading.Lock()


def _version(path: Path) -> tuple[int, ...] | None:
    """What tells one state of the file from another (None: it cannot be looked at)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def start(path: Path) -> None:
    """Begin reading ``path`` in a thread (once; a second start of the same file is ignored). A
    file that cannot be looked at is not read ahead: :func:`take` reads it and says why not."""
    version = _version(path)
    if version is None:
        return
    with _lock:
        if path not in _started:
            read = _started[path] = _Read(path, version)
            read.start()


def take(path: Path) -> pl.DataFrame:
    """The bars of ``path``: those read ahead (waited for) when :func:`start` was called for it
    and the file has not changed since, else read now. What the read raised is raised here."""
    with _lock:
        read = _started.pop(path, None)
    if read is None:
        return _read(path)
    read.join()
    if read.version != _version(path):  # replaced or written since (a frame left from before)
        return _read(path)
    if read.error is not None:
        raise read.error
    assert read.frame is not None
    return read.frame


def forget(path: Path) -> None:
    """Drop a read of ``path`` nobody took (it finishes in its thread; its frame is let go)."""
    with _lock:
        _started.pop(path, None)


def data_option(argv: list[str]) -> Path | None:
    """The file of ``--data FILE`` (or ``--data=FILE``) in a backtest's arguments, found before
    they are parsed so that its read starts first; None when there is none. Only a head start:
    the parser decides (the command starts the read again, once, for what it parsed)."""
    found = None  # the last one, as the parser takes it
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--data" and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            found = Path(argv[i + 1])
        elif arg.startswith("--data=") and len(arg) > len("--data="):
            found = Path(arg.removeprefix("--data="))
    return found
