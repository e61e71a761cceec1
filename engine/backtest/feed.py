"""Bars for a backtest: reading a CSV/Parquet file, its timeframe, and an instrument for it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
from polars.exceptions import PanicException

from engine.data import read_ahead
from engine.data.errors import DataError
from engine.model import Instrument, TimeFrame

BAR_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
MAX_DECIMALS = 10


BARS_HINT = (
    "Give a CSV with a header row ts,open,high,low,close,volume (ts like 2024-03-01T07:00:00Z) "
    "or a Parquet file with those columns"
)


class BarsFileError(DataError):
    """A ``--data`` file that cannot be read as bars (what is wrong with it, what it needs)."""


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


def read_bars_file(path: Path) -> pl.DataFrame:
    """Bars from a CSV or Parquet file with the columns ``ts, open, high, low, close, volume``;
    a file that cannot be read as such raises :class:`BarsFileError` saying why."""
    try:
        return normalize(read_ahead.take(path))  # read ahead by `avin backtest`, or read now
    except OSError as exc:
        raise BarsFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (pl.exceptions.PolarsError, ValueError, ArithmeticError, PanicException) as exc:
        detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise BarsFileError(f"{path} is not a bars file ({detail})", BARS_HINT) from exc


def infer_timeframe(frame: pl.DataFrame) -> TimeFrame:
    """The timeframe whose step is nearest the most common spacing of ``ts`` (1M if unknown)."""
    if frame.height < 2:
        return TimeFrame.M1
    diffs = np.diff(frame["ts"].cast(pl.Int64).to_numpy())
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        return TimeFrame.M1
    values, counts = np.unique(diffs, return_counts=True)
    seconds = float(values[int(np.argmax(counts))]) / 1e9
    best, error = TimeFrame.M1, float("inf")
    for tf in TimeFrame:
        step = tf.step
        length = step.total_seconds() if step is not None else 30 * 86400.0
        if tf in (TimeFrame.D,) and 86400 <= seconds < 4 * 86400:
            return tf  # weekends make daily spacing uneven
        if abs(np.log(length / seconds)) < error:
            best, error = tf, abs(float(np.log(length / seconds)))
    return best


def price_decimals(frame: pl.DataFrame) -> int:
    """The fewest decimals that represent every price of ``frame`` exactly (as printed)."""
    column = pl.concat([frame[c].cast(pl.Float64) for c in ("open", "high", "low", "close")])
    prices = column.unique().to_numpy()  # polars' hash unique: far faster than a numpy sort
    for decimals in range(MAX_DECIMALS + 1):
        scaled = prices * 10**decimals
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-11 * np.maximum(1.0, np.abs(scaled))):
            return decimals
    return MAX_DECIMALS


def file_instrument(frame: pl.DataFrame, name: str = "DATA") -> Instrument:
    """An instrument for bars from a file: lot 1, a price step that never rounds its prices."""
    decimals = price_decimals(frame)
    step = Decimal(1).scaleb(-decimals)
    ticker = "".join(ch if ch.isalnum() else "_" for ch in name.upper()) or "DATA"
    return Instrument(
        exchange="FILE",
        category="BARS",
        ticker=ticker,
        uid=f"file-{ticker.lower()}",
        figi="",
        class_code="",
        lot=1,
        step=step,
        name=name,
    )
