"""``avin data export``: bars of one timeframe to CSV or Parquet.

Columns ``ts, open, high, low, close, volume``. In CSV ``ts`` is ISO 8601 UTC text
(``2024-03-01T07:00:00Z``); in Parquet it stays a UTC timestamp (the same instant, typed).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from engine.data.atomic import write_atomic
from engine.data.errors import DataError
from engine.data.loading import load_bars, missing_error, resolve_code
from engine.data.store import BarStore
from engine.model import TimeFrame

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def export(
    instrument: str,
    timeframe: TimeFrame,
    output: Path,
    *,
    begin: datetime | None = None,
    end: datetime | None = None,
    store: BarStore | None = None,
) -> int:
    """Write the bars to ``output`` (format by extension); returns the number of rows."""
    output_format(output)
    store = store if store is not None else BarStore()
    code = resolve_code(instrument, store=store)
    bounds = store.bounds(code)
    if bounds is None:
        start = begin or datetime(1970, 1, 1, tzinfo=UTC)
        raise missing_error(code, timeframe, start, end or start + timedelta(days=1), store)
    start, stop = export_range(timeframe, bounds, begin, end)
    if stop <= start:
        raise missing_error(code, timeframe, start, start + timedelta(days=1), store)
    bars = load_bars(code, timeframe, start, stop, store=store)
    return write_bars(bars, output)


def output_format(output: Path) -> str:
    kind = FORMATS.get(output.suffix.lower())
    if kind is None:
        raise DataError(
            f"cannot tell the export format from {output.name!r}",
            "Name the output file *.csv or *.parquet",
        )
    return kind


def export_range(
    timeframe: TimeFrame,
    bounds: tuple[datetime, datetime],
    begin: datetime | None,
    end: datetime | None,
) -> tuple[datetime, datetime]:
    """The range an export covers: ``begin``/``end`` or the stored bounds (first, last bar)."""
    start = begin if begin is not None else timeframe.floor(bounds[0])
    stop = end if end is not None else bounds[1] + timedelta(minutes=1)
    return start, stop


def write_bars(bars: pl.DataFrame, output: Path) -> int:
    """Write ``bars`` to ``output`` (CSV or Parquet by its extension); returns the row count."""
    kind = output_format(output)
    if kind == "csv":
        text = bars.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        write_atomic(output, lambda temp: text.write_csv(temp))
    else:
        write_atomic(output, lambda temp: bars.write_parquet(temp))
    return bars.height
