"""The deterministic bar generator: determinism, continuity, OHLC validity, calendar, shape."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.broker.sim import (
    SIM_INSTRUMENTS,
    SIM_PROFILES,
    daily_anchor,
    generate_bar_list,
    generate_bars,
    generate_day,
)
from engine.broker.sim import generator as gen
from engine.broker.sim.generator import GAP_VOL
from tests.broker.simdata import by_ticker


def _clear_caches() -> None:
    gen.generate_day.cache_clear()
    gen._daily_walk.cache_clear()


def _week(seed: int = 42) -> pl.DataFrame:
    begin = datetime(2026, 11, 16, tzinfo=UTC)  # Monday
    return generate_bars(by_ticker("SBER"), begin, begin + timedelta(days=7), seed=seed)


def test_catalog_has_the_six_shares_with_lots_and_steps() -> None:
    got = {i.ticker: (i.lot, i.step, i.class_code, i.code) for i in SIM_INSTRUMENTS}
    assert got == {
        "SBER": (10, Decimal("0.01"), "TQBR", "MOEX_SHARE_SBER"),
        "GAZP": (10, Decimal("0.01"), "TQBR", "MOEX_SHARE_GAZP"),
        "LKOH": (1, Decimal("0.5"), "TQBR", "MOEX_SHARE_LKOH"),
        "ROSN": (1, Decimal("0.05"), "TQBR", "MOEX_SHARE_ROSN"),
        "GMKN": (10, Decimal("0.02"), "TQBR", "MOEX_SHARE_GMKN"),
        "YDEX": (1, Decimal("0.5"), "TQBR", "MOEX_SHARE_YDEX"),
    }
    assert all(i.uid.startswith("sim-") and i.figi.startswith("SIM") for i in SIM_INSTRUMENTS)
    assert len({i.uid for i in SIM_INSTRUMENTS}) == len({i.figi for i in SIM_INSTRUMENTS}) == 6


def test_same_seed_same_bars_different_seed_different_bars() -> None:
    first = _week(42)
    _clear_caches()
    assert _week(42).equals(first)
    assert not _week(43).equals(first)


def test_schema_is_the_parquet_store_schema() -> None:
    frame = _week()
    assert frame.schema == pl.Schema(gen.SCHEMA)
    assert list(frame.schema.items()) == [
        ("ts", pl.Datetime("ns", "UTC")),
        ("open", pl.Float64()),
        ("high", pl.Float64()),
        ("low", pl.Float64()),
        ("close", pl.Float64()),
        ("volume", pl.Int64()),
    ]


def test_weekends_closed_and_session_hours() -> None:
    frame = _week()
    assert frame.height == 5 * 520
    ts = frame["ts"]
    assert ts.dt.weekday().max() == 5  # polars: Monday=1 .. Sunday=7
    per_day = frame.group_by(pl.col("ts").dt.date().alias("day")).agg(
        pl.col("ts").min().alias("first"), pl.col("ts").max().alias("last"), pl.len()
    )
    for first, last, count in per_day.select("first", "last", "len").iter_rows():
        assert (first.hour, first.minute) == (7, 0)
        assert (last.hour, last.minute) == (15, 39)
        assert count == 520
    assert ts.is_sorted() and ts.n_unique() == frame.height
    saturday = date(2026, 11, 21)
    assert len(generate_day(42, by_ticker("SBER"), saturday)) == 0


def test_range_is_half_open_and_bar_list_matches_frame() -> None:
    sber = by_ticker("SBER")
    begin = datetime(2026, 11, 24, 7, 3, tzinfo=UTC)
    end = datetime(2026, 11, 24, 7, 8, tzinfo=UTC)
    frame = generate_bars(sber, begin, end)
    bars = generate_bar_list(sber, begin, end)
    assert [b.ts for b in bars] == [begin + timedelta(minutes=i) for i in range(5)]
    assert frame["close"].to_list() == [b.close for b in bars]
    assert frame["volume"].to_list() == [b.volume for b in bars]
    assert generate_bars(sber, end, begin).height == 0


def test_a_day_generated_alone_equals_the_day_generated_after_its_neighbours() -> None:
    ydex = by_ticker("YDEX")
    days = [date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 23)]
    together = [generate_day(5, ydex, d) for d in days]
    _clear_caches()
    alone = generate_day(5, ydex, days[2])
    assert np.array_equal(alone.close, together[2].close)
    assert np.array_equal(alone.volume, together[2].volume)


def test_days_are_continuous_open_follows_the_previous_close() -> None:
    for instrument in SIM_INSTRUMENTS:
        vol = SIM_PROFILES[instrument.ticker].daily_vol
        friday = generate_day(3, instrument, date(2026, 11, 20))
        monday = generate_day(3, instrument, date(2026, 11, 23))
        exact_open, exact_close = daily_anchor(3, instrument, date(2026, 11, 23))
        _, friday_close = daily_anchor(3, instrument, date(2026, 11, 20))
        step = float(instrument.step)
        # the last close of a day is its anchor close; the next open is that close plus a gap
        assert abs(friday.close[-1] - friday_close) <= step / 2 + 1e-9
        assert abs(monday.open[0] - exact_open) <= step / 2 + 1e-9
        assert abs(monday.close[-1] - exact_close) <= step / 2 + 1e-9
        gap = math.log(exact_open / friday_close)
        assert abs(gap) < 5 * GAP_VOL * vol
        # and within each day every minute opens at the previous minute's close
        assert np.array_equal(monday.open[1:], monday.close[:-1])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**40),
    ticker=st.sampled_from([i.ticker for i in SIM_INSTRUMENTS]),
    day=st.dates(min_value=date(2000, 1, 3), max_value=date(2055, 12, 31)),
)
def test_bars_are_valid_ohlc_on_the_price_step(seed: int, ticker: str, day: date) -> None:
    instrument = by_ticker(ticker)
    bars = generate_day(seed, instrument, day)
    if day.weekday() >= 5:
        assert len(bars) == 0
        return
    assert len(bars) == 520
    assert np.all(bars.high >= np.maximum(bars.open, bars.close))
    assert np.all(bars.low <= np.minimum(bars.open, bars.close))
    assert np.all(bars.low > 0)
    assert bars.volume.dtype == np.int64 and np.all(bars.volume >= 0)
    step = instrument.step
    for column in (bars.open, bars.high, bars.low, bars.close):
        for value in column[::37]:
            assert Decimal(repr(float(value))) % step == 0, (value, step)
    base = SIM_PROFILES[ticker].base_price
    assert 0.25 * base < bars.close[-1] < 4 * base


def test_intraday_profile_is_u_shaped() -> None:
    gazp = by_ticker("GAZP")
    days = [d for d in (date(2026, 3, 2) + timedelta(days=i) for i in range(60)) if d.weekday() < 5]
    moves = np.zeros(520)
    volumes = np.zeros(520)
    for day in days:
        bars = generate_day(11, gazp, day)
        moves += np.abs(np.log(bars.close / bars.open))
        volumes += bars.volume
    open_hour, midday, close_hour = slice(0, 30), slice(230, 290), slice(490, 520)
    for series in (moves, volumes):
        assert series[open_hour].mean() > 1.5 * series[midday].mean()
        assert series[close_hour].mean() > 1.2 * series[midday].mean()
