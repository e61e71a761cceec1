"""The intent journal: an order's key is recorded *before* the request is sent.

After a crash or an ambiguous failure the journal says which keys may exist at the broker; they are
resolved by looking the key up, never by posting again with a new key. The engine's order router
writes the intent (``record``) once, right before it hands the order to the broker; the broker
writes what it learns of the key (``resolve``). :class:`engine.state.journal.OrderJournal` is the
persistent journal (it survives restarts) and a broker that keeps links of its own in the journal
is handed it (:class:`engine.broker.base.JournalAware`); :class:`InMemoryJournal` is the stand-in
when a broker runs without one.

Some brokers do not look stop orders up by their key (T-Invest's StopOrdersService knows them by
the ``stop_order_id`` it answered). That id travels in the resolved order (``Order.broker_id`` of a
STOP / STOP_LIMIT / TAKE_PROFIT order), and :meth:`IntentJournal.stop_orders` gives the map back
after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from engine.model import Order, OrderType

STOP_TYPES = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT})


def stop_link(order: Order | None) -> tuple[str, str] | None:
    """(account, stop order id) of a resolved stop order, else None."""
    if order is None or order.type not in STOP_TYPES or not order.broker_id:
        return None
    return order.account, order.broker_id


@runtime_checkable
class IntentJournal(Protocol):
    def record(self, key: str, order: Order) -> None:
        """Called before the order is sent; must be durable when it returns."""
        ...

    def resolve(self, key: str, order: Order | None) -> None:
        """The broker's answer for ``key`` is known (``None``: it never reached the broker).

        For a stop order ``order.broker_id`` is the broker's stop order id: the journal keeps
        the link (see :meth:`stop_orders`).
        """
        ...

    def unresolved(self) -> list[tuple[str, Order]]:
        """Keys sent whose outcome is still unknown."""
        ...

    def stop_orders(self) -> dict[str, tuple[str, str]]:
        """Client key -> (account, stop order id) of every stop order the journal knows."""
        ...

    def stop_order(self, key: str) -> Order | None:
        """The stop order under ``key`` as last journalled (its type, prices, lots), else None:
        a stop avin keeps itself (``engine.broker.local_stops``) is re-armed from it."""
        ...


@dataclass(slots=True)
class _Entry:
    order: Order
    resolved: bool = False
    result: Order | None = None


class InMemoryJournal:
    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}

    def record(self, key: str, order: Order) -> None:
        entry = self.entries.get(key)
        if entry is None:
            self.entries[key] = _Entry(order)

    def resolve(self, key: str, order: Order | None) -> None:
        entry = self.entries.get(key)
        if entry is None and order is not None:
            entry = self.entries[key] = _Entry(order)
        if entry is not None:
            entry.resolved = True
            entry.result = order

    def unresolved(self) -> list[tuple[str, Order]]:
        return [(k, e.order) for k, e in self.entries.items() if not e.resolved]

    def stop_orders(self) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for key, entry in self.entries.items():
            link = stop_link(entry.result)
            if link is not None:
                out[key] = link
        return out

    def stop_order(self, key: str) -> Order | None:
        entry = self.entries.get(key)
        result = entry.result if entry is not None else None
        return result if stop_link(result) is not None else None
