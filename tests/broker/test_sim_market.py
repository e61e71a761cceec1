"""The replay clock: slots, tick paths, session skipping, and real-time pacing."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from engine.broker.sim import (
    SIM_INSTRUMENTS,
    TICKS_PER_MINUTE,
    MarketTick,
    SimMarket,
    default_start,
    generate_bar_list,
    next_session_minute,
)
from tests.broker.simdata import TUESDAY_OPEN, by_ticker


def test_default_start_is_the_previous_weekday_session_open() -> None:
    assert default_start(date(2026, 11, 25)) == datetime(2026, 11, 24, 7, tzinfo=UTC)  # Wed
    assert default_start(date(2026, 11, 23)) == datetime(2026, 11, 20, 7, tzinfo=UTC)  # Mon
    assert default_start(date(2026, 11, 22)) == datetime(2026, 11, 20, 7, tzinfo=UTC)  # Sun
    start = SimMarket().start
    assert start.weekday() < 5 and (start.hour, start.minute) == (7, 0)
    assert start.date() < datetime.now(UTC).date()


def test_next_session_minute() -> None:
    friday_close = datetime(2026, 11, 20, 15, 40, tzinfo=UTC)
    assert next_session_minute(friday_close) == datetime(2026, 11, 23, 7, tzinfo=UTC)
    mid = datetime(2026, 11, 20, 9, 30, 5, tzinfo=UTC)
    assert next_session_minute(mid) == datetime(2026, 11, 20, 9, 31, tzinfo=UTC)
    early = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    assert next_session_minute(early) == datetime(2026, 11, 20, 7, 0, tzinfo=UTC)


def test_one_minute_is_six_ticks_then_the_close() -> None:
    market = SimMarket(seed=3, start=TUESDAY_OPEN)
    ticks = market.advance(1)
    assert len(ticks) == (TICKS_PER_MINUTE + 1) * len(SIM_INSTRUMENTS)
    assert market.now == TUESDAY_OPEN + timedelta(minutes=1)
    for instrument in SIM_INSTRUMENTS:
        mine = [t for t in ticks if t.instrument is instrument]
        bar = generate_bar_list(
            instrument, TUESDAY_OPEN, TUESDAY_OPEN + timedelta(minutes=1), seed=3
        )[0]
        prices = [t.price for t in mine if not t.closed]
        assert len(prices) == TICKS_PER_MINUTE
        assert [t.ts.second for t in mine] == [0, 10, 20, 30, 40, 50, 0]
        assert prices[0] == Decimal(repr(bar.open)) and prices[-1] == Decimal(repr(bar.close))
        assert max(prices) == Decimal(repr(bar.high)) and min(prices) == Decimal(repr(bar.low))
        assert all(p % instrument.step == 0 for p in prices)
        assert mine[-1].closed and mine[-1].bar == bar
        for tick in mine[:-1]:  # the provisional bar moves with the ticks and stays valid
            assert tick.bar.validate() is None
            assert tick.bar.close == float(tick.price) and tick.bar.open == bar.open
            assert bar.low <= tick.bar.low and tick.bar.high <= bar.high
        assert mine[0].gap and not any(t.gap for t in mine[1:])


def test_closed_hours_and_weekends_are_skipped() -> None:
    start = datetime(2026, 11, 20, 15, 38, tzinfo=UTC)  # Friday, two minutes before the close
    market = SimMarket(start=start)
    assert market.is_open
    market.advance(2)
    assert market.now == datetime(2026, 11, 20, 15, 40, tzinfo=UTC)
    assert not market.is_open
    ticks = market.step()
    assert ticks[0].ts == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday
    assert all(t.gap for t in ticks)
    assert market.is_open


def test_starting_on_a_weekend_waits_for_monday() -> None:
    market = SimMarket(start=datetime(2026, 11, 21, 12, tzinfo=UTC))
    assert not market.is_open
    assert market.next_time == datetime(2026, 11, 23, 7, tzinfo=UTC)


def test_advance_to_and_listeners_see_the_same_ticks() -> None:
    market = SimMarket(start=TUESDAY_OPEN)
    seen: list[MarketTick] = []
    market.add_listener(seen.extend)
    ticks = market.advance_to(TUESDAY_OPEN + timedelta(minutes=2, seconds=25))
    assert seen == ticks
    slots = 2 * (TICKS_PER_MINUTE + 1) + 3  # two full minutes, then ticks at :00, :10, :20
    assert len(ticks) == slots * len(SIM_INSTRUMENTS)
    assert market.now == TUESDAY_OPEN + timedelta(minutes=2, seconds=25)
    assert market.next_time == TUESDAY_OPEN + timedelta(minutes=2, seconds=30)


def test_the_same_seed_replays_the_same_ticks() -> None:
    a = SimMarket(seed=9, start=TUESDAY_OPEN).advance(3)
    b = SimMarket(seed=9, start=TUESDAY_OPEN).advance(3)
    assert [(t.ts, t.price, t.closed) for t in a] == [(t.ts, t.price, t.closed) for t in b]


async def test_real_time_run_paces_ticks() -> None:
    speed = 1200.0  # 20 simulated minutes per real second
    sber = by_ticker("SBER")
    market = SimMarket([sber], start=TUESDAY_OPEN, speed=speed)
    seen: list[MarketTick] = []
    market.add_listener(seen.extend)
    began = time.monotonic()
    task = asyncio.create_task(market.run())
    await asyncio.sleep(0.4)
    task.cancel()
    elapsed = time.monotonic() - began
    assert seen, "no ticks arrived within 0.4 s"
    simulated = (market.now - TUESDAY_OPEN).total_seconds()
    assert 0.25 * 0.4 * speed <= simulated <= elapsed * speed + 10
    assert any(t.closed for t in seen)
