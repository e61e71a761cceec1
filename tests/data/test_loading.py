"""load_bars: ranges, whole frames, instrument resolution, missing data, the file cache."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from engine.data.errors import MissingDataError
from engine.data.loading import clear_cache, load_bars, load_timeframes
from engine.data.store import BarStore
from engine.data.synthetic import minute_bars, trading_days
from engine.data.timeframes import derive
from engine.model import TimeFrame

SBER = "MOEX_SHARE_SBER"


@pytest.fixture
def stored() -> pl.DataFrame:
    clear_cache()
    bars = pl.concat(
        [
            minute_bars(trading_days(2023)[-10:], seed=1),
            minute_bars(trading_days(2024, 10), seed=2),
        ]
    )
    BarStore().merge(SBER, "sim-sber-0001", bars, "test")
    return bars


def test_minutes_for_a_range_across_years(stored: pl.DataFrame) -> None:
    begin = datetime(2023, 12, 29, 12, 0, tzinfo=UTC)
    end = datetime(2024, 1, 2, 8, 0, tzinfo=UTC)
    got = load_bars(SBER, TimeFrame.M1, begin, end)
    expected = stored.filter((pl.col("ts") >= begin) & (pl.col("ts") < end))
    assert got.equals(expected)
    assert got["ts"].dtype == pl.Datetime("ns", "UTC")


def test_any_instrument_spelling_and_timeframe_code(stored: pl.DataFrame) -> None:
    begin, end = date(2024, 1, 1), date(2024, 1, 8)
    reference = load_bars(SBER, "D", begin, end)
    assert reference.height == 5
    for spelling in ("sber", "SBER", "moex_share_sber", "sim-sber-0001", "SIMSBER00001"):
        assert load_bars(spelling, TimeFrame.D, begin, end).equals(reference)


def test_frames_are_whole_and_start_inside_the_range(stored: pl.DataFrame) -> None:
    # a week starting before `begin` is excluded; the week starting inside it is complete
    begin = datetime(2024, 1, 3, tzinfo=UTC)
    end = datetime(2024, 1, 9, 10, tzinfo=UTC)  # the Monday 2024-01-08 week starts inside
    weeks = load_bars(SBER, TimeFrame.W, begin, end)
    assert weeks["ts"].to_list() == [datetime(2024, 1, 8, tzinfo=UTC)]
    full_week = derive(stored, TimeFrame.W).filter(pl.col("ts") == datetime(2024, 1, 8, tzinfo=UTC))
    assert weeks.equals(full_week)


def test_load_timeframes_matches_load_bars(stored: pl.DataFrame) -> None:
    begin, end = date(2024, 1, 1), date(2024, 2, 1)
    every = load_timeframes(SBER, None, begin, end)
    for tf in TimeFrame:
        assert every[tf].equals(load_bars(SBER, tf, begin, end)), tf


def test_missing_data_names_everything(stored: pl.DataFrame) -> None:
    with pytest.raises(MissingDataError) as info:
        load_bars("SBER", TimeFrame.H1, date(2020, 5, 1), date(2020, 6, 1))
    text = str(info.value)
    for part in (
        "1H",
        SBER,
        "2020-05-01",
        "2020-06-01",
        "avin data download SBER --from-year 2020",
    ):
        assert part in text
    with pytest.raises(MissingDataError, match="nothing is stored"):
        load_bars("GAZP", "D", date(2024, 1, 1), date(2024, 2, 1))


def test_a_rewritten_file_is_read_again(stored: pl.DataFrame) -> None:
    begin, end = date(2024, 1, 1), date(2024, 3, 1)
    before = load_bars(SBER, "1M", begin, end).height
    more = minute_bars(trading_days(2024)[20:22], seed=7)
    BarStore().merge(SBER, "sim-sber-0001", more, "test")
    assert load_bars(SBER, "1M", begin, end).height == before + more.height


def test_empty_range_is_a_value_error(stored: pl.DataFrame) -> None:
    when = datetime(2024, 1, 3, tzinfo=UTC)
    with pytest.raises(ValueError, match="empty range"):
        load_bars(SBER, "D", when, when - timedelta(days=1))
