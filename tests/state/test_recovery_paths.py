"""Recovery paths that need a crafted journal: replay of order and resolve events, an in-flight
key the broker never saw, a journal holding more fills than the broker, and a journal that fails
while trading (the kill switch trips).

The journal is written through :class:`~engine.state.journal.OrderJournal` exactly as the engine
and the T-Invest adapter write it; the broker is a SimBroker that survived the "crash".
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from engine.broker.sim import SimBroker
from engine.model import Fill, Order, OrderStatus, OrderType, Side
from engine.model.snapshot import TradingState
from engine.runtime.worklist import StrategySpec
from engine.state.embedded import DiskcacheStore
from engine.state.journal import OrderJournal
from tests.runtime.simkit import START
from tests.state.test_recovery import crash, driver

ACCOUNT = "sim-1"
SBER = "MOEX_SHARE_SBER"
SPEC = StrategySpec("test_once", "SBER", params={"offset": 0.9995, "lots": 2})


def far_buy(broker: SimBroker, near: Decimal, lots: int = 1) -> Order:
    """A limit buy 2% below ``near`` (a resting order's price): it rests, unfilled."""
    price = broker.lookup(SBER).round_price(near * Decimal("0.98"))
    return Order(SBER, Side.BUY, OrderType.LIMIT, lots, ACCOUNT, price=price)


async def first_run(tmp_path: Path) -> tuple[SimBroker, DiskcacheStore, str, Decimal]:
    """A run that leaves one working order at the broker (so the market is not 'fresh')."""
    store = DiskcacheStore(tmp_path / "state")
    broker = SimBroker(seed=7, start=START, realtime=False)
    d1 = driver(broker, store, SPEC)
    async with d1:
        (key,) = d1.engine.book.orders
        first = d1.engine.book.orders[key]
        assert first.status is OrderStatus.ACCEPTED and first.price is not None
        await crash(d1, store)
    return broker, store, key, first.price


async def test_replayed_order_and_resolve_events_and_an_unsent_key(tmp_path: Path) -> None:
    broker, store, working, near = await first_run(tmp_path)
    journal = OrderJournal(store)
    # resolved: the adapter wrote the intent, the broker took it, the adapter wrote the answer
    resolved = far_buy(broker, near)
    journal.record(resolved.id, resolved)
    view = await broker.post_order(resolved)
    assert view.status is OrderStatus.ACCEPTED
    journal.resolve(resolved.id, replace(view, strategy="manual"))
    # cancelled locally: an intent, then an order event that finished it (never sent)
    dropped = far_buy(broker, near)
    journal.record(dropped.id, dropped)
    journal.order(replace(dropped, status=OrderStatus.CANCELLED, reason="cancelled before sending"))
    # in flight: the intent was written, the process died before the send
    unsent = far_buy(broker, near)
    journal.record(unsent.id, unsent)
    asked: list[str] = []
    real_get = broker.get_order

    async def spy(account: str, key: str) -> Order | None:
        asked.append(key)
        return await real_get(account, key)

    broker.get_order = spy  # type: ignore[method-assign]
    async with driver(broker, store, SPEC) as d2:
        engine = d2.engine
        report = engine.keeper.report
        assert report is not None and report.replayed >= 5 and not report.fresh_broker
        assert report.problems == [] and engine.trading_state is TradingState.ACTIVE
        book = engine.book.orders
        assert book[resolved.id].status is OrderStatus.ACCEPTED
        assert book[resolved.id].broker_id == view.broker_id
        assert book[resolved.id].strategy == "manual"  # the resolve event's order, not the intent's
        assert book[dropped.id].status is OrderStatus.CANCELLED and dropped.id not in asked
        assert book[unsent.id].status is OrderStatus.REJECTED
        assert book[unsent.id].reason == "never reached the broker"
        assert unsent.id in report.resolved and report.adopted == []
        assert book[working].status is OrderStatus.ACCEPTED
    assert unsent.id not in broker._orders  # looked up, never sent


async def test_more_fills_in_the_journal_than_at_the_broker_halts(tmp_path: Path) -> None:
    broker, store, _working, near = await first_run(tmp_path)
    journal = OrderJournal(store)
    order = far_buy(broker, near, lots=3)
    journal.record(order.id, order)
    view = await broker.post_order(order)  # the broker has it working, nothing filled
    journal.resolve(order.id, view)
    ts = START + timedelta(minutes=5)
    journal.fill(
        Fill(order.id, SBER, Side.BUY, 2, Decimal("250"), Decimal(0), ts, "f-ghost", ACCOUNT)
    )
    async with driver(broker, store, SPEC) as d2:
        engine = d2.engine
        report = engine.keeper.report
        assert report is not None
        expected = f"order {order.id}: the journal has 2 lot(s) filled, the broker 0"
        assert expected in report.problems
        assert engine.trading_state is TradingState.HALTED and report.halted


async def test_a_journal_that_fails_while_trading_trips_the_kill_switch(tmp_path: Path) -> None:
    store = DiskcacheStore(tmp_path / "state")
    broker = SimBroker(seed=7, start=START, realtime=False)
    async with driver(broker, store, SPEC) as d:
        engine = d.engine
        (key,) = engine.book.orders
        journal = engine.keeper.journal
        assert journal is not None
        writes: list[str] = []

        def broken(*args: object, **kw: object) -> None:
            writes.append("x")
            raise OSError("no space left on device")

        journal.order = broken  # type: ignore[method-assign]
        journal.fill = broken  # type: ignore[method-assign]
        engine.cancel_order(key)  # an order change the journal must take
        await d.settle()
        for _ in range(100):
            if engine.trading_state is TradingState.HALTED:
                break
            await asyncio.sleep(0)
        assert engine.trading_state is TradingState.HALTED
        assert "the order journal cannot be written" in engine.halt_reason
        assert "no space left" in engine.halt_reason
        assert writes  # the failing write happened (it is what tripped the switch)
        halted_once = engine.halt_reason
        engine.cancel_order(key)
        await d.settle()
        assert engine.halt_reason == halted_once  # tripped once, not again per write


async def test_an_order_placed_outside_the_robot_is_adopted_as_external(tmp_path: Path) -> None:
    broker, store, _working, near = await first_run(tmp_path)
    outside = far_buy(broker, near)
    await broker.post_order(outside)  # placed by hand in the broker's terminal: no journal
    async with driver(broker, store, SPEC) as d2:
        engine = d2.engine
        report = engine.keeper.report
        assert report is not None and report.adopted == [outside.id] and report.problems == []
        adopted = engine.book.orders[outside.id]
        assert adopted.status is OrderStatus.ACCEPTED and adopted.reason.startswith("external")
        assert engine.trading_state is TradingState.ACTIVE
    assert [e.kind for e in store.history(outside.id)] == ["external"]


async def test_a_working_order_the_broker_does_not_know_halts(tmp_path: Path) -> None:
    broker, store, _working, near = await first_run(tmp_path)
    journal = OrderJournal(store)
    ghost = far_buy(broker, near)
    journal.record(ghost.id, ghost)
    ghost_view = replace(ghost, status=OrderStatus.ACCEPTED, broker_id="sim-order-ghost")
    journal.resolve(ghost.id, ghost_view)  # the journal says the broker took it; it did not
    async with driver(broker, store, SPEC) as d2:
        report = d2.engine.keeper.report
        assert report is not None
        assert f"order {ghost.id} is accepted in the journal but unknown to the broker" in (
            report.problems
        )
        assert d2.engine.trading_state is TradingState.HALTED
        assert d2.engine.book.orders[ghost.id].status is OrderStatus.ACCEPTED  # never guessed


async def test_replaying_events_the_snapshot_already_holds_changes_nothing(tmp_path: Path) -> None:
    store = DiskcacheStore(tmp_path / "state")
    broker = SimBroker(seed=7, start=START, realtime=False)
    spec = StrategySpec("test_once", "SBER", params={"offset": 1.01, "lots": 1})  # fills at once
    async with driver(broker, store, spec) as d1:
        await d1.minutes(2)
        (key,) = d1.engine.book.orders
        (fill,) = d1.engine.book.fills
        await crash(d1, store)
    journal = OrderJournal(store)
    order = d1.engine.book.orders[key]
    journal.record(key, replace(order, status=OrderStatus.NEW))  # an intent for a known key
    journal.fill(fill)  # a fill the snapshot already booked (same id)
    journal.fill(fill)
    async with driver(broker, store, spec) as d2:
        engine = d2.engine
        report = engine.keeper.report
        assert report is not None and report.replayed >= 3 and report.problems == []
        assert engine.book.orders[key].status is OrderStatus.FILLED
        assert engine.book.positions[("sim-1", SBER)].lots == 1  # not 2, not 3
        assert engine.book.knows_fill(fill.fill_id)  # known from the snapshot ...
        assert not [f for f in engine.book.fills if f.fill_id == fill.fill_id]  # ... not re-booked


async def test_fill_ids_survive_two_restarts(tmp_path: Path) -> None:
    """The ids of booked fills stay known across restarts, so a fill the broker reports again
    after the second restart is not booked twice."""
    store = DiskcacheStore(tmp_path / "state")
    broker = SimBroker(seed=7, start=START, realtime=False)
    spec = StrategySpec("test_once", "SBER", params={"offset": 1.01, "lots": 1})  # fills at once
    async with driver(broker, store, spec) as d1:
        await d1.minutes(2)
        (fill,) = d1.engine.book.fills
        await crash(d1, store)
    async with driver(broker, store, spec) as d2:
        assert d2.engine.book.knows_fill(fill.fill_id)
        await crash(d2, store)  # its state snapshot must still carry the id
    async with driver(broker, store, spec) as d3:
        book = d3.engine.book
        assert book.knows_fill(fill.fill_id)
        again = book.apply_fill(fill)  # the broker reports it once more
        assert again.duplicate and book.positions[("sim-1", SBER)].lots == 1


async def test_an_in_flight_key_that_reaches_the_broker_late_is_not_rejected(
    tmp_path: Path,
) -> None:
    """The dead process's PostOrder can still be in the broker's hands when the new process
    asks for its key (the broker answers "not found", then places it): recovery asks again
    before it calls the order never sent; the order it finds is taken, not REJECTED."""
    broker, store, _working, near = await first_run(tmp_path)
    journal = OrderJournal(store)
    late = far_buy(broker, near)
    journal.record(late.id, late)  # the intent; the process died before the answer
    real_get = broker.get_order
    asked: list[str] = []

    async def get_order(account: str, key: str) -> Order | None:
        if key == late.id:
            asked.append(key)
            if len(asked) == 1:  # the first lookup comes before the order is placed ...
                return None
            if key not in broker._orders:
                await broker.post_order(late)  # ... which happens right after it
        return await real_get(account, key)

    broker.get_order = get_order  # type: ignore[method-assign]
    async with driver(broker, store, SPEC) as d2:
        engine = d2.engine
        report = engine.keeper.report
        assert report is not None and report.problems == []
        assert len(asked) >= 2  # asked again
        assert engine.book.orders[late.id].status is OrderStatus.ACCEPTED
        assert engine.book.orders[late.id].broker_id == broker._orders[late.id].broker_id
        assert engine.trading_state is TradingState.ACTIVE
