"""The engine's netting desk (engine.runtime.netting) on a bare order book: a turn's market orders
are held and netted at its end; what would meet an opposite market order still working at the
broker waits for it to finish, so the broker never holds two opposite working orders."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.model import Fill, Order, OrderStatus, OrderType, Side
from engine.model.order_book import OrderManager
from engine.runtime.netting import NettingDesk

NOW = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
PRICE = Decimal("100.5")


class Desk:
    def __init__(self) -> None:
        self.book = OrderManager()
        self.sent: list[Order] = []
        self.journal: list[tuple[str, Any]] = []
        self.counters: dict[str, int] = {}
        self.desk = NettingDesk(
            self.book,
            send=self.sent.append,
            on_fill=self.fill,
            journal_order=lambda o: self.journal.append(("order", o.id)),
            journal_net=lambda d: self.journal.append(("net", d)),
            price=lambda code: PRICE,
            clock=lambda: NOW,
            counters=self.counters,
        )

    def fill(self, fill: Fill) -> None:
        self.journal.append(("fill", fill.fill_id))
        self.book.apply_fill(fill)

    def queue(self, strategy: str, side: Side, lots: int) -> Order:
        order = Order("SBER", side, OrderType.MARKET, lots, "acc", strategy=strategy)
        self.book.record(order)
        assert self.desk.hold(order)
        return order


def test_outside_a_turn_and_for_limit_orders_nothing_is_held() -> None:
    d = Desk()
    market = Order("SBER", Side.BUY, OrderType.MARKET, 1, "acc")
    assert not d.desk.hold(market)
    with d.desk.turn():
        limit = Order("SBER", Side.BUY, OrderType.LIMIT, 1, "acc", price=PRICE)
        assert not d.desk.hold(limit)


def test_a_turn_crosses_inside_and_journals_before_the_fills() -> None:
    d = Desk()
    with d.desk.turn():
        a = d.queue("a", Side.BUY, 2)
        b = d.queue("b", Side.SELL, 1)
        assert d.sent == []  # held until the turn ends
    (net,) = d.sent
    assert (net.side, net.lots, net.strategy) == (Side.BUY, 1, "")
    assert a.internal and b.internal and not net.internal
    kinds = [k for k, _ in d.journal]
    assert kinds == ["order", "order", "net", "fill", "fill"]  # orders, net event, then fills
    assert d.book.strategy_position("a").lots == 1 and d.book.strategy_position("b").lots == -1
    assert d.book.position("acc", "SBER").lots == 0
    # the net order's fill: the account moves, the share goes to a
    d.book.mark_submitted(net.id, NOW)
    result = d.book.apply_fill(Fill(net.id, "SBER", Side.BUY, 1, PRICE, Decimal("0.05"), NOW))
    assert [(f.order_id, f.lots, f.commission) for f in result.allocated] == [
        (a.id, 1, Decimal("0.05"))
    ]
    assert d.book.strategy_position("a").lots == 2 and a.status is OrderStatus.FILLED
    assert d.book.position("acc", "SBER").lots == 1
    assert d.counters == {"crossed_lots": 1, "net_orders": 1}


def test_an_order_opposite_a_working_market_order_waits_for_it() -> None:
    d = Desk()
    working = Order("SBER", Side.SELL, OrderType.MARKET, 3, "acc", strategy="w")
    d.book.record(working)
    d.book.mark_submitted(working.id, NOW)  # at the broker, not filled yet
    with d.desk.turn():
        assert d.desk.pairs(Order("SBER", Side.BUY, OrderType.MARKET, 1, "acc"), working)
        buy = d.queue("a", Side.BUY, 2)
    assert d.sent == [] and d.desk.waiting == 1  # never two opposite working orders
    with d.desk.turn():  # a later turn's sell joins it and they cross
        sell = d.queue("b", Side.SELL, 1)
    assert d.sent == [] and d.desk.waiting == 2
    d.book.apply_fill(Fill(working.id, "SBER", Side.SELL, 3, PRICE, Decimal(0), NOW))
    d.desk.release(working)
    (net,) = d.sent
    assert (net.side, net.lots) == (Side.BUY, 1) and d.desk.waiting == 0
    assert buy.internal and sell.internal
    assert d.book.strategy_position("b").lots == -1


def test_a_cancelled_waiting_order_is_dropped_and_a_net_order_that_ends_ends_its_shares() -> None:
    d = Desk()
    working = Order("SBER", Side.SELL, OrderType.MARKET, 1, "acc", strategy="w")
    d.book.record(working)
    d.book.mark_submitted(working.id, NOW)
    with d.desk.turn():
        buy = d.queue("a", Side.BUY, 1)
    buy.transition(OrderStatus.CANCELLED, NOW, "cancelled before sending")  # a kill
    working.transition(OrderStatus.CANCELLED, NOW)
    d.desk.release(working)
    assert d.sent == [] and d.desk.waiting == 0
    with d.desk.turn():
        a = d.queue("a", Side.BUY, 3)
        d.queue("b", Side.SELL, 1)
    (net,) = d.sent
    d.book.mark_submitted(net.id, NOW)
    net.transition(OrderStatus.REJECTED, NOW, "market closed")
    (changed,) = d.book.finish_net(net)
    assert changed is a and a.status is OrderStatus.CANCELLED  # partly crossed: not REJECTED
    assert a.reason == f"net order {net.id[:8]} rejected: market closed"
    assert d.book.strategy_position("a").lots == 1  # the crossed lot stays
