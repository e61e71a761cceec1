"""Batch derivation of timeframes, and its agreement with the live BarAggregator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data.schema import BAR_SCHEMA
from engine.data.synthetic import minute_bars, trading_days
from engine.data.timeframes import derive, derive_all, derive_with, has_jit
from engine.model import Bar, TimeFrame
from engine.model.aggregation import BarAggregator


def frame_of(bars: list[Bar]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [b.ts for b in bars],
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
        },
        schema=BAR_SCHEMA,
    )


def bars_of(frame: pl.DataFrame) -> list[Bar]:
    return [Bar(*row) for row in frame.select(BAR_SCHEMA.names()).iter_rows()]


def test_frame_starts_week_on_monday_month_on_the_first() -> None:
    ts = [datetime(2024, 2, 29, 23, 59, tzinfo=UTC), datetime(2024, 3, 3, 12, 0, tzinfo=UTC)]
    bars = frame_of([Bar(t, 1.0, 2.0, 0.5, 1.5, 3) for t in ts])
    week = derive(bars, TimeFrame.W)
    assert week["ts"].to_list() == [datetime(2024, 2, 26, tzinfo=UTC)]
    assert week.row(0)[1:] == (1.0, 2.0, 0.5, 1.5, 6)
    month = derive(bars, "M")
    assert month["ts"].to_list() == [
        datetime(2024, 2, 1, tzinfo=UTC),
        datetime(2024, 3, 1, tzinfo=UTC),
    ]
    hour4 = derive(bars, TimeFrame.H4)
    assert hour4["ts"].to_list() == [
        datetime(2024, 2, 29, 20, tzinfo=UTC),
        datetime(2024, 3, 3, 12, tzinfo=UTC),
    ]


def test_five_minutes_by_hand() -> None:
    t0 = datetime(2024, 3, 1, 7, 3, tzinfo=UTC)
    bars = [
        Bar(t0, 10, 11, 9, 10.5, 1),
        Bar(t0 + timedelta(minutes=1), 10.5, 12, 10, 11, 2),
        Bar(t0 + timedelta(minutes=4), 11, 11.5, 8, 9, 3),
    ]
    out = bars_of(derive(frame_of(bars), TimeFrame.M5))
    assert out == [
        Bar(datetime(2024, 3, 1, 7, 0, tzinfo=UTC), 10, 12, 9, 11, 3),
        Bar(datetime(2024, 3, 1, 7, 5, tzinfo=UTC), 11, 11.5, 8, 9, 3),
    ]


def test_derive_all_equals_direct_derivation() -> None:
    bars = minute_bars(trading_days(2023, 70), seed=4, bars_per_day=300)
    bars = bars.filter(pl.int_range(pl.len()) % 7 != 3)  # holes inside frames
    every = derive_all(bars)
    for tf in TimeFrame:
        assert every[tf].equals(derive(bars, tf)), tf
    assert derive_all(bars, [TimeFrame.D])[TimeFrame.D].equals(every[TimeFrame.D])


@pytest.mark.skipif(not has_jit(), reason="numba is not installed")
def test_numba_and_numpy_backends_agree() -> None:
    bars = minute_bars(trading_days(2023, 30), seed=8, bars_per_day=400)
    bars = bars.filter(pl.int_range(pl.len()) % 5 != 1)
    for tf in TimeFrame:
        assert derive_with(bars, tf, True).equals(derive_with(bars, tf, False)), tf


def test_unsorted_input_is_sorted_first() -> None:
    bars = minute_bars(trading_days(2023, 1), seed=1)
    assert derive(bars.reverse(), "1H").equals(derive(bars, "1H"))


# --- property: batch == live -------------------------------------------------------------------

_GAPS = st.one_of(
    st.integers(1, 3),
    st.integers(1, 120),
    st.integers(60 * 20, 60 * 24 * 40),  # cross days, weeks and months
)


@st.composite
def minute_streams(draw: st.DrawFn) -> tuple[list[Bar], list[Bar]]:
    """(final 1-minute bars, the live stream with provisional updates before each final)."""
    start = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 500_000)))
    count = draw(st.integers(1, 60))
    finals: list[Bar] = []
    stream: list[Bar] = []
    ts = start
    price = st.integers(100, 200).map(lambda v: v / 4)
    for _ in range(count):
        ts += timedelta(minutes=draw(_GAPS))
        for _ in range(draw(st.integers(0, 2)) + 1):
            a, b = draw(price), draw(price)
            high = max(a, b) + draw(st.integers(0, 8)) / 4
            low = min(a, b) - draw(st.integers(0, 8)) / 4
            stream.append(Bar(ts, a, high, low, b, draw(st.integers(0, 10_000))))
        finals.append(stream[-1])
    return finals, stream


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(minute_streams(), st.sampled_from([tf for tf in TimeFrame if tf is not TimeFrame.M1]))
def test_batch_derivation_agrees_with_live_aggregation(
    streams: tuple[list[Bar], list[Bar]], timeframe: TimeFrame
) -> None:
    finals, stream = streams
    aggregator = BarAggregator(timeframe)
    live: list[Bar] = []
    for bar in stream:
        result = aggregator.update(bar)
        if result.closed is not None:
            live.append(result.closed)
    last = aggregator.flush()
    assert last is not None
    live.append(last)
    frame = frame_of(finals)
    assert bars_of(derive(frame, timeframe)) == live
    assert bars_of(derive_with(frame, timeframe, use_jit=False)) == live  # numpy
    assert bars_of(derive_all(frame, [timeframe])[timeframe]) == live
    if not has_jit():  # a skip, not a silent pass: CI refuses skips
        pytest.skip("numba is not installed: the numba backend was not compared")
    assert bars_of(derive_with(frame, timeframe, use_jit=True)) == live  # numba
