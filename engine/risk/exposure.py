"""Worst-case exposure from the order book: a position plus every open order filling.

A limit on a position must hold whatever fills next, so the checks look at the worst case: the
position if every open buy fills, and if every open sell fills. An order that makes the worst case
no larger (it reduces) always passes a position, exposure or budget limit, even one already over
its limit (e.g. after the limit was lowered).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from engine.model import Order, Side


@dataclass(frozen=True, slots=True)
class Book:
    """Signed position and the remaining lots of open buy and sell orders."""

    lots: int = 0
    open_buy: int = 0
    open_sell: int = 0

    @property
    def worst(self) -> int:
        """The largest absolute position the open orders can reach."""
        return max(abs(self.lots + self.open_buy), abs(self.lots - self.open_sell))

    def with_order(self, side: Side, lots: int) -> Book:
        if side is Side.BUY:
            return Book(self.lots, self.open_buy + lots, self.open_sell)
        return Book(self.lots, self.open_buy, self.open_sell + lots)


def book_of(lots: int, orders: Iterable[Order], exclude: str = "") -> Book:
    buy = sell = 0
    for o in orders:
        if o.id == exclude or not o.is_open:
            continue
        if o.side is Side.BUY:
            buy += o.remaining_lots
        else:
            sell += o.remaining_lots
    return Book(lots, buy, sell)


def gross_exposure(
    books: dict[str, Book], price: Callable[[str], Decimal | None], lot: Callable[[str], int]
) -> Decimal:
    """Worst-case gross value of an account: every instrument's worst position at its price."""
    total = Decimal(0)
    for code, b in books.items():
        p = price(code)
        if p is not None:
            total += p * b.worst * lot(code)
    return total
