"""Batch aggregation of 1-minute bars into any timeframe (polars).

1M bars are floored to the frame start (D at midnight UTC, W on Monday 00:00 UTC, M on the 1st);
open first, high max, low min, close last, volume sum. ``end`` is the start of the next frame: the
time from which the bar is complete.
"""

from __future__ import annotations

import polars as pl

from engine.model.timeframe import TimeFrame

TS = pl.Datetime("ns", "UTC")


def normalize_bars(bars: pl.DataFrame) -> pl.DataFrame:
    """Bars sorted by ts, with ts as UTC nanoseconds and float prices."""
    ts = pl.col("ts")
    dtype = bars.schema["ts"]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        ts = ts.dt.replace_time_zone("UTC")
    return bars.with_columns(
        ts.cast(TS),
        *(pl.col(c).cast(pl.Float64) for c in ("open", "high", "low", "close")),
        pl.col("volume").cast(pl.Int64),
    ).sort("ts")


def aggregate(bars_1m: pl.DataFrame, timeframe: TimeFrame) -> pl.DataFrame:
    """Bars of ``timeframe`` with columns ts, open, high, low, close, volume, end.

    The aggregation itself is the data layer's (one implementation for the store, the engine's
    history and analysis); ``end`` is added here: the time from which the bar is complete.
    """
    from engine.data.timeframes import derive

    out = derive(normalize_bars(bars_1m), timeframe)
    return out.with_columns(pl.col("ts").dt.offset_by(timeframe.polars_every).alias("end"))
