"""``OrderManager.open_orders`` looks only at orders that may still be open; a price marks only
the positions of its instrument.

A strategy-heavy day records thousands of orders; the pre-trade rules ask for the open ones on
every order, so scanning the whole history made each order slower than the one before
(bench/scale.py). An order that reached a terminal state never opens again: it is dropped from
the orders looked at, however it was closed, and one set again under its key (recovery replaces
orders by key) is looked at again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from engine.model import Fill, Order, OrderStatus, OrderType, Position, Side
from engine.model.order_book import OrderManager

TS = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)


def order(account: str = "acc", strategy: str = "s1") -> Order:
    return Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 1, account, strategy=strategy)


def accepted(book: OrderManager, o: Order) -> Order:
    book.record(o)
    book.mark_submitted(o.id, TS)
    book.apply_update(replace(o, status=OrderStatus.ACCEPTED), TS)
    return o


def test_open_orders_after_many_closed_ones_in_the_order_they_were_recorded() -> None:
    book = OrderManager()
    still_open: list[Order] = []
    for i in range(60):
        o = accepted(book, order(account="a2" if i % 2 else "acc", strategy=f"s{i % 3}"))
        if i % 10 == 3:
            still_open.append(o)
        elif i % 4 == 0:  # filled
            fill = Fill(o.id, o.instrument, o.side, 1, Decimal(100), Decimal(0), TS, f"f{i}", "acc")
            book.apply_fill(fill)
        elif i % 4 == 1:  # cancelled by the broker
            book.apply_update(replace(o, status=OrderStatus.CANCELLED), TS)
        else:  # moved by someone holding the order (the router's cancel before sending)
            o.transition(OrderStatus.CANCELLED, TS, "cancelled before sending")
    book.reject_local(order(), "self_trade: ...", TS)
    assert book.open_orders() == still_open
    assert book.open_orders(account="acc") == [o for o in still_open if o.account == "acc"]
    assert book.open_orders(strategy="s0") == [o for o in still_open if o.strategy == "s0"]
    assert len(book.orders) == 61
    assert list(book.orders.maybe_open) == [o.id for o in still_open]  # the closed: dropped


def test_an_order_set_again_under_its_key_is_looked_at_again() -> None:
    book = OrderManager()
    o = accepted(book, order())
    book.apply_update(replace(o, status=OrderStatus.CANCELLED), TS)
    assert book.open_orders() == []
    again = replace(o, status=OrderStatus.ACCEPTED)  # what recovery does with the broker's view
    book.orders[o.id] = again
    assert book.open_orders() == [again]


def test_a_price_marks_the_positions_of_its_instrument_only() -> None:
    book = OrderManager()
    sber = book.position("acc", "MOEX_SHARE_SBER")
    gazp = book.position("acc", "MOEX_SHARE_GAZP")
    book.bind_strategy("s1", "MOEX_SHARE_SBER", "acc")
    book.bind_strategy("s2", "MOEX_SHARE_GAZP", "acc")
    restored = Position("MOEX_SHARE_SBER", account="acc")
    book.strategy_positions["s2"] = restored  # replaced under its key (recovery): re-indexed
    book.mark("MOEX_SHARE_SBER", Decimal("301.5"))
    assert sber.last_price == Decimal("301.5") and gazp.last_price != Decimal("301.5")
    assert book.strategy_position("s1").last_price == Decimal("301.5")
    assert restored.last_price == Decimal("301.5")
    book.mark("MOEX_SHARE_GAZP", Decimal("140"))
    assert gazp.last_price == Decimal("140") and restored.last_price == Decimal("301.5")
