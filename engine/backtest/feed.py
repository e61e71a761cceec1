"""Bars for a backtest: reading a CSV/Parquet file, its timeframe, and an instrument for it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
from polars.exceptions import PanicException

from engine.data import read_ahead
from engine.data.bars_file import BAR_COLUMNS, normalize
from engine.data.errors import DataError
from engine.model import Instrument, TimeFrame

__all__ = ["BAR_COLUMNS", "BarsFileError", "normalize", "read_bars_file"]

MAX_DECIMALS = 10


BARS_HINT = (
    "Give a CSV with a header row ts,open,high,low,close,volume (ts like 2024-03-01T07:00:00Z) "
    "or a Parquet file with those columns"
)


class BarsFileError(DataError):
    """A ``--data`` file that cannot be read as bars (what is wrong with it, what it needs)."""


def read_bars_file(path: Path) -> pl.DataFrame:
    """Bars from a CSV or Parquet file with the columns ``ts, open, high, low, close, volume``;
    a file that cannot be read as such raises :class:`BarsFileError` saying why."""
    try:
        return read_ahead.take(path)  # read ahead by `avin backtest`, or read now
    except OSError as exc:
        raise BarsFileError(f"cannot read {path}: {_why(exc)}", BARS_HINT) from exc
    except (pl.exceptions.PolarsError, ValueError, ArithmeticError, PanicException) as exc:
        detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise BarsFileError(f"{path} is not a bars file ({detail})", BARS_HINT) from exc


def _why(exc: OSError) -> str:
    """Why a file cannot be read, in plain words (polars' own text repeats the path)."""
    if isinstance(exc, FileNotFoundError):
        return "there is no such file"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


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
    """The fewest decimals that represent every price of ``frame`` exactly (as printed).

    Worked out on the distinct closes, then checked on the other prices: when they fit too, no
    fewer decimals can fit them all (the closes need that many); when not, every price's
    distinct values decide (twice as fast as the distinct values of all four columns)."""
    decimals = _fewest(frame["close"].cast(pl.Float64).unique().to_numpy())
    others = ("open", "high", "low")
    if all(_fit(frame[c].cast(pl.Float64).to_numpy(), decimals) for c in others):
        return decimals
    column = pl.concat([frame[c].cast(pl.Float64) for c in ("open", "high", "low", "close")])
    return _fewest(column.unique().to_numpy())  # polars' hash unique: faster than numpy's sort


def _fewest(prices: np.ndarray) -> int:
    """The fewest decimals that fit every one of ``prices``."""
    return next((d for d in range(MAX_DECIMALS + 1) if _fit(prices, d)), MAX_DECIMALS)


def _fit(prices: np.ndarray, decimals: int) -> bool:
    """Whether every price has at most ``decimals`` decimals (up to float noise)."""
    scaled = prices * 10**decimals
    return bool(
        np.all(np.abs(scaled - np.round(scaled)) <= 1e-11 * np.maximum(1.0, np.abs(scaled)))
    )


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
