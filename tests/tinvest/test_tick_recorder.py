"""While the robot runs, the tape goes into the tick store; the bars built from the stored trades
equal the broker's candles (the engine against the fake T-Invest server on loopback)."""

from __future__ import annotations

import asyncio
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
        start = server.exchange.market.now
        for _ in range(12 * 7):  # twelve minutes, slot by slot; each slot's trades arrive
            seen = feed.version
            server.step()
            if server.exchange.market.now.second == 0 and server.exchange.market.now > start:
                continue  # a minute's close trades nothing
            await until(lambda seen=seen: feed.version > seen)
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
