"""The replay clock: slots, tick paths, session skipping, and real-time pacing."""

from __future__ import annotations

import asyncio
import types
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

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


class VirtualClock:
    """The event loop's clock and sleep as :meth:`SimMarket.run` sees them: time moves only when
    the market sleeps, by exactly what it asked for (no wall clock in the test)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await _real_sleep(0)


_real_sleep = asyncio.sleep


async def test_real_time_run_paces_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.broker.sim.market as market_module

    speed = 1200.0  # 20 simulated minutes per real second
    sber = by_ticker("SBER")
    market = SimMarket([sber], start=TUESDAY_OPEN, speed=speed)
    clock = VirtualClock()
    shim = types.SimpleNamespace(get_running_loop=lambda: clock, sleep=clock.sleep)
    monkeypatch.setattr(market_module, "asyncio", shim)
    seen: list[MarketTick] = []
    market.add_listener(seen.extend)
    task = _real_create_task(market.run())
    for _ in range(10_000):  # until 0.4 s of (virtual) real time have passed
        if clock.now >= 0.4:
            break
        await _real_sleep(0)
    task.cancel()
    assert clock.now >= 0.4, "the market stopped asking for time"
    simulated = (market.now - TUESDAY_OPEN).total_seconds()
    # paced: every simulated second took 1/speed of a real one, no burst, no drift (the
    # market sleeps before each step: cancelled mid-sleep, the last step has not happened)
    stepped = {round(clock.now * speed, 6), round((clock.now - clock.sleeps[-1]) * speed, 6)}
    assert round(simulated, 6) in stepped
    assert seen and any(t.closed for t in seen)


_real_create_task = asyncio.create_task
