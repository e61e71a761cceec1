"""list and check: summaries, session gaps, integrity problems."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from engine.data.inspection import check, session_gaps, summarize
from engine.data.schema import SCHEMA_VERSION, FileMeta
from engine.data.store import BarStore, write_bars
from engine.data.synthetic import minute_bars, trading_days

SBER = "MOEX_SHARE_SBER"


def test_session_gaps() -> None:
    day = datetime(2024, 3, 1, tzinfo=UTC)
    minutes = [7 * 60 + m for m in range(0, 520) if not (100 <= m < 110)] + [3 * 60]
    minutes = [m for m in minutes if m < 7 * 60 + 515]  # the last 5 minutes are missing
    ts = pl.Series([day.replace(hour=m // 60, minute=m % 60) for m in minutes]).cast(
        pl.Datetime("ns", "UTC")
    )
    gaps = session_gaps(ts, 5)
    assert [(g.day, g.start_minute, g.minutes) for g in gaps] == [
        (date(2024, 3, 1), 7 * 60 + 100, 10),
        (date(2024, 3, 1), 7 * 60 + 515, 5),
    ]
    assert session_gaps(ts, 11) == []
    # today: the minutes after now are not missing yet
    now = day.replace(hour=15, minute=30)
    assert [g.minutes for g in session_gaps(ts, 5, now=now)] == [10]
    assert gaps[0].describe() == "2024-03-01 08:40 UTC, 10 min"


def test_summary_and_a_clean_check() -> None:
    store = BarStore()
    bars = minute_bars(trading_days(2024, 3), seed=1)
    store.merge(SBER, "uid-1", bars, "test")
    summary = summarize(store, SBER)
    assert (summary.rows, summary.gaps, summary.files) == (bars.height, 0, 1)
    assert summary.first == bars["ts"].min() and summary.last == bars["ts"].max()
    result = check(store, SBER)
    assert result.ok and result.rows == bars.height


def test_check_finds_duplicates_invalid_bars_and_misplaced_rows() -> None:
    store = BarStore()
    bars = minute_bars(trading_days(2024, 1), seed=1)
    broken = pl.concat([bars, bars.head(2)]).with_columns(
        pl.when(pl.int_range(pl.len()) == 10)
        .then(pl.col("low") - 1)
        .otherwise("high")
        .alias("high"),
    )
    broken = pl.concat([broken, minute_bars(trading_days(2023, 1), seed=2).head(1)])
    write_bars(store.year_path(SBER, 2024), broken, FileMeta(SBER, "u", ("x",), SCHEMA_VERSION))
    (store.instrument_dir(SBER) / "2022.parquet").write_bytes(b"not parquet")
    result = check(store, SBER)
    text = "\n".join(result.problems)
    assert "unreadable" in text
    assert "4 rows share a timestamp" in text
    assert "not sorted" in text
    assert "outside the file's year" in text
    assert "1 bars high below open/close" in text
    assert not result.ok


def test_list_survives_a_damaged_file() -> None:
    store = BarStore()
    store.merge(SBER, "uid-1", minute_bars(trading_days(2024, 1), seed=1), "test")
    (store.instrument_dir(SBER) / "2023.parquet").write_bytes(b"junk")
    summary = summarize(store, SBER)
    assert summary.rows == 840 and any("UNREADABLE" in s for s in summary.sources)
