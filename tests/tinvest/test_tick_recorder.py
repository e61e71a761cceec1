"""While the robot runs, the tape goes into the tick store; the bars built from the stored trades
equal the broker's candles (the engine against the fake T-Invest server on loopback)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from engine.broker.fake_tinvest import FakeTInvestServer
from engine.data.ticks import TickStore, bars_from_trades
from engine.model import Mode, TimeFrame
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.worklist import StrategySpec
from engine.strategy import Strategy, register
from tests.tinvest.helpers import make_broker

SBER = "MOEX_SHARE_SBER"


class Watcher(Strategy):
    """Trades nothing: it puts its instrument on the engine's charts."""

    name = "test_tape_watcher"


register(Watcher)


async def until(done: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        assert loop.time() < deadline, f"timed out waiting for {done}"
        await asyncio.sleep(0.01)


async def step(server: FakeTInvestServer, engine: Engine, timeout: float = 10.0) -> None:
    """One slot of the fake market; returns when the engine has every SBER trade of it."""
    server.step()
    mine = [t for t in server.market_data.batch if t.instrument == SBER]
    if mine:
        last = mine[-1].ts

        def arrived() -> bool:
            tape = engine.tape("SBER", 1)
            return bool(tape) and tape[0].ts >= last

        await until(arrived, timeout)


async def subscribed(server: FakeTInvestServer, engine: Engine) -> None:
    """Step until a trade reaches the engine (its subscription reached the server)."""
    for _ in range(40):
        with contextlib.suppress(AssertionError):
            await step(server, engine, 0.5)
            if engine.tape("SBER", 1):
                return
    raise AssertionError("no trade reached the engine")


async def test_recorded_trades_rebuild_the_broker_candles(
    server: FakeTInvestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVIN_HOME", str(tmp_path))
    broker = make_broker(server.target)
    engine = Engine(
        broker,
        [StrategySpec("test_tape_watcher", "SBER")],
        EngineOptions(mode=Mode.SANDBOX, history_days=1, record_ticks=True),
    )
    feed = engine.market_feed
    assert feed.recorder is not None
    run = asyncio.create_task(engine.run())
    try:
        await until(lambda: engine.started, 20)
        engine.watch_book("SBER", 10)
        await subscribed(server, engine)
        for _ in range(12 * 7):  # twelve minutes, slot by slot; each slot's trades arrive
            await step(server, engine)
        await until(lambda: engine.order_book("SBER") is not None)
        book = engine.order_book("SBER")
        assert book is not None and len(book.bids) == 10
        tape = engine.tape("SBER", 5)
        assert len(tape) == 5 and tape[0].ts >= tape[-1].ts  # newest first
        end = server.exchange.market.now
    finally:
        engine.request_stop()
        await asyncio.wait_for(run, 15)

    store = TickStore(tmp_path / "data" / "ticks")
    stored = store.trades(SBER)
    assert stored and stored[-1].ts >= end - timedelta(seconds=11)
    assert store.read(SBER).height == len(stored)
    first = stored[0].ts.replace(second=0, microsecond=0) + timedelta(minutes=1)
    last = end.replace(second=0, microsecond=0)
    built = [b for b in bars_from_trades(stored) if first <= b.ts < last]
    checker = make_broker(server.target)
    await checker.connect()
    try:
        sber = await checker.find_instrument("SBER")
        candles = await checker.candles(sber, TimeFrame.M1, first, last)
    finally:
        await asyncio.wait_for(checker.close(), 10)
    assert len(candles) >= 9
    assert built == candles
    meta = store.read_day(SBER, first.date())
    assert meta.height > 0


async def _run_for(server: FakeTInvestServer, minutes: int) -> None:
    """One run of the recording engine while the fake market moves ``minutes`` minutes."""
    broker = make_broker(server.target)
    engine = Engine(
        broker,
        [StrategySpec("test_tape_watcher", "SBER")],
        EngineOptions(mode=Mode.SANDBOX, history_days=1, record_ticks=True),
    )
    run = asyncio.create_task(engine.run())
    try:
        await until(lambda: engine.started, 20)
        await subscribed(server, engine)
        for _ in range(minutes * 7):
            await step(server, engine)
    finally:
        engine.request_stop()
        await asyncio.wait_for(run, 15)


async def test_a_restart_within_the_hour_leaves_no_gap_in_the_store(
    server: FakeTInvestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVIN_HOME", str(tmp_path))
    store = TickStore(tmp_path / "data" / "ticks")
    await _run_for(server, 3)
    first_run_end = store.last_ts(SBER)
    assert first_run_end is not None
    server.advance(5)  # the robot is down for five minutes of trading
    gap_end = server.exchange.market.now

    await _run_for(server, 2)
    end = server.exchange.market.now + timedelta(seconds=1)
    stored = store.trades(SBER)
    expected = server.market_data.tape.trades(SBER, stored[0].ts, end)
    assert stored == expected  # every trade of the whole period, once
    assert any(first_run_end < t.ts < gap_end for t in stored)
