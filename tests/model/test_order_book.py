from datetime import UTC, datetime
from decimal import Decimal

import pytest

from engine.model import Fill, Order, OrderStatus, OrderType, Side
from engine.model.order_book import DuplicateOrder, OrderManager

TS = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)


def order(side: Side = Side.BUY, lots: int = 2) -> Order:
    return Order("MOEX_SHARE_SBER", side, OrderType.MARKET, lots, "acc", strategy="s1")


def view(o: Order, status: OrderStatus) -> Order:
    return Order(o.instrument, o.side, o.type, o.lots, o.account, id=o.id, status=status)


def fill(o: Order, lots: int, price: str, fid: str) -> Fill:
    return Fill(o.id, o.instrument, o.side, lots, Decimal(price), Decimal("0.1"), TS, fid, "acc")


def test_lifecycle_updates_and_fills() -> None:
    book = OrderManager(lambda code: 10)
    o = book.record(order())
    with pytest.raises(DuplicateOrder):
        book.record(o)
    book.mark_submitted(o.id, TS)
    assert book.apply_update(view(o, OrderStatus.SUBMITTED), TS) is None
    assert book.apply_update(view(o, OrderStatus.ACCEPTED), TS) is o
    assert book.apply_update(view(o, OrderStatus.FILLED), TS) is None  # fills drive FILLED
    book.apply_fill(fill(o, 1, "100", "f1"))
    assert o.status is OrderStatus.PARTIALLY_FILLED
    assert book.apply_fill(fill(o, 1, "100", "f1")).duplicate  # the same fill id is ignored
    assert book.apply_update(view(o, OrderStatus.ACCEPTED), TS) is None  # stale
    book.apply_fill(fill(o, 1, "102", "f2"))
    assert o.status is OrderStatus.FILLED and o.avg_fill_price == Decimal(101)
    pos = book.position("acc", o.instrument)
    assert pos.lots == 2 and pos.lot_size == 10 and pos.commission == Decimal("0.2")
    assert book.strategy_position("s1").lots == 2
    assert book.open_orders() == []


def test_local_reject_and_cancel_paths() -> None:
    book = OrderManager()
    o = book.reject_local(order(), "trading is HALTED", TS)
    assert o.status is OrderStatus.REJECTED and o.reason == "trading is HALTED"
    o2 = book.record(order(Side.SELL))
    book.mark_submitted(o2.id, TS)
    cancelled = view(o2, OrderStatus.CANCELLED)
    assert book.apply_update(cancelled, TS) is o2 and o2.status is OrderStatus.CANCELLED
    assert book.apply_update(view(o2, OrderStatus.ACCEPTED), TS) is None


def test_a_fill_for_an_unknown_order_still_moves_the_position() -> None:
    book = OrderManager()
    ghost = order()
    book.apply_fill(fill(ghost, 2, "50", "g1"))
    assert book.position("acc", ghost.instrument).lots == 2
