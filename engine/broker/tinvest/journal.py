"""The intent journal: an order's key is recorded *before* the request is sent.

After a crash or an ambiguous failure the journal says which keys may exist at the broker; they are
resolved by looking the key up, never by posting again with a new key. :class:`InMemoryJournal` is
the stand-in until the engine's persistent journal is wired in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from engine.model import Order


@runtime_checkable
class IntentJournal(Protocol):
    def record(self, key: str, order: Order) -> None:
        """Called before the order is sent; must be durable when it returns."""
        ...

    def resolve(self, key: str, order: Order | None) -> None:
        """The broker's answer for ``key`` is known (``None``: it never reached the broker)."""
        ...

    def unresolved(self) -> list[tuple[str, Order]]:
        """Keys sent whose outcome is still unknown."""
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
        if entry is not None:
            entry.resolved = True
            entry.result = order

    def unresolved(self) -> list[tuple[str, Order]]:
        return [(k, e.order) for k, e in self.entries.items() if not e.resolved]
