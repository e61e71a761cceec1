"""End to end: the engine trades through the T-Invest adapter against the fake server, the
connection drops mid-trade and an order answer is lost; at the end the engine's orders and
positions match the server's, and no order key reached the server twice."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import timedelta

from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from engine.model import Mode, TimeFrame
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.worklist import DEMO_WORKLIST
from tests.tinvest.helpers import START, make_broker


async def test_trade_drop_connection_recover_and_match_the_server() -> None:
    server = FakeTInvestServer(exchange=FakeExchange(start=START, speed=1200.0))
    await server.start()
    server.run_market()
    broker = make_broker(server.target)
    engine = Engine(broker, DEMO_WORKLIST, EngineOptions(mode=Mode.SANDBOX, history_days=1))
    run = asyncio.create_task(engine.run(duration=8.0))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 6
        while engine.counters.get("fills", 0) < 2 and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert engine.counters.get("fills", 0) >= 2, "no trading before the faults"
        server.drop_open_streams()  # the market-data stream drops (GOAWAY) ...
        server.faults.drop_order_streams = 1  # ... and the order stream cannot reopen at once
        server.faults.internal_after_place = 1  # the next order is placed, its answer lost
        fills_before = engine.counters["fills"]
        await asyncio.wait_for(run, 30)
        assert engine.counters["fills"] > fills_before, "no trading after the faults"
    finally:
        if not run.done():
            engine.request_stop()
            await asyncio.wait_for(run, 15)
        checker = make_broker(server.target)
        await checker.connect()
        try:
            [account] = await checker.accounts()
            at_server = {p.instrument: p.lots for p in await checker.positions(account.id)}
            open_at_server = {o.id for o in await checker.open_orders(account.id)}
        finally:
            await asyncio.wait_for(checker.close(), 10)
            await asyncio.wait_for(server.stop(), 10)

    # every injected fault fired
    assert engine.counters.get("disconnects", 0) >= 1
    assert server.faults.internal_after_place == 0
    assert max(Counter(server.post_order_keys).values()) == 1  # never sent twice
    snap = engine.snapshot()
    in_engine = {p.instrument: p.lots for p in snap.positions}
    assert {k: v for k, v in in_engine.items() if v} == {k: v for k, v in at_server.items() if v}
    assert {o.key for o in snap.open_orders} == open_at_server
    assert snap.trading_state.value == "ACTIVE"
    # no bar lost or duplicated across the reconnect: consecutive minutes since the start
    minutes = [
        b.ts for b in engine.chart("MOEX_SHARE_SBER", TimeFrame.M1, 100_000) if b.ts >= START
    ]
    assert len(minutes) > 10
    assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(minutes))
