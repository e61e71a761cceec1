"""The pre-trade check asks the broker whether an instrument trades now: on T-Invest the
trading-status stream (GetTradingStatus when the stream has not said), through
``Broker.market_status``. An order the broker could not take is refused before it is sent, and
the rejection names the rule."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from engine.broker.fake_tinvest import FakeTInvestServer
from engine.broker.tinvest.broker import TInvestBroker
from engine.model import Mode, Order, OrderStatus, OrderType, Side
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.worklist import StrategySpec
from engine.strategy import Strategy, register
from tests.tinvest.helpers import make_broker

ACCOUNT = "fake-account-1"
SBER = "MOEX_SHARE_SBER"


class Idle(Strategy):
    """Trades nothing: it only puts its instrument on the engine's charts."""

    name = "test_idle"


register(Idle)


async def until(done: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        assert loop.time() < deadline, f"timed out waiting for {done}"
        await asyncio.sleep(0.02)


async def test_orders_are_refused_while_the_broker_says_the_instrument_does_not_trade(
    server: FakeTInvestServer,
) -> None:
    broker = make_broker(server.target)
    engine = Engine(
        broker,
        [StrategySpec("test_idle", "SBER")],
        EngineOptions(mode=Mode.SANDBOX, history_days=1),
    )
    run = asyncio.create_task(engine.run())
    try:
        await until(lambda: engine.started, 20)
        await until(lambda: broker.market_status(SBER).source == "stream")
        assert broker.market_status(SBER).limit is True
        sber = server.exchange.instrument("SBER")
        price = server.exchange.last_price(sber)

        server.exchange.set_trading("SBER", False)  # the exchange stops trading SBER
        await until(lambda: broker.market_status(SBER).limit is False)
        refused = engine.submit(Order(SBER, Side.BUY, OrderType.LIMIT, 1, ACCOUNT, price=price))
        assert refused.status is OrderStatus.REJECTED
        assert refused.reason.startswith("session: ")
        assert "NOT_AVAILABLE_FOR_TRADING (stream)" in refused.reason
        assert engine.risk.gate.rejections == {"session": 1}
        await asyncio.sleep(0.1)
        assert refused.id not in server.post_order_keys  # never sent

        server.exchange.set_trading("SBER", True)
        await until(lambda: broker.market_status(SBER).limit is True)
        sent = engine.submit(Order(SBER, Side.BUY, OrderType.LIMIT, 1, ACCOUNT, price=price))
        await until(lambda: sent.id in server.post_order_keys)
        assert sent.status is not OrderStatus.REJECTED
    finally:
        engine.request_stop()
        await asyncio.wait_for(run, 15)


async def test_without_the_stream_the_status_comes_from_get_trading_status(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    await broker.find_instrument("SBER")
    server.exchange.set_trading("SBER", False)
    assert broker.market_status(SBER).limit is None  # not known yet: asked in the background
    await until(lambda: broker.market_status(SBER).source == "GetTradingStatus")
    status = broker.market_status(SBER)
    assert (status.limit, status.market) == (False, False)
    assert status.status == "NOT_AVAILABLE_FOR_TRADING"
    assert "GetTradingStatus" in server.calls and not broker.market.connected.is_set()
    assert broker.market_status("MOEX_SHARE_NOPE").limit is None  # never seen: unknown
