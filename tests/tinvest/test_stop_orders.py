"""Stop orders at T-Invest against the fake server.

A stop order waits at the broker until the last price crosses its stop price; then it is EXECUTED
and an exchange order (market, or limit for a stop-limit) takes its place, with an id of its own
and no client key. The adapter reports that order's states and fills under the stop order's key,
found through the order-state stream or, without it, by polling GetStopOrders; each fill once.
The key -> stop order id link lives in the journal, so it survives a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import pytest

from engine.broker.base import FillEvent, OrderUpdate
from engine.broker.fake_tinvest import FakeTInvestServer
from engine.broker.fake_tinvest.records import ServerOrder
from engine.broker.tinvest.broker import TInvestBroker
from engine.model import Fill, Order, OrderStatus, OrderType, Side
from engine.orders.journal import InMemoryJournal
from tests.tinvest.helpers import EventSink, Polls, crossing_level, make_broker

ACCOUNT = "fake-account-1"
SBER = "MOEX_SHARE_SBER"


async def drive_until(
    server: FakeTInvestServer, done: Callable[[], bool], minutes: int = 240
) -> None:
    """Advance the fake market a minute at a time until ``done()`` (bounded)."""
    for _ in range(minutes):
        if done():
            return
        server.advance(1)
        await asyncio.sleep(0)
    assert done(), f"nothing happened in {minutes} minutes"


def fills(sink: EventSink, key: str) -> list[Fill]:
    return [e.fill for e in sink.of(FillEvent) if e.fill.order_id == key]


def updates(sink: EventSink, key: str) -> list[Order]:
    return [e.order for e in sink.of(OrderUpdate) if e.order.id == key]


def filled(sink: EventSink, key: str) -> Callable[[list], bool]:
    return lambda ev: any(o.status is OrderStatus.FILLED for o in updates(sink, key))


async def start(broker: TInvestBroker) -> EventSink:
    sink = EventSink(broker)
    await broker.connect()
    await asyncio.wait_for(broker.orders.connected.wait(), 5)
    return sink


async def test_stop_loss_fills_through_the_order_stream(server: FakeTInvestServer) -> None:
    broker = make_broker(server.target, stop_poll_interval=3600)  # the stream alone finds it
    polls = Polls(broker)
    sink = await start(broker)
    try:
        sber = await broker.find_instrument("SBER")
        stop = crossing_level(server, sber, rising=False)
        order = Order(SBER, Side.SELL, OrderType.STOP, 2, ACCOUNT, stop_price=stop)
        placed = await broker.post_order(order)
        record: ServerOrder = server.exchange.orders[placed.broker_id]
        server.advance(1)  # the price stays above the stop: nothing happens
        await polls.run()  # (an order poll would see what the stream might have missed)
        assert record.order.is_open and sink.of(FillEvent) == []
        await drive_until(server, lambda: record.child_id != "")
        await sink.wait(filled(sink, order.id))
        child = server.exchange.orders[record.child_id]
        [trade] = child.trades
        [fill] = fills(sink, order.id)
        assert (fill.side, fill.lots, fill.account) == (Side.SELL, 2, ACCOUNT)
        assert fill.price == trade.price <= stop  # the market price at the trigger
        assert fill.fill_id == trade.trade_id
        assert fill.commission == child.commission > 0
        last = updates(sink, order.id)[-1]
        assert (last.type, last.stop_price, last.broker_id) == (
            OrderType.STOP,
            stop,
            record.exchange_id,
        )
        assert not any(e.fill.order_id == child.exchange_id for e in sink.of(FillEvent))
        got = await broker.get_order(ACCOUNT, order.id)
        assert got is not None and got.status is OrderStatus.FILLED
        assert (got.type, got.filled_lots, got.avg_fill_price) == (OrderType.STOP, 2, trade.price)
        assert got.commission == child.commission
        assert await broker.open_orders(ACCOUNT) == []
        assert broker.orders.polls == 0  # not by the polling fallback
    finally:
        await sink.stop()
        await broker.close()


async def test_stop_triggered_while_the_order_stream_is_down_is_found_by_polling(
    server: FakeTInvestServer,
) -> None:
    server.faults.drop_order_streams = 1_000_000
    broker = make_broker(server.target)
    polls = Polls(broker)
    sink = EventSink(broker)
    try:
        await broker.connect()
        sber = await broker.find_instrument("SBER")
        stop = crossing_level(server, sber, rising=False)
        order = Order(SBER, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=stop)
        placed = await broker.post_order(order)
        record = server.exchange.orders[placed.broker_id]
        await drive_until(server, lambda: record.child_id != "")
        await sink.wait(filled(sink, order.id))
        assert not broker.orders.connected.is_set() and "GetStopOrders" in server.calls
        [trade] = server.exchange.orders[record.child_id].trades
        assert [(f.price, f.fill_id) for f in fills(sink, order.id)] == [
            (trade.price, trade.trade_id)
        ]
        server.faults.drop_order_streams = 0  # the stream is back: its catch-up repeats nothing
        await asyncio.wait_for(broker.orders.connected.wait(), 5)
        done = polls.done
        server.drop_order_streams_now()  # and drops again, and comes back again
        await sink.wait(lambda ev: broker.orders.stats.connects >= 2)
        await polls.next(after=done)  # the catch-up poll ran
        assert len(fills(sink, order.id)) == 1
        assert len(sink.of(FillEvent)) == 1
    finally:
        await sink.stop()
        await broker.close()


@pytest.mark.parametrize(
    ("kind", "side", "rising"),
    [
        (OrderType.TAKE_PROFIT, Side.SELL, True),
        (OrderType.TAKE_PROFIT, Side.BUY, False),
        (OrderType.STOP, Side.BUY, True),
        (OrderType.STOP_LIMIT, Side.BUY, True),
    ],
)
async def test_take_profit_and_stop_limit_become_orders_too(
    server: FakeTInvestServer, kind: OrderType, side: Side, rising: bool
) -> None:
    broker = make_broker(server.target)
    sink = await start(broker)
    try:
        sber = await broker.find_instrument("SBER")
        level = crossing_level(server, sber, rising=rising)
        # a stop-limit buy becomes a limit 1% above its stop: marketable when it triggers
        limit = sber.round_price(level * Decimal("1.01")) if kind is OrderType.STOP_LIMIT else None
        order = Order(SBER, side, kind, 1, ACCOUNT, price=limit, stop_price=level)
        placed = await broker.post_order(order)
        record = server.exchange.orders[placed.broker_id]
        await drive_until(server, lambda: record.child_id != "")
        await sink.wait(filled(sink, order.id))
        child = server.exchange.orders[record.child_id]
        assert child.order.type is (OrderType.LIMIT if limit else OrderType.MARKET)
        [fill] = fills(sink, order.id)
        assert fill.side is side and fill.price == child.trades[0].price
        assert fill.price >= level if rising else fill.price <= level
        if limit is not None:
            assert fill.price <= limit
        got = await broker.get_order(ACCOUNT, order.id)
        assert got is not None and (got.type, got.status) == (kind, OrderStatus.FILLED)
    finally:
        await sink.stop()
        await broker.close()


async def test_the_stop_order_key_survives_a_restart(server: FakeTInvestServer) -> None:
    journal = InMemoryJournal()  # the engine gives its persistent journal (use_journal)
    first = make_broker(server.target, journal=journal)
    await first.connect()
    try:
        sber = await first.find_instrument("SBER")
        stop = crossing_level(server, sber, rising=False)
        order = Order(SBER, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=stop)
        placed = await first.post_order(order)
    finally:
        await first.close()
    assert journal.stop_orders() == {order.id: (ACCOUNT, placed.broker_id)}

    second = make_broker(server.target, journal=journal)  # a new process: nothing in memory
    sink = await start(second)
    try:
        assert [o.id for o in await second.open_orders(ACCOUNT)] == [order.id]
        got = await second.get_order(ACCOUNT, order.id)
        assert got is not None and got.status is OrderStatus.ACCEPTED
        assert (got.broker_id, got.stop_price) == (placed.broker_id, stop)
        record = server.exchange.orders[placed.broker_id]
        await drive_until(server, lambda: record.child_id != "")
        await sink.wait(filled(sink, order.id))
        [trade] = server.exchange.orders[record.child_id].trades
        assert [f.price for f in fills(sink, order.id)] == [trade.price]
        got = await second.get_order(ACCOUNT, order.id)
        assert got is not None and got.status is OrderStatus.FILLED and got.filled_lots == 1
    finally:
        await sink.stop()
        await second.close()


async def test_a_lost_stop_order_answer_is_resolved_with_the_same_key(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    server.faults.internal_after_place = 1  # placed at the broker, the answer is lost (70002)
    sber = await broker.find_instrument("SBER")
    stop = crossing_level(server, sber, rising=False)
    order = Order(SBER, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=stop)
    placed = await broker.post_order(order)
    [record] = [o for o in server.exchange.orders.values() if o.stop]
    assert server.faults.internal_after_place == 0 and server.calls.count("PostStopOrder") == 2
    assert placed.broker_id == record.exchange_id and record.key == order.id  # one stop order
    assert broker.journal.stop_orders() == {order.id: (ACCOUNT, record.exchange_id)}


async def test_cancelling_a_stop_that_has_triggered_cancels_its_order(
    server: FakeTInvestServer,
) -> None:
    broker = make_broker(server.target)
    sink = await start(broker)
    try:
        sber = await broker.find_instrument("SBER")
        level = crossing_level(server, sber, rising=False)
        far = sber.round_price(level * Decimal("0.85"))  # a limit that will not fill
        order = Order(SBER, Side.BUY, OrderType.STOP_LIMIT, 1, ACCOUNT, price=far, stop_price=level)
        placed = await broker.post_order(order)
        record = server.exchange.orders[placed.broker_id]
        await drive_until(server, lambda: record.child_id != "")
        await sink.wait(lambda ev: broker._stops[order.id].child == record.child_id)
        cancelled = await broker.cancel_order(ACCOUNT, order.id)
        assert cancelled.status is OrderStatus.CANCELLED and cancelled.id == order.id
        assert server.exchange.orders[record.child_id].order.status is OrderStatus.CANCELLED
        assert fills(sink, order.id) == []
    finally:
        await sink.stop()
        await broker.close()


@pytest.mark.parametrize("stream", [True, False], ids=["order-stream", "polling"])
async def test_partial_fills_carry_the_delta_of_the_executed_commission(
    server: FakeTInvestServer, stream: bool
) -> None:
    if not stream:
        server.faults.drop_order_streams = 1_000_000
    server.faults.max_fill_lots = 1  # one lot per trade: three fills
    broker = make_broker(server.target)
    sink = EventSink(broker)
    try:
        await broker.connect()
        if stream:
            await asyncio.wait_for(broker.orders.connected.wait(), 5)
        sber = await broker.find_instrument("SBER")
        order = Order(SBER, Side.BUY, OrderType.MARKET, 3, ACCOUNT)
        placed = await broker.post_order(order)
        record = server.exchange.orders[placed.broker_id]
        for n in (1, 2, 3):
            server.step()
            await sink.wait(lambda ev, n=n: len(fills(sink, order.id)) >= n)
        await sink.wait(filled(sink, order.id))
        got = fills(sink, order.id)
        assert [f.lots for f in got] == [1, 1, 1] and len(record.trades) == 3
        rate = server.exchange.engine.commission
        expected = [rate(sber, t.price, t.lots) for t in record.trades]
        assert [f.commission for f in got] == expected
        assert all(c > 0 for c in expected)
        assert sum(f.commission for f in got) == record.commission
        assert any(o.status is OrderStatus.PARTIALLY_FILLED for o in updates(sink, order.id))
        view = await broker.get_order(ACCOUNT, order.id)
        assert view is not None and view.commission == record.commission
    finally:
        await sink.stop()
        await broker.close()
