"""A bars file (CSV or Parquet) read into bars (:func:`read_bars`: the columns of
:data:`BAR_COLUMNS`, UTC times, sorted). ``avin backtest --data`` reads it ahead, in a thread
(engine/data/read_ahead.py): this module imports only polars and the bar schema.
"""

from __future__ import annotations

import errno
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
    if out["ts"].null_count() or not out["ts"].is_sorted():  # (most files are in order)
        return out.sort("ts")
    return out.with_columns(pl.col("ts").set_sorted())


def read_frame(path: Path) -> pl.DataFrame:
    """The file as polars reads it: Parquet by its suffix, anything else as CSV (a CSV's ``ts``
    parsed when it is all in one of :data:`FAST_TS_FORMATS`, else with ``try_parse_dates``)."""
    if path.is_dir():  # (polars would say "no such file")
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
    if path.suffix.lower() in (".parquet", ".pq"):
        return pl.read_parquet(path)
    for fmt in FAST_TS_FORMATS:
        # the exact format is several times faster than guessing; no cache (bars' times are all
        # different: a cache of them only costs); the streaming engine parses the times of
        # several chunks at once, as they are read
        ts = pl.col("ts").str.to_datetime(
            fmt, time_unit="ns", time_zone="UTC", strict=True, cache=False
        )
        try:
            scan = pl.scan_csv(path, glob=False)  # (a name with [ or * is a name)
            frame = scan.with_columns(ts).collect(engine="streaming")
        except pl.exceptions.PolarsError:  # another format, no ts, no CSV: as polars says below
            continue
        if frame.height and frame["ts"].null_count() == 0:
            return frame
    return pl.read_csv(path, try_parse_dates=True)
