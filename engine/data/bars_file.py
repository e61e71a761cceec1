"""A bars file (CSV or Parquet) read into bars (:func:`read_bars`: the columns of
:data:`BAR_COLUMNS`, UTC times, sorted), now or ahead.

Ahead: ``avin backtest --data FILE`` starts reading FILE in a thread as soon as it knows it
(:func:`start`), while the modules the backtest needs are still importing; the feed then takes
the bars (:func:`take`), or reads them there and then when nothing was started for the file.
polars works without holding the interpreter's lock, so the read (about 0.25 s for a million
one-minute bars) runs beside the imports (about 0.3 s) on a machine with a second core. Whatever
the read raises is raised by ``take``, in the caller's thread, as a read there would have raised
it. This module imports only polars: it is imported before the rest of the backtest.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import polars as pl

from engine.data.schema import COLUMNS as BAR_COLUMNS  # the store's one bar schema

FAST_TS_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S")  # read without guessing


def read_bars(path: Path) -> pl.DataFrame:
    """The bars of the file at ``path`` (what is wrong with it raises, as polars or
    :func:`normalize` says it)."""
    return normalize(read_frame(path))


def normalize(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns ts (UTC ns), open/high/low/close (float64), volume (int64), sorted by ts."""
    missing = set(BAR_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(
            f"bars need the columns {', '.join(BAR_COLUMNS)}; missing {sorted(missing)}"
        )
    ts = pl.col("ts")
    dtype = frame.schema["ts"]
    if dtype == pl.String:
        ts = ts.str.to_datetime(time_zone="UTC")
    elif isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        ts = ts.dt.replace_time_zone("UTC")
    elif isinstance(dtype, pl.Date):
        ts = ts.cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    out = frame.select(
        ts.alias("ts"),
        *(pl.col(c).cast(pl.Float64) for c in ("open", "high", "low", "close")),
        pl.col("volume").cast(pl.Int64),
    )
    out = out.with_columns(pl.col("ts").dt.convert_time_zone("UTC").dt.cast_time_unit("ns"))
    return out.sort("ts")


def read_frame(path: Path) -> pl.DataFrame:
    """The file as polars reads it: Parquet by its suffix, anything else as CSV (a CSV's ``ts``
    parsed when it is all in one of :data:`FAST_TS_FORMATS`, else with ``try_parse_dates``)."""
    if path.is_dir():  # (polars would say "no such file")
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
    if path.suffix.lower() in (".parquet", ".pq"):
        return pl.read_parquet(path)
    frame = pl.read_csv(path)
    if "ts" in frame.columns and frame.schema["ts"] == pl.String and frame.height:
        for fmt in FAST_TS_FORMATS:
            try:
                # no cache: bars' times are all different, a cache of them only costs (0.04 s
                # of 0.1 s a million bars); the exact format is several times faster than guessing
                ts = frame["ts"].str.to_datetime(fmt, time_zone="UTC", strict=True, cache=False)
            except pl.exceptions.PolarsError:
                continue
            if ts.null_count() == 0:
                return frame.with_columns(ts)
    return pl.read_csv(path, try_parse_dates=True)


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
            self.frame = read_bars(self.path)
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
        return read_bars(path)
    read.join()
    if read.version != _version(path):  # replaced or written since (a frame left from before)
        return read_bars(path)
    if read.error is not None:
        raise read.error
    assert read.frame is not None
    return read.frame


def forget(path: Path) -> None:
    """Drop a read of ``path`` nobody took (it finishes in its thread; its frame is let go)."""
    with _lock:
        _started.pop(path, None)
