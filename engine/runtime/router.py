"""Orders to and from the broker: post, cancel, and resolve ambiguous outcomes by key.

The order is journalled in the :class:`~engine.model.order_book.OrderManager` before the router is
called. A post that fails without a verdict (timeout, disconnect) is never sent again with a new
key: the router asks the broker for that key and takes its answer. A cancel asked for while the
post is still in flight is sent at once and again when the post returns.

A broker that can cancel synchronously (the simulated market's ``cancel_now``) is asked at the
moment of the cancel, so no market event gets in between. When the answer to a cancel says the
order was filled meanwhile, the fills the engine has not seen are booked (``settle``) and the log
says so: an order never stays open at the engine once the broker has finished it.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime
from typing import Any

from engine.broker.base import Broker, InstantCancel, OrderRejected
from engine.model import Order, OrderStatus
from engine.model.incidents import incident
from engine.model.order_book import OrderManager
from engine.orders.journal import IntentJournal

log = logging.getLogger("avin.engine")

REQUEST = "request: "  # task name prefix of posts and cancels in flight

Spawn = Callable[[Coroutine[Any, Any, Any], str], "asyncio.Task[Any]"]


class OrderRouter:
    def __init__(
        self,
        broker: Broker,
        book: OrderManager,
        *,
        spawn: Spawn,
        clock: Callable[[], datetime | None],
        changed: Callable[[Order], None],
        reject: Callable[[Order, str], Order],
        counters: dict[str, int],
        blocked: Callable[[Order], str] | None = None,
        journal: IntentJournal | None = None,
        settle: Callable[[Order, Order], None] | None = None,
    ) -> None:
        self.broker = broker
        self.book = book
        self._spawn = spawn
        self._clock = clock
        self._changed = changed
        self._reject = reject
        self._counters = counters
        # the last check before sending: the trading state may have changed since the order
        # passed the pre-trade rules (the reason, empty to go)
        self._blocked = blocked
        self._cancel_after_ack: set[str] = set()
        self._journal = journal  # the intent is written here before the order is sent
        self._settle = settle  # books fills the broker reports and the engine never saw

    def post(self, order: Order) -> None:
        """Schedule the post of a recorded NEW order."""
        self._spawn(self._post(order), f"{REQUEST}post {order.id[:8]}")

    def cancel(self, key: str, *, asked: bool = False) -> None:
        """Cancel an open order; ``asked`` (the user's ``x``): the log says what happens."""
        order = self.book.get(key)
        parent = self.book.net_parent.get(key) if order is not None and order.internal else None
        if parent is not None:  # netted: its lots are at the broker in the net order
            log.info("order %s is netted: cancelling its net order %s", key[:8], parent[:8])
            key, order = parent, self.book.get(parent)
        if order is None or not order.is_open:
            if asked and order is None:
                log.warning("cancel: no order %s is known", key)
            elif asked and order is not None:
                log.info("order %s is %s: nothing to cancel", key[:8], order.status.value)
            return
        if asked:
            log.info("cancelling order %s (%s)", key[:8], order.status.value)
        if order.status is OrderStatus.NEW:  # queued, not sent yet: it never leaves
            order.transition(OrderStatus.CANCELLED, self._clock(), "cancelled before sending")
            self.book.version += 1
            self._changed(order)
            return
        if order.status is OrderStatus.SUBMITTED and not order.broker_id:
            self._cancel_after_ack.add(key)  # the post is in flight: cancel again when it returns
        elif self._cancel_now(order):
            return
        self._spawn(self._send_cancel(order), f"{REQUEST}cancel {key[:8]}")

    def _cancel_now(self, order: Order) -> bool:
        """A broker that cancels synchronously does it now, before any further market event."""
        if not isinstance(self.broker, InstantCancel):
            return False
        try:
            view = self.broker.cancel_now(order.account, order.id)
        except Exception as exc:
            log.warning("cancel of order %s failed: %s", order.id[:8], exc)
            return True
        self._answer(order, view)
        return True

    def cancel_all(self, keys: list[str]) -> None:
        for key in keys:
            self.cancel(key)

    async def _post(self, order: Order) -> None:
        if order.status is not OrderStatus.NEW:
            return  # cancelled before it left
        reason = self._blocked(order) if self._blocked is not None else ""
        if reason:
            self._reject(order, reason)
            return
        if self._journal is not None:
            try:
                self._journal.record(order.id, order)
            except Exception as exc:  # never send what is not journalled
                log.critical("order %s not sent: the journal failed: %s", order.id[:8], exc)
                self._reject(order, f"the order journal cannot be written: {exc}")
                return
        self.book.mark_submitted(order.id, self._clock())
        self._counters["orders_sent"] += 1
        try:
            view = await self.broker.post_order(copy.deepcopy(order))
        except OrderRejected as exc:
            self._counters["orders_rejected"] += 1
            # the broker's code, tracking id and advice stay with the order (log, UI, status)
            self._apply(replace(order, status=OrderStatus.REJECTED, reason=exc.detail))
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("sending order %s failed: %s; asking the broker", order.id[:8], exc)
            await self._resolve(order, exc)
            return
        self._apply(view)
        if order.id in self._cancel_after_ack:
            self._cancel_after_ack.discard(order.id)
            self.cancel(order.id)

    async def _resolve(self, order: Order, error: Exception) -> None:
        """An ambiguous post: look the key up instead of sending again."""
        try:
            view = await self.broker.get_order(order.account, order.id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("order %s is in flight and unresolved: %s", order.id[:8], exc)
            incident("order in flight, unresolved", order=order.id, error=str(exc))
            return
        if view is None:
            reason = f"not received by the broker: {error}"
            self._apply(replace(order, status=OrderStatus.REJECTED, reason=reason))
        else:
            self._apply(view)

    async def _send_cancel(self, order: Order) -> None:
        try:
            view = await self.broker.cancel_order(order.account, order.id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if order.is_open:
                log.warning("cancel of order %s failed: %s", order.id[:8], exc)
            return
        self._cancel_after_ack.discard(order.id)
        self._answer(order, view)

    def _answer(self, order: Order, view: Order) -> None:
        """The broker's answer to a cancel: cancelled, or finished otherwise (said and booked)."""
        if order.is_open and view.status.is_terminal and view.status is not OrderStatus.CANCELLED:
            log.warning(
                "cancel of order %s came too late: the broker has it %s (%d/%d lot(s))",
                order.id[:8],
                view.status.value,
                view.filled_lots,
                view.lots,
            )
        if self._settle is not None and order.is_open and view.filled_lots > order.filled_lots:
            self._settle(order, view)
        self._apply(view)

    def _apply(self, view: Order) -> None:
        changed = self.book.apply_update(view, self._clock())
        if changed is not None:
            self._changed(changed)
