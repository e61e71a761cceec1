"""Stop orders on the paths the other stop tests do not take: a stop cancelled at the broker (in
the T-Invest app) seen by a restarted adapter, a triggered stop followed by polling alone, a stop
state the adapter cannot place (unknown instrument, executed without its order yet), the stop
watch surviving a failing GetStopOrders, cancels that race a trigger, and local stops (the
sandbox) whose order is refused, cannot be sent, is checked from polled prices or is cancelled
after a restart."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

import pytest

from engine.broker import local_stops
from engine.broker.base import OrderUpdate
from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from engine.broker.tinvest.broker import TInvestBroker
from engine.broker.tinvest.core import TrackedStop
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Order, OrderStatus, OrderType, Side
from engine.orders.journal import InMemoryJournal
from tests.tinvest.helpers import START, EventSink, crossing_level, make_broker

ACCOUNT = "fake-account-1"
SBER = "MOEX_SHARE_SBER"
GAZP = "MOEX_SHARE_GAZP"


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def drive_until(server: FakeTInvestServer, done: Any, minutes: int = 240) -> None:
    for _ in range(minutes):
        if done():
            return
        server.advance(1)
        await asyncio.sleep(0)
    assert done(), f"nothing happened in {minutes} minutes"


def updates(sink: EventSink, key: str) -> list[Order]:
    return [e.order for e in sink.of(OrderUpdate) if e.order.id == key]


async def far_stop(broker: TInvestBroker, server: FakeTInvestServer) -> Order:
    """A sell stop well below the market: it waits."""
    sber = await broker.find_instrument("SBER")
    level = sber.round_price(server.exchange.last_price(sber) * Decimal("0.9"))
    return await broker.post_order(
        Order(SBER, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=level)
    )


# --- stop orders at the broker -------------------------------------------------------------


async def test_a_stop_cancelled_in_the_app_is_reported_cancelled_after_a_restart(
    server: FakeTInvestServer, broker: TInvestBroker
) -> None:
    placed = await far_stop(broker, server)
    server.exchange.cancel(ACCOUNT, placed.broker_id, stop=True)  # the user, in the T-Invest app
    again = make_broker(server.target, journal=broker.journal)
    sink = EventSink(again)
    try:
        assert again._stop(placed.id) is not None  # known from the journal's link
        await again._poll_stops()
        await sink.wait(lambda ev: bool(updates(sink, placed.id)))
        (update,) = updates(sink, placed.id)
        assert update.status is OrderStatus.CANCELLED and update.type is OrderType.STOP
        stop = again._stops[placed.id]
        assert stop.finished and stop.order is not None
    finally:
        await sink.stop()
        await again.close()


async def test_a_triggered_stop_is_followed_by_polling_when_no_stream_reports_it(
    server: FakeTInvestServer, broker: TInvestBroker
) -> None:
    await broker.orders.close()  # no order-state stream: the poll alone must find it
    sink = EventSink(broker)
    try:
        sber = await broker.find_instrument("SBER")
        level = crossing_level(server, sber, rising=False)
        placed = await broker.post_order(
            Order(SBER, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=level)
        )
        record = server.exchange.orders[placed.broker_id]
        await drive_until(server, lambda: record.child_id != "")
        await wait_for(lambda: not server.exchange.orders[record.child_id].order.is_open)
        await broker._poll_stops()  # follows the order the stop became
        await sink.wait(
            lambda ev: any(o.status is OrderStatus.FILLED for o in updates(sink, placed.id))
        )
        final = [o for o in updates(sink, placed.id) if o.status is OrderStatus.FILLED][-1]
        assert final.type is OrderType.STOP and final.stop_price == level
        assert broker._stops[placed.id].child == record.child_id
    finally:
        await sink.stop()


async def test_stop_states_the_adapter_cannot_place_yet_change_nothing(
    server: FakeTInvestServer, broker: TInvestBroker
) -> None:
    sber = await broker.find_instrument("SBER")
    stop = TrackedStop("k1", ACCOUNT, "stop-1")
    unknown = pb.StopOrder(
        stop_order_id="stop-1", status=pb.STOP_ORDER_STATUS_EXPIRED, instrument_uid="no-such"
    )
    await broker._stop_changed(stop, unknown, follow=True)
    assert not stop.finished and stop.order is None
    executed = pb.StopOrder(
        stop_order_id="stop-1",
        status=pb.STOP_ORDER_STATUS_EXECUTED,
        instrument_uid=sber.uid,
        direction=pb.STOP_ORDER_DIRECTION_SELL,
        order_type=pb.STOP_ORDER_TYPE_STOP_LOSS,
        lots_requested=1,
    )  # executed, but the order it became is not there yet: asked again next round
    await broker._stop_changed(stop, executed, follow=True)
    assert stop.child == "" and not stop.finished and stop.order is not None
    # an order a stop became, shown before the stop order itself was read: its key only
    bare = TrackedStop("k2", ACCOUNT, "stop-2")
    child = Order(SBER, Side.SELL, OrderType.MARKET, 1, ACCOUNT, id="ord-9")
    view = broker._stop_view(bare, child)
    assert view.id == "k2" and view.type is OrderType.MARKET


async def test_an_order_without_a_key_is_not_looked_for_among_stops_when_none_wait(
    server: FakeTInvestServer, broker: TInvestBroker, caplog: pytest.LogCaptureFixture
) -> None:
    calls = len(server.calls)
    assert await broker._stop_for_child(ACCOUNT, "ord-1") is None
    assert "GetStopOrders" not in server.calls[calls:]  # nothing waits: nothing asked
    await far_stop(broker, server)
    server.faults.unavailable_calls = 10
    server.faults.only_methods = {"GetStopOrders"}
    with caplog.at_level(logging.WARNING, logger="avin.tinvest"):
        assert await broker._stop_for_child(ACCOUNT, "ord-1") is None
    assert "order ord-1: cannot ask for the stop orders" in caplog.text


async def test_the_stop_watch_keeps_asking_while_get_stop_orders_fails(
    server: FakeTInvestServer, caplog: pytest.LogCaptureFixture
) -> None:
    broker = make_broker(server.target, stop_poll_interval=0.02)
    await broker.connect()
    try:
        with caplog.at_level(logging.ERROR, logger="avin.tinvest"):
            await far_stop(broker, server)
            server.faults.unavailable_calls = 1_000_000
            server.faults.only_methods = {"GetStopOrders"}
            await wait_for(lambda: caplog.text.count("stop orders cannot be checked") >= 2)
        assert broker._stop_watch is not None and not broker._stop_watch.done()
    finally:
        await broker.close()


async def test_cancelling_a_stop_that_already_triggered_cancels_nothing_more_once_finished(
    server: FakeTInvestServer, broker: TInvestBroker
) -> None:
    sber = await broker.find_instrument("SBER")
    level = crossing_level(server, sber, rising=False)
    placed = await broker.post_order(
        Order(SBER, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=level)
    )
    record = server.exchange.orders[placed.broker_id]
    await drive_until(server, lambda: record.child_id != "")
    await wait_for(lambda: not server.exchange.orders[record.child_id].order.is_open)
    calls = len(server.calls)
    result = await broker.cancel_order(ACCOUNT, placed.id)  # too late: it filled
    assert result.status is OrderStatus.FILLED and result.id == placed.id
    assert broker._stops[placed.id].finished
    assert "CancelOrder" not in server.calls[calls:]  # nothing left to cancel


# --- local stops (the sandbox) -------------------------------------------------------------


@pytest.fixture
async def sandbox() -> Any:
    server = await FakeTInvestServer(exchange=FakeExchange(start=START), profile="sandbox").start()
    try:
        yield server
    finally:
        await asyncio.wait_for(server.stop(), 10)


async def local_broker(server: FakeTInvestServer, **kw: Any) -> TInvestBroker:
    broker = make_broker(server.target, local_stops=True, **kw)
    await broker.connect()
    return broker


def reached_price(server: FakeTInvestServer, code: str, below: bool = True) -> tuple[Any, Decimal]:
    inst = server.exchange.instrument(code.rsplit("_", 1)[1])
    last = server.exchange.last_price(inst)
    return inst, inst.round_price(last * (Decimal("0.95") if below else Decimal("1.05")))


async def test_a_local_stop_whose_order_is_refused_is_cancelled_with_the_reason(
    sandbox: FakeTInvestServer,
) -> None:
    broker = await local_broker(sandbox)
    sink = EventSink(broker)
    try:
        inst, level = reached_price(sandbox, GAZP)
        stop = await broker.post_order(
            Order(GAZP, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=level)
        )
        sandbox.faults.reject_next = ["30034"]
        broker._check_local_stops(GAZP, level - inst.step)
        task = broker._stops[stop.id].trigger
        assert task is not None
        await task
        await sink.wait(lambda ev: bool(updates(sink, stop.id)))
        (update,) = updates(sink, stop.id)
        assert update.status is OrderStatus.CANCELLED
        assert "triggered, but its order was refused" in update.reason and "30034" in update.reason
        assert broker.journal.stop_order(stop.id).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
        broker._check_local_stops(GAZP, level - inst.step)  # finished: never again
        assert broker._stops[stop.id].trigger is task
    finally:
        await sink.stop()
        await broker.close()


async def test_a_local_stop_whose_order_cannot_be_sent_waits_for_the_next_price(
    sandbox: FakeTInvestServer,
) -> None:
    broker = await local_broker(sandbox, resolve_attempts=2)
    try:
        inst, level = reached_price(sandbox, GAZP)
        stop = await broker.post_order(
            Order(GAZP, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=level)
        )
        sandbox.faults.unavailable_calls = 2
        sandbox.faults.only_methods = {"PostOrder"}
        broker._check_local_stops(GAZP, level - inst.step)
        first = broker._stops[stop.id].trigger
        assert first is not None
        await first
        kept = broker._stops[stop.id]
        assert kept.trigger is None and kept.waiting and not kept.child  # armed again
        assert sandbox.calls.count("GetOrderState") >= 2  # looked up after each lost send
        assert local_stops.triggered_key(stop.id) not in broker._alias
        broker._check_local_stops(GAZP, level - inst.step)  # the next price sends it
        second = broker._stops[stop.id].trigger
        assert second is not None
        await second
        assert broker._stops[stop.id].child
        assert sandbox.post_order_keys == [local_stops.triggered_key(stop.id)]
    finally:
        await broker.close()


async def test_local_stops_are_checked_against_polled_prices_while_the_stream_is_down(
    sandbox: FakeTInvestServer,
) -> None:
    broker = await local_broker(sandbox)
    try:
        calls = len(sandbox.calls)
        await broker._poll_local_prices()  # no local stop: nothing to ask
        assert "GetLastPrices" not in sandbox.calls[calls:]
        inst = sandbox.exchange.instrument("GAZP")
        above = inst.round_price(sandbox.exchange.last_price(inst) * Decimal("1.05"))
        # a sell stop above the market is reached by the current price already
        stop = await broker.post_order(
            Order(GAZP, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=above)
        )
        await broker.market.close()
        broker._stops[stop.id].trigger = None
        await broker._poll_local_prices()
        assert "GetLastPrices" in sandbox.calls
        task = broker._stops[stop.id].trigger
        assert task is not None
        await task
        assert local_stops.triggered_key(stop.id) in sandbox.post_order_keys
    finally:
        await broker.close()


async def test_a_local_stop_is_rearmed_or_cancelled_from_the_journal_after_a_restart(
    sandbox: FakeTInvestServer,
) -> None:
    journal = InMemoryJournal()
    first = await local_broker(sandbox, journal=journal)
    inst, level = reached_price(sandbox, GAZP)
    stop = await first.post_order(
        Order(GAZP, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=level)
    )
    await first.close()
    second = await local_broker(sandbox, journal=journal)
    try:
        seen = await second.get_order(ACCOUNT, stop.id)  # its order was never sent: re-armed
        assert seen is not None and seen.status is OrderStatus.ACCEPTED
        assert second._stops[stop.id].armed and inst.uid in second.market.prices
        await second.unsubscribe(inst)  # the strategy lets go: the stop still watches
        assert inst.uid in second.market.prices
        second._stops[stop.id].order = None  # as after a restart: read back from the journal
        cancelled = await second.cancel_order(ACCOUNT, stop.id)
        assert cancelled.status is OrderStatus.CANCELLED
        assert journal.stop_order(stop.id).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    finally:
        await second.close()


async def test_a_local_stop_link_without_its_order_in_the_journal_is_not_found(
    sandbox: FakeTInvestServer,
) -> None:
    class LinkOnly(InMemoryJournal):
        def stop_orders(self) -> dict[str, tuple[str, str]]:
            return {"lost-key": (ACCOUNT, local_stops.LOCAL_STOP_ID)}

        def stop_order(self, key: str) -> Order | None:
            return None

    broker = await local_broker(sandbox, journal=LinkOnly())
    try:
        assert await broker.get_order(ACCOUNT, "lost-key") is None
    finally:
        await broker.close()


async def test_a_local_stop_order_placed_but_unanswered_is_found_by_its_key(
    sandbox: FakeTInvestServer,
) -> None:
    broker = await local_broker(sandbox)
    try:
        inst, level = reached_price(sandbox, GAZP)
        stop = await broker.post_order(
            Order(GAZP, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=level)
        )
        sandbox.faults.internal_after_place = 1  # placed, then 70002 instead of the answer
        broker._check_local_stops(GAZP, level - inst.step)
        task = broker._stops[stop.id].trigger
        assert task is not None
        await task
        key = local_stops.triggered_key(stop.id)
        assert sandbox.post_order_keys == [key]  # never sent twice
        (record,) = [o for o in sandbox.exchange.orders.values() if o.key == key]
        assert broker._stops[stop.id].child == record.exchange_id
    finally:
        await broker.close()


async def test_a_restarted_adapter_finds_the_order_a_local_stop_became(
    sandbox: FakeTInvestServer,
) -> None:
    journal = InMemoryJournal()
    first = await local_broker(sandbox, journal=journal)
    inst, level = reached_price(sandbox, GAZP)
    stop = await first.post_order(
        Order(GAZP, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=level)
    )
    first._check_local_stops(GAZP, level - inst.step)
    task = first._stops[stop.id].trigger
    assert task is not None
    await task
    child = first._stops[stop.id].child
    await first.close()
    second = await local_broker(sandbox, journal=journal)
    try:
        seen = await second.get_order(ACCOUNT, stop.id)
        assert seen is not None and seen.id == stop.id and seen.type is OrderType.STOP
        assert seen.status is OrderStatus.FILLED and seen.stop_price == level
        kept = second._stops[stop.id]
        assert kept.child == child and kept.finished
        assert second._alias[local_stops.triggered_key(stop.id)] == stop.id
    finally:
        await second.close()


async def test_a_stop_link_the_broker_does_not_know_is_not_found(
    server: FakeTInvestServer,
) -> None:
    class Linked(InMemoryJournal):
        def stop_orders(self) -> dict[str, tuple[str, str]]:
            return {"old-key": (ACCOUNT, "stop-gone")}

    broker = make_broker(server.target, journal=Linked())
    await broker.connect()
    try:
        assert await broker.get_order(ACCOUNT, "old-key") is None
        assert "GetStopOrders" in server.calls
    finally:
        await broker.close()


async def test_a_local_stop_cancelled_or_read_while_its_order_is_being_sent(
    sandbox: FakeTInvestServer,
) -> None:
    broker = await local_broker(sandbox)
    try:
        inst, level = reached_price(sandbox, GAZP)
        first = await broker.post_order(
            Order(GAZP, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=level)
        )
        second = await broker.post_order(
            Order(GAZP, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=level)
        )
        broker._check_local_stops(GAZP, level - inst.step)  # both trigger: two sends start
        assert broker._stops[first.id].trigger is not None
        assert broker._stops[second.id].trigger is not None
        # the cancel waits for the send and then finds the order it became, already filled
        cancelled = await broker.cancel_order(ACCOUNT, first.id)
        assert cancelled.id == first.id and cancelled.status is OrderStatus.FILLED
        assert broker._stops[first.id].child
        # a read waits for the send too, and answers with the order it became
        seen = await broker.get_order(ACCOUNT, second.id)
        assert seen is not None and seen.status is OrderStatus.FILLED
        assert broker._stops[second.id].finished
        # the order a stop became has aged out at the broker: nothing to say about it
        broker._stops[second.id].child = "ord-aged-out"
        assert await broker.get_order(ACCOUNT, second.id) is None
    finally:
        await broker.close()


async def test_held_local_stops_wait_for_the_release_and_a_second_hold_keeps_the_prices(
    sandbox: FakeTInvestServer,
) -> None:
    broker = await local_broker(sandbox)
    try:
        inst, level = reached_price(sandbox, GAZP)
        stop = await broker.post_order(
            Order(GAZP, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=level)
        )
        broker.hold_local_stops()
        broker._check_local_stops(GAZP, level - inst.step)
        broker.hold_local_stops()  # held already: the price heard is kept
        assert broker._stops[stop.id].trigger is None
        broker.release_local_stops()
        task = broker._stops[stop.id].trigger
        assert task is not None
        await task
        assert local_stops.triggered_key(stop.id) in sandbox.post_order_keys
    finally:
        await broker.close()


async def test_reading_a_local_stop_whose_order_is_being_sent_waits_for_the_send(
    sandbox: FakeTInvestServer,
) -> None:
    broker = await local_broker(sandbox)
    try:
        inst, level = reached_price(sandbox, GAZP)
        stop = await broker.post_order(
            Order(GAZP, Side.SELL, OrderType.STOP, 1, ACCOUNT, stop_price=level)
        )
        broker._check_local_stops(GAZP, level - inst.step)
        task = broker._stops[stop.id].trigger
        assert task is not None and not task.done()
        seen = await broker.get_order(ACCOUNT, stop.id)
        assert task.done()
        assert seen is not None and seen.id == stop.id and seen.status is OrderStatus.FILLED
    finally:
        await broker.close()
