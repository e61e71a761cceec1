"""Synthetic T-Invest history archives: realistic 1-minute bars for tests and benchmarks.

A trading day has 840 one-minute bars in three MOEX sessions (UTC): morning 03:50-04:25, main
07:00-15:40 and evening 16:05-20:50. Prices follow a random walk on a 0.01 grid; volumes are
positive lots. The archive layout is the T-Invest one: a ZIP with one ``<uid>_<YYYYMMDD>.csv`` per
trading day, no header, ``;`` separated ``uid;time;open;close;high;low;volume;``.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

SESSIONS_UTC: tuple[tuple[int, int], ...] = (
    (3 * 60 + 50, 4 * 60 + 25),
    (7 * 60, 15 * 60 + 40),
    (16 * 60 + 5, 20 * 60 + 50),
)
"""Session windows as (start minute, end minute) of the UTC day; 840 minutes in all."""

_DAY_MINUTES = np.concatenate([np.arange(a, b) for a, b in SESSIONS_UTC]).astype(np.int64)
BARS_PER_DAY = len(_DAY_MINUTES)


def trading_days(year: int, count: int | None = None) -> list[date]:
    """Weekdays of ``year`` (the first ``count`` of them when given)."""
    day = date(year, 1, 1)
    days: list[date] = []
    while day.year == year and (count is None or len(days) < count):
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def minute_bars(
    days: list[date], *, seed: int = 0, start_price: float = 100.0, bars_per_day: int | None = None
) -> pl.DataFrame:
    """Valid 1-minute bars (store schema) for ``days``, ``bars_per_day`` minutes of each."""
    minutes = _DAY_MINUTES if bars_per_day is None else _DAY_MINUTES[:bars_per_day]
    rng = np.random.default_rng(seed)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    day_ns = (
        np.array(
            [
                int((datetime(d.year, d.month, d.day, tzinfo=UTC) - epoch).total_seconds())
                for d in days
            ],
            dtype=np.int64,
        )
        * 1_000_000_000
    )
    ts = (day_ns[:, None] + minutes[None, :] * 60_000_000_000).ravel()
    n = len(ts)
    ticks = np.cumsum(rng.integers(-3, 4, size=n)) + int(start_price * 100)
    ticks = np.maximum(ticks, 100)
    close = ticks
    open_ = np.concatenate([[ticks[0]], ticks[:-1]])
    high = np.maximum(open_, close) + rng.integers(0, 3, size=n)
    low = np.maximum(np.minimum(open_, close) - rng.integers(0, 3, size=n), 1)
    return pl.DataFrame(
        {
            "ts": pl.Series(ts, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")),
            "open": open_ / 100.0,
            "high": high / 100.0,
            "low": low / 100.0,
            "close": close / 100.0,
            "volume": rng.integers(1, 5000, size=n).astype(np.int64),
        }
    )


def archive_csv(uid: str, bars: pl.DataFrame, *, trailing: bool = True) -> bytes:
    """The archive CSV text of ``bars``: ``uid;time;open;close;high;low;volume[;]``."""
    frame = bars.select(
        pl.lit(uid).alias("uid"),
        pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("time"),
        "open",
        "close",
        "high",
        "low",
        "volume",
    )
    if trailing:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("_"))
    return frame.write_csv(include_header=False, separator=";", quote_style="never").encode()


def archive_zip(uid: str, bars: pl.DataFrame, *, compresslevel: int = 1) -> bytes:
    """A T-Invest history ZIP: one ``<uid>_<YYYYMMDD>.csv`` member per day of ``bars``."""
    bars = bars.sort("ts")
    text = archive_csv(uid, bars)
    lines = text.split(b"\n")
    days = bars.group_by(pl.col("ts").dt.date().alias("day"), maintain_order=True).len()
    buffer = io.BytesIO()
    with zipfile.ZipFile(
        buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
    ) as archive:
        start = 0
        for day, count in days.iter_rows():
            assert isinstance(day, date)
            body = b"\n".join(lines[start : start + count]) + b"\n"
            archive.writestr(f"{uid}_{day:%Y%m%d}.csv", body)
            start += count
    return buffer.getvalue()


def year_archive(uid: str, year: int, *, seed: int = 0, days: int | None = None) -> bytes:
    """A whole year's archive (weekdays, 840 bars a day)."""
    return archive_zip(uid, minute_bars(trading_days(year, days), seed=seed))
