"""Bar generators shared by the analysis tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import strategies as st

from engine.model.bar import Bar

T0 = datetime(2024, 1, 1, 7, 0, tzinfo=UTC)


def frame(rows: list[tuple[float, float, float, float]], step_min: int = 1) -> pl.DataFrame:
    """Bars from (open, high, low, close) rows, one every ``step_min`` minutes from T0."""
    n = len(rows)
    return pl.DataFrame(
        {
            "ts": pl.Series(
                [T0 + timedelta(minutes=i * step_min) for i in range(n)],
                dtype=pl.Datetime("ns", "UTC"),
            ),
            "open": [float(r[0]) for r in rows],
            "high": [float(r[1]) for r in rows],
            "low": [float(r[2]) for r in rows],
            "close": [float(r[3]) for r in rows],
            "volume": pl.Series([10 + i for i in range(n)], dtype=pl.Int64),
        }
    )


def bars_of(df: pl.DataFrame) -> list[Bar]:
    return [Bar(*row) for row in df.iter_rows()]


@st.composite
def ohlc_rows(draw: st.DrawFn, min_size: int = 1, max_size: int = 40) -> list[tuple]:
    """Small integer prices so that equal highs/lows and doji bars are frequent."""
    n = draw(st.integers(min_size, max_size))
    rows = []
    for _ in range(n):
        a = draw(st.integers(90, 110))
        b = draw(st.integers(90, 110))
        up = draw(st.integers(0, 3))
        down = draw(st.integers(0, 3))
        rows.append((a, max(a, b) + up, min(a, b) - down, b))
    return rows


@st.composite
def minute_frames(draw: st.DrawFn, max_size: int = 120) -> pl.DataFrame:
    """1-minute bars with random gaps (up to 90 minutes) and small integer prices."""
    rows = draw(ohlc_rows(1, max_size))
    gaps = draw(st.lists(st.integers(1, 90), min_size=len(rows), max_size=len(rows)))
    df = frame(rows)
    mins = []
    t = 0
    for g in gaps:
        mins.append(t)
        t += g
    return df.with_columns(
        pl.Series("ts", [T0 + timedelta(minutes=m) for m in mins], dtype=pl.Datetime("ns", "UTC"))
    )
