"""A market order's fill that comes only in the PostOrder answer, while the order stream is down.

The real service answers most market orders with EXECUTION_REPORT_STATUS_FILL and the executed
lots in PostOrder's response (the fake does too, by default). The adapter books that fill at once,
keeps polling every order whose final fills are not known while the stream is down, and books
nothing twice when the stream comes back (deduplicated by executed lots: the answer has no trade
id). Before, the order was dropped from tracking, its fill booked only at shutdown, and the next
signal was rejected as a self-trade against that "resting" order.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from engine.broker.base import FillEvent
from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from engine.model import Bar, Mode, Order, OrderStatus, OrderType, Side, TimeFrame
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.worklist import StrategySpec
from engine.strategy import Strategy, StrategyContext, register
from tests.tinvest.engine_kit import until
from tests.tinvest.helpers import START, EventSink, make_broker

ACCOUNT = "fake-account-1"
SBER = "MOEX_SHARE_SBER"
STREAM_DOWN = 10**6  # order-stream opens that fail: down until the test lets it back


class BuyThenSell(Strategy):
    """Buys ``lots`` at the market on a bar; sells them on the next bar once the buy is filled."""

    name = "test_buy_then_sell"
    default_params: ClassVar[dict[str, object]] = {"lots": 2}

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        lots = int(self.params["lots"])
        if not self.state.get("buy"):
            self.state["buy"] = ctx.buy(lots).id
        elif ctx.position == lots and not self.state.get("sell"):
            self.state["sell"] = ctx.sell(lots).id


register(BuyThenSell)


def stream_down(server: FakeTInvestServer) -> None:
    server.faults.drop_order_streams = STREAM_DOWN
    server.drop_order_streams_now()


async def test_the_adapter_books_the_answer_fill_once(server: FakeTInvestServer) -> None:
    broker = make_broker(server.target)
    await broker.connect()
    sink = EventSink(broker)
    try:
        await broker.orders.connected.wait()
        stream_down(server)
        server.step()  # the stream sees a message and drops
        await until(lambda: not broker.orders.connected.is_set(), what="the stream to drop")
        order = Order(SBER, Side.BUY, OrderType.MARKET, 3, ACCOUNT)
        placed = await broker.post_order(order)
        assert placed.status is OrderStatus.FILLED and placed.filled_lots == 3
        [record] = [o for o in server.exchange.orders.values() if o.key == order.id]
        [trade] = record.trades
        await sink.wait(lambda ev: any(isinstance(e, FillEvent) for e in ev))
        [fill] = [e.fill for e in sink.of(FillEvent)]
        assert (fill.order_id, fill.lots, fill.price) == (order.id, 3, trade.price)
        assert fill.commission == record.commission > 0
        assert {p.instrument: p.lots for p in await broker.positions(ACCOUNT)} == {SBER: 3}
        assert order.id not in broker._tracked  # final and fully booked: nothing to poll
        # the journal learns the key is at the broker; the lots go to the journal as a fill
        # (a replay that took them from the resolved order found no room for the fill)
        resolved = broker.journal.entries[order.id].result  # type: ignore[attr-defined]
        assert resolved.broker_id == placed.broker_id
        assert (resolved.status, resolved.filled_lots) == (OrderStatus.ACCEPTED, 0)

        server.faults.drop_order_streams = 0  # the stream comes back
        connects = broker.orders.stats.connects
        await until(lambda: broker.orders.stats.connects > connects, what="the reconnect")
        server.advance(1)
        polls = broker.orders.polls
        await until(lambda: broker.orders.polls > polls or broker.orders.connected.is_set())
        assert [e.fill.lots for e in sink.of(FillEvent)] == [3]  # booked once
    finally:
        await sink.stop()
        await asyncio.wait_for(broker.close(), 10)


async def test_a_partial_answer_is_completed_by_polling_while_the_stream_is_down(
    server: FakeTInvestServer,
) -> None:
    """Two lots in the answer, the rest on later prices: the poll brings those, and the stream
    back brings nothing new."""
    server.faults.max_fill_lots = 2
    broker = make_broker(server.target)
    await broker.connect()
    sink = EventSink(broker)
    try:
        await broker.orders.connected.wait()
        stream_down(server)
        server.step()
        await until(lambda: not broker.orders.connected.is_set(), what="the stream to drop")
        order = Order(SBER, Side.BUY, OrderType.MARKET, 5, ACCOUNT)
        placed = await broker.post_order(order)
        assert placed.status is OrderStatus.PARTIALLY_FILLED and placed.filled_lots == 2
        assert order.id in broker._tracked  # its final fills are not known yet
        for _ in range(3):
            server.step()
        await until(lambda: sum(e.fill.lots for e in sink.of(FillEvent)) == 5, what="5 lots")
        [record] = [o for o in server.exchange.orders.values() if o.key == order.id]
        assert record.order.status is OrderStatus.FILLED
        fills = [e.fill for e in sink.of(FillEvent)]
        assert sum(f.commission for f in fills) == record.commission
        assert sum(f.price * f.lots for f in fills) == sum(t.price * t.lots for t in record.trades)
        server.faults.drop_order_streams = 0
        connects = broker.orders.stats.connects
        await until(lambda: broker.orders.stats.connects > connects, what="the reconnect")
        server.advance(1)
        await asyncio.sleep(0)
        assert sum(e.fill.lots for e in sink.of(FillEvent)) == 5
    finally:
        await sink.stop()
        await asyncio.wait_for(broker.close(), 10)


async def test_engine_trades_through_a_minute_without_the_order_stream() -> None:
    """The order stream is down for a minute of market time (60 s): the buy's fill comes in the
    PostOrder answer, the engine's position equals the server's within 5 s, the sell that
    follows is not refused as a self-trade, and when the stream returns nothing is booked
    twice."""
    server = FakeTInvestServer(exchange=FakeExchange(start=START))
    await server.start()
    broker = make_broker(server.target)
    spec = StrategySpec("test_buy_then_sell", "SBER", params={"lots": 2})
    engine = Engine(broker, [spec], EngineOptions(mode=Mode.SANDBOX, history_days=1))
    run = asyncio.create_task(engine.run())
    try:
        await until(lambda: engine.started, 20, "the engine to start")
        await until(lambda: broker.orders.connected.is_set(), what="the order stream")
        stream_down(server)
        server.step()
        await until(lambda: not broker.orders.connected.is_set(), what="the stream to drop")

        def at_server() -> int:
            pieces = server.exchange.accounts[ACCOUNT].positions.get(
                server.exchange.instrument("SBER").uid, 0
            )
            return pieces // server.exchange.instrument("SBER").lot

        position = engine.book.position(ACCOUNT, SBER)
        server.advance(1)  # a minute closes (the next one's first tick closes it): a buy
        server.step()
        await until(lambda: at_server() == 2, what="the buy at the server")
        await until(lambda: position.lots == at_server(), 5.0, "the engine's position")
        server.advance(1)  # the next minute closes: the strategy sells
        server.step()
        await until(lambda: at_server() == 0, what="the sell at the server")
        await until(lambda: position.lots == 0, 5.0, "the engine's position after the sell")
        rejected = [o for o in engine.book.orders.values() if o.status is OrderStatus.REJECTED]
        assert rejected == [], [o.reason for o in rejected]

        server.faults.drop_order_streams = 0  # the stream returns
        connects = broker.orders.stats.connects
        await until(lambda: broker.orders.stats.connects > connects, what="the reconnect")
        server.advance(1)
        await until(lambda: broker.orders.connected.is_set(), what="the stream up")
        by_order: dict[str, int] = {}
        for f in engine.book.fills:
            by_order[f.order_id] = by_order.get(f.order_id, 0) + f.lots
        assert sorted(by_order.values()) == [2, 2] and len(engine.book.fills) == 2
        assert all(o.status is OrderStatus.FILLED for o in engine.book.orders.values())
    finally:
        engine.request_stop()
        await asyncio.wait_for(run, 15)
        await asyncio.wait_for(server.stop(), 10)
