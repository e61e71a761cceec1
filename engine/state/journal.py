"""The engine's order journal: intents before sending, every order change and fill after.

:class:`OrderJournal` is the persistent :class:`engine.orders.journal.IntentJournal`: the order
router writes each intent (``record``, once per key) before the order is sent, and a broker that
keeps links of its own (:class:`engine.broker.base.JournalAware`, e.g. T-Invest's stop order ids)
writes what it learns of a key (``resolve``).
The link of a stop order's key to the broker's stop order id needs no event of its own: it is the
``broker_id`` of the stop order in its ``resolve`` / ``order`` events (and in state snapshots), and
comes back after a restart through :meth:`OrderJournal.adopt_keys`.
"""

from __future__ import annotations

import threading

from engine.model import Fill, Order, OrderStatus
from engine.orders.journal import stop_link
from engine.state.base import BaseStore
from engine.state.codec import decode_order, encode_fill, encode_order

_IN_FLIGHT = frozenset({OrderStatus.NEW, OrderStatus.SUBMITTED})


class OrderJournal:
    def __init__(self, store: BaseStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._recorded: set[str] = set()
        self._unresolved: dict[str, Order] = {}
        self._stops: dict[str, tuple[str, str]] = {}  # key -> (account, stop order id)
        self._stop_orders: dict[str, Order] = {}  # key -> the stop order as last journalled
        self.last_seq = store.last_seq()

    # --- IntentJournal ------------------------------------------------------------------------

    def record(self, key: str, order: Order) -> None:
        """Write the intent for ``key`` (durable when this returns), once per key."""
        with self._lock:
            if key in self._recorded:
                return
            self.last_seq = self.store.append("intent", key, encode_order(order))
            self._recorded.add(key)
            self._unresolved[key] = order

    def resolve(self, key: str, order: Order | None) -> None:
        with self._lock:
            self._unresolved.pop(key, None)
            data = {"order": None if order is None else encode_order(order)}
            self.last_seq = self.store.append("resolve", key, data)
            self._link(key, order)

    def unresolved(self) -> list[tuple[str, Order]]:
        with self._lock:
            return list(self._unresolved.items())

    def stop_orders(self) -> dict[str, tuple[str, str]]:
        with self._lock:
            return dict(self._stops)

    def stop_order(self, key: str) -> Order | None:
        with self._lock:
            return self._stop_orders.get(key)

    def _link(self, key: str, order: Order | None) -> None:
        link = stop_link(order)
        if link is not None and order is not None:
            self._stops[key] = link
            self._stop_orders[key] = order

    # --- events -------------------------------------------------------------------------------

    def order(self, order: Order, kind: str = "order") -> None:
        with self._lock:
            self.last_seq = self.store.append(kind, order.id, encode_order(order))
            self._recorded.add(order.id)
            self._link(order.id, order)
            if order.status not in _IN_FLIGHT:
                self._unresolved.pop(order.id, None)

    def fill(self, fill: Fill) -> None:
        with self._lock:
            self.last_seq = self.store.append("fill", fill.order_id, encode_fill(fill))

    def net(self, data: dict[str, object]) -> None:
        """A netting (engine.runtime.netting): the net order's key, each internal order's share
        of it and the lots crossed inside; written before the net order's intent and the
        crossed fills."""
        with self._lock:
            self.last_seq = self.store.append("net", str(data.get("net", "")), dict(data))

    def note(self, data: dict[str, object]) -> None:
        with self._lock:
            self.last_seq = self.store.append("note", "", dict(data))

    def known(self, key: str) -> bool:
        return key in self._recorded

    def adopt_keys(self, orders: list[Order]) -> None:
        """Keys recovered from the store: never recorded (or sent) again."""
        with self._lock:
            for order in orders:
                self._recorded.add(order.id)
                self._link(order.id, order)
                if order.status in _IN_FLIGHT:
                    self._unresolved[order.id] = order
                else:
                    self._unresolved.pop(order.id, None)


def order_from(data: dict[str, object]) -> Order:
    return decode_order(dict(data))
