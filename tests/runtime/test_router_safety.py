"""The order router's safety paths, with the races made to happen.

A broker whose ``post_order`` blocks on an event lets the kill switch land between the risk gate
and the send; a journal that raises must keep the order from leaving; a post that times out is
looked up by its key, never sent again; a cancel asked for while the post is in flight is sent
again once the post is acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from engine.broker.base import OrderRejected
from engine.model import Order, OrderStatus, OrderType, Side
from engine.model.order_book import OrderManager
from engine.runtime.router import OrderRouter
from tests.log_records import Records

ACCOUNT = "acc-1"
SBER = "MOEX_SHARE_SBER"


class GateBroker:
    """``post_order`` waits for ``release`` (when ``hold``); answers are configurable."""

    def __init__(self, *, hold: bool = False) -> None:
        self.release = asyncio.Event()
        if not hold:
            self.release.set()
        self.entered = asyncio.Event()
        self.posts: list[Order] = []
        self.cancels: list[str] = []
        self.lookups: list[str] = []
        self.post_error: Exception | None = None
        self.lookup: Order | Exception | None = None
        self.known: dict[str, Order] = {}

    async def post_order(self, order: Order) -> Order:
        self.posts.append(copy.deepcopy(order))
        self.entered.set()
        await self.release.wait()
        if self.post_error is not None:
            raise self.post_error
        view = replace(order, status=OrderStatus.ACCEPTED, broker_id=f"x-{order.id[:6]}")
        self.known[order.id] = view
        return view

    async def get_order(self, account: str, key: str) -> Order | None:
        self.lookups.append(key)
        if isinstance(self.lookup, Exception):
            raise self.lookup
        return self.lookup

    async def cancel_order(self, account: str, key: str) -> Order:
        self.cancels.append(key)
        view = self.known.get(key)
        if view is None:
            raise OrderRejected(key, "order not found", code="50005")
        return replace(view, status=OrderStatus.CANCELLED)


class RaisingJournal:
    def __init__(self) -> None:
        self.calls = 0

    def record(self, key: str, order: Order) -> None:
        self.calls += 1
        raise OSError("disk full")


class Rig:
    def __init__(self, broker: GateBroker, **kw: Any) -> None:
        self.broker = broker
        self.book = OrderManager()
        self.tasks: list[asyncio.Task[Any]] = []
        self.halted = False
        self.changed: list[tuple[str, OrderStatus]] = []
        self.counters = {"orders_sent": 0, "orders_rejected": 0}
        kw.setdefault("blocked", lambda o: "trading is HALTED" if self.halted else "")
        self.router = OrderRouter(
            broker,  # type: ignore[arg-type]
            self.book,
            spawn=self._spawn,
            clock=lambda: None,
            changed=lambda o: self.changed.append((o.id, o.status)),
            reject=lambda o, reason: self.book.reject_local(o, reason, None),
            counters=self.counters,
            **kw,
        )

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(task)
        return task

    def new(self, side: Side = Side.BUY) -> Order:
        return self.book.record(Order(SBER, side, OrderType.MARKET, 1, ACCOUNT))

    async def done(self) -> None:
        """Wait for every request task, bounded; the wait must finish."""
        for _ in range(100):
            pending = [t for t in self.tasks if not t.done()]
            if not pending:
                return
            await asyncio.wait(pending, timeout=0.1)
        raise AssertionError("router tasks did not finish")


async def test_kill_between_the_gate_and_the_send_rejects_the_queued_order() -> None:
    broker = GateBroker(hold=True)
    rig = Rig(broker)
    first, second = rig.new(), rig.new()
    rig.router.post(first)
    await asyncio.wait_for(broker.entered.wait(), 5)  # first is at the broker, held there
    rig.router.post(second)  # passed the gate, its send task is queued ...
    rig.halted = True  # ... and the kill switch lands before it runs
    broker.release.set()
    await rig.done()
    assert [o.id for o in broker.posts] == [first.id]
    assert first.status is OrderStatus.ACCEPTED
    assert second.status is OrderStatus.REJECTED and second.reason == "trading is HALTED"
    assert rig.counters["orders_sent"] == 1


async def test_the_last_check_before_sending_can_veto() -> None:
    broker = GateBroker()
    reasons: list[str] = []

    def blocked(order: Order) -> str:
        reasons.append(order.id)
        return "REDUCING: only orders that reduce a position may be sent"

    rig = Rig(broker, blocked=blocked)
    order = rig.new()
    rig.router.post(order)
    await rig.done()
    assert reasons == [order.id] and broker.posts == []
    assert order.status is OrderStatus.REJECTED and order.reason.startswith("REDUCING")
    assert rig.counters["orders_sent"] == 0


async def test_a_journal_that_cannot_be_written_means_the_order_is_never_sent() -> None:
    broker = GateBroker()
    journal = RaisingJournal()
    rig = Rig(broker, journal=journal)  # type: ignore[arg-type]
    order = rig.new()
    with Records("avin.engine") as log:
        rig.router.post(order)
        await rig.done()
    assert journal.calls == 1 and broker.posts == []
    assert order.status is OrderStatus.REJECTED and "journal cannot be written" in order.reason
    assert "disk full" in order.reason and rig.counters["orders_sent"] == 0
    assert any("not sent" in m for m in log.messages)


async def test_an_ambiguous_post_found_at_the_broker_by_its_key() -> None:
    broker = GateBroker()
    broker.post_error = TimeoutError("deadline exceeded")
    rig = Rig(broker)
    order = rig.new()
    broker.lookup = replace(order, status=OrderStatus.ACCEPTED, broker_id="x-found")
    rig.router.post(order)
    await rig.done()
    assert len(broker.posts) == 1 and broker.lookups == [order.id]  # looked up, never re-sent
    assert order.status is OrderStatus.ACCEPTED and order.broker_id == "x-found"


async def test_an_ambiguous_post_unknown_to_the_broker_is_rejected() -> None:
    broker = GateBroker()
    broker.post_error = ConnectionError("connection reset")
    rig = Rig(broker)
    order = rig.new()
    rig.router.post(order)
    await rig.done()
    assert len(broker.posts) == 1 and broker.lookups == [order.id]
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "not received by the broker: connection reset"


async def test_an_ambiguous_post_whose_lookup_fails_stays_in_flight() -> None:
    broker = GateBroker()
    broker.post_error = TimeoutError("deadline exceeded")
    broker.lookup = ConnectionError("still down")
    rig = Rig(broker)
    order = rig.new()
    with Records("avin.engine") as log:
        rig.router.post(order)
        await rig.done()
    assert order.status is OrderStatus.SUBMITTED  # neither rejected nor sent again
    assert len(broker.posts) == 1
    assert any("unresolved" in m for m in log.messages)


async def test_a_broker_rejection_keeps_its_detail() -> None:
    broker = GateBroker()
    broker.post_error = OrderRejected("k", "not enough money", code="30034")
    rig = Rig(broker)
    order = rig.new()
    rig.router.post(order)
    await rig.done()
    assert order.status is OrderStatus.REJECTED and "code 30034" in order.reason
    assert rig.counters == {"orders_sent": 1, "orders_rejected": 1}


async def test_a_cancel_during_the_post_is_sent_again_after_the_acknowledgement() -> None:
    broker = GateBroker(hold=True)
    rig = Rig(broker)
    order = rig.new()
    rig.router.post(order)
    await asyncio.wait_for(broker.entered.wait(), 5)
    assert order.status is OrderStatus.SUBMITTED and not order.broker_id
    rig.router.cancel(order.id)  # in flight: sent now (the broker does not know it yet) ...
    for _ in range(100):
        if broker.cancels:
            break
        await asyncio.sleep(0)
    assert broker.cancels == [order.id] and order.is_open
    broker.release.set()  # ... and again when the post returns
    await rig.done()
    assert broker.cancels == [order.id, order.id]
    assert order.status is OrderStatus.CANCELLED and order.broker_id.startswith("x-")


async def test_a_cancel_of_a_queued_order_never_sends_it() -> None:
    broker = GateBroker()
    rig = Rig(broker)
    order = rig.new()
    rig.router.cancel(order.id)
    rig.router.post(order)
    await rig.done()
    assert order.status is OrderStatus.CANCELLED and broker.posts == [] and broker.cancels == []


class Held(GateBroker):
    """Every call waits on ``release`` (post, lookup and cancel alike)."""

    async def get_order(self, account: str, key: str) -> Order | None:
        self.entered.set()
        await self.release.wait()
        return await super().get_order(account, key)

    async def cancel_order(self, account: str, key: str) -> Order:
        self.entered.set()
        await self.release.wait()
        return await super().cancel_order(account, key)


async def _cancel_task(rig: Rig, broker: GateBroker) -> asyncio.Task[Any]:
    await asyncio.wait_for(broker.entered.wait(), 5)
    (task,) = [t for t in rig.tasks if not t.done()]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return task


async def test_a_shutdown_cancels_a_post_in_flight_without_a_verdict() -> None:
    broker = Held(hold=True)
    rig = Rig(broker)
    order = rig.new()
    rig.router.post(order)
    task = await _cancel_task(rig, broker)
    assert task.cancelled() and order.status is OrderStatus.SUBMITTED  # in flight, not rejected


async def test_a_shutdown_cancels_a_lookup_in_flight() -> None:
    broker = Held()  # the post answers at once (released), with a timeout
    broker.post_error = TimeoutError("deadline exceeded")
    lookup_release = asyncio.Event()
    looking = asyncio.Event()

    async def held_lookup(account: str, key: str) -> Order | None:
        looking.set()
        await lookup_release.wait()
        return None

    broker.get_order = held_lookup  # type: ignore[method-assign]
    rig = Rig(broker)
    order = rig.new()
    rig.router.post(order)
    await asyncio.wait_for(looking.wait(), 5)  # the post failed; the key is being looked up
    (task,) = [t for t in rig.tasks if not t.done()]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled() and order.status is OrderStatus.SUBMITTED  # neither sent nor rejected
    assert len(broker.posts) == 1


async def test_a_shutdown_cancels_a_cancel_in_flight() -> None:
    broker = Held()
    rig = Rig(broker)
    order = rig.new()
    rig.router.post(order)
    await rig.done()
    assert order.status is OrderStatus.ACCEPTED
    broker.release.clear()
    broker.entered.clear()
    rig.router.cancel(order.id)
    task = await _cancel_task(rig, broker)
    assert task.cancelled() and order.status is OrderStatus.ACCEPTED


async def test_a_synchronous_cancel_that_fails_is_said_and_not_sent_again() -> None:
    class SyncCancels(GateBroker):
        def cancel_now(self, account: str, key: str) -> Order:
            raise RuntimeError("the market is closed")

    broker = SyncCancels()
    rig = Rig(broker)
    order = rig.new()
    rig.router.post(order)
    await rig.done()
    with Records("avin.engine") as log:
        rig.router.cancel(order.id)
    await rig.done()
    assert broker.cancels == []  # no asynchronous cancel after the synchronous one failed
    assert order.status is OrderStatus.ACCEPTED
    assert any("the market is closed" in m for m in log.messages)
