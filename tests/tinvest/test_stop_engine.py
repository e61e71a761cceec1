"""The engine trades a stop-loss through the T-Invest adapter against the fake server, as it does
on the simulated market: the fill reaches the order book, the position and the strategy's on_fill
once (also across an order-stream reconnect), and a stop that filled while the robot was down is
recovered under its key after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from engine.broker.fake_tinvest.records import ServerOrder
from engine.model import OrderStatus, OrderType, Side
from engine.model.snapshot import TradingState
from engine.runtime.engine import Engine
from engine.runtime.worklist import StrategySpec
from engine.state.embedded import DiskcacheStore
from tests.tinvest.engine_kit import GAZP, OPTIONS, StopLossOnce, trading, until
from tests.tinvest.helpers import START, Polls, crossing_level, make_broker

ACCOUNT = "fake-account-1"


def stop_records(server: FakeTInvestServer) -> list[ServerOrder]:
    return [o for o in server.exchange.orders.values() if o.stop]


async def buy_then_protect(engine: Engine, server: FakeTInvestServer) -> ServerOrder:
    """The first minute closes (the next minute's first candle closes it): the strategy buys at
    the market, the next tick fills it, and its stop-loss reaches the server."""
    await trading(engine, server)
    server.advance(1)
    server.step()
    await until(lambda: len(server.post_order_keys) == 1, what="the entry order")
    server.step()  # one tick: the entry fills
    await until(lambda: len(stop_records(server)) == 1, what="the stop-loss at the server")
    [record] = stop_records(server)
    await until(lambda: engine.book.orders[record.key].status is OrderStatus.ACCEPTED)
    return record


async def test_a_stop_loss_closes_the_position_and_is_booked_once() -> None:
    StopLossOnce.seen.clear()
    server = FakeTInvestServer(exchange=FakeExchange(start=START))
    await server.start()
    broker = make_broker(server.target, stop_poll_interval=0.05)  # the stream and the poll race
    polls = Polls(broker)
    gazp = server.exchange.instrument("GAZP")
    stop = crossing_level(server, gazp, rising=False, skip_ticks=6)  # quiet in the 2nd minute
    spec = StrategySpec("test_stop_loss_once", "GAZP", params={"lots": 1, "stop": str(stop)})
    engine = Engine(broker, [spec], OPTIONS)
    run = asyncio.create_task(engine.run())
    try:
        record = await buy_then_protect(engine, server)
        key = record.key
        position = engine.book.positions[(ACCOUNT, GAZP)]
        assert position.lots == 1
        for _ in range(240):  # the market falls through the stop
            if record.child_id:
                break
            server.advance(1)
            await asyncio.sleep(0.01)
        [trade] = server.exchange.orders[record.child_id].trades
        await until(lambda: position.lots == 0, what="the position to close")
        order = engine.book.orders[key]
        assert order.status is OrderStatus.FILLED and order.type is OrderType.STOP
        assert (order.filled_lots, order.avg_fill_price) == (1, trade.price)
        assert order.commission == server.exchange.orders[record.child_id].commission > 0
        stop_fills = [f for f in engine.book.fills if f.order_id == key]
        assert [(f.price, f.lots, f.side) for f in stop_fills] == [(trade.price, 1, Side.SELL)]
        assert [f.order_id for f in StopLossOnce.seen].count(key) == 1  # on_fill, once
        strategy_position = next(iter(engine.book.strategy_positions.values()))
        assert strategy_position.lots == 0 and strategy_position.realized != 0

        connects, done = broker.orders.stats.connects, polls.done
        server.drop_order_streams_now()  # the order stream drops and comes back ...
        await until(lambda: broker.orders.stats.connects > connects, what="the reconnect")
        server.advance(2)
        await polls.next(after=done)  # ... its catch-up poll ran and repeated nothing
        await polls.run()  # and so does one more poll after the market moved
        assert len([f for f in engine.book.fills if f.order_id == key]) == 1
        assert engine.counters["fills"] == 2 and position.lots == 0
        assert [f.order_id for f in StopLossOnce.seen].count(key) == 1
        assert engine.snapshot().trading_state is TradingState.ACTIVE
    finally:
        engine.request_stop()
        await asyncio.wait_for(run, 15)
        await asyncio.wait_for(server.stop(), 10)


async def test_a_stop_that_filled_while_the_robot_was_down_is_recovered(tmp_path: Path) -> None:
    server = FakeTInvestServer(exchange=FakeExchange(start=START))
    await server.start()
    gazp = server.exchange.instrument("GAZP")
    stop = crossing_level(server, gazp, rising=False, skip_ticks=6)  # quiet in the 2nd minute
    spec = StrategySpec("test_stop_loss_once", "GAZP", params={"lots": 1, "stop": str(stop)})
    store = DiskcacheStore(tmp_path / "state")
    engine = Engine(make_broker(server.target), [spec], OPTIONS, store=store)
    run = asyncio.create_task(engine.run())
    try:
        record = await buy_then_protect(engine, server)
    finally:
        engine.request_stop()
        await asyncio.wait_for(run, 15)
        store.close()
    try:
        for _ in range(240):  # while the robot is down, the stop triggers and fills
            if record.child_id:
                break
            server.advance(1)
        [trade] = server.exchange.orders[record.child_id].trades

        store = DiskcacheStore(tmp_path / "state")
        broker = make_broker(server.target)  # a new process: it knows no stop order
        polls = Polls(broker)
        engine = Engine(broker, [spec], OPTIONS, store=store)
        run = asyncio.create_task(engine.run())
        try:
            await until(lambda: engine.started, 20, "the restart")
            snap = engine.snapshot()
            assert snap.trading_state is TradingState.ACTIVE, engine.halt_reason
            order = engine.book.orders[record.key]
            assert order.status is OrderStatus.FILLED and order.type is OrderType.STOP
            assert (order.filled_lots, order.avg_fill_price) == (1, trade.price)
            assert engine.book.positions[(ACCOUNT, GAZP)].lots == 0
            assert record.exchange_id not in engine.book.orders  # not adopted as external
            assert set(engine.book.orders) == set(server.post_order_keys) | {record.key}
            await polls.run()  # the adapter, following the stop again, adds no fill
            assert len([f for f in engine.book.fills if f.order_id == record.key]) == 1
        finally:
            engine.request_stop()
            await asyncio.wait_for(run, 15)
            store.close()
    finally:
        await asyncio.wait_for(server.stop(), 10)
