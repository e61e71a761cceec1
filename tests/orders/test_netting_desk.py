"""The engine's netting desk (engine.runtime.netting) on a bare order book: a turn's market orders
are held and netted at its end; what would meet an opposite market order still working at the
broker waits for it to finish, so the broker never holds two opposite working orders."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.model import Fill, Order, OrderStatus, OrderType, Side
from engine.model.order_book import OrderManager
from engine.runtime.netting import MAX_ROUNDS, NettingDesk

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


def _working(d: Desk, side: Side, lots: int = 1) -> Order:
    order = Order("SBER", side, OrderType.MARKET, lots, "acc", strategy="w")
    d.book.record(order)
    d.book.mark_submitted(order.id, NOW)
    return order


def test_a_release_during_a_turn_waits_for_its_end() -> None:
    d = Desk()
    working = _working(d, Side.SELL)
    with d.desk.turn():
        d.queue("a", Side.BUY, 1)
    assert d.desk.waiting == 1
    with d.desk.turn():
        working.transition(OrderStatus.CANCELLED, NOW)
        d.desk.release(working)  # in the middle of a turn: noted, not acted on
        assert d.sent == []
    (sent,) = d.sent  # at the end of the turn
    assert sent.strategy == "a" and d.desk.waiting == 0
    d.desk.release(sent)  # an order nobody waits for: nothing happens
    assert len(d.sent) == 1


def test_without_the_self_trade_rule_what_is_left_goes_out_despite_a_resting_limit() -> None:
    for rule in (True, False):
        d = Desk()
        d.desk._self_trade = lambda rule=rule: rule  # type: ignore[misc]
        refused: list[str] = []
        d.desk._refuse = lambda order, why, out=refused: out.append(str(why))  # type: ignore[misc]
        limit = Order("SBER", Side.BUY, OrderType.LIMIT, 1, "acc", price=PRICE, strategy="r")
        d.book.record(limit)
        d.book.mark_submitted(limit.id, NOW)
        with d.desk.turn():
            d.queue("a", Side.SELL, 1)
        assert (len(d.sent), len(refused)) == ((0, 1) if rule else (1, 0))


def test_hooks_that_keep_ordering_are_netted_a_few_rounds_then_sent_as_they_are() -> None:
    d = Desk()
    fills: list[str] = []

    def place(strategy: str, side: Side) -> None:  # the kernel's _post: held, or sent now
        order = Order("SBER", side, OrderType.MARKET, 1, "acc", strategy=strategy)
        d.book.record(order)
        if not d.desk.hold(order):
            d.sent.append(order)

    def fill(f: Fill) -> None:  # every crossed buy's hook places another pair
        fills.append(f.fill_id)
        d.book.apply_fill(f)
        if f.side is Side.BUY:
            place("a", Side.BUY)
            place("b", Side.SELL)

    d.desk._on_fill = fill  # type: ignore[assignment]
    with d.desk.turn():
        place("a", Side.BUY)
        place("b", Side.SELL)
    assert len(fills) == 2 * (MAX_ROUNDS + 1)  # the first pair and MAX_ROUNDS more, crossed
    assert sorted(o.side.value for o in d.sent) == ["buy", "sell"]  # the last pair: as placed
    assert d.desk._depth == 0


def test_the_order_book_side_of_netting_edges() -> None:
    book = OrderManager()
    book.adopt_net("n", {"a": 0})  # nothing open: nothing kept
    assert book.net_shares == {}
    a = Order("SBER", Side.BUY, OrderType.MARKET, 2, "acc", strategy="a", internal=True)
    b = Order("SBER", Side.BUY, OrderType.MARKET, 1, "acc", strategy="b", internal=True)
    net = Order("SBER", Side.BUY, OrderType.MARKET, 3, "acc")
    for order in (a, b, net):
        book.record(order)
        book.mark_submitted(order.id, NOW)
    book.adopt_net(net.id, {a.id: 2, b.id: 1})
    assert book.finish_net(net) == []  # still working
    book.remember_fills(["f1:net:0"])  # a share booked before a restart is not booked again
    result = book.apply_fill(Fill(net.id, "SBER", Side.BUY, 3, PRICE, Decimal("0.03"), NOW, "f1"))
    assert [f.order_id for f in result.allocated] == [b.id]
    assert book.strategy_position("a").lots == 0 and book.strategy_position("b").lots == 1
    # a share that does not fit its order is logged, the strategy's position is still booked
    book.apply_fill(Fill(b.id, "SBER", Side.BUY, 5, PRICE, Decimal(0), NOW, "bad"))
    assert book.strategy_position("b").lots == 6
    # an ended net order leaves its closed shares alone
    other = Order("SBER", Side.SELL, OrderType.MARKET, 1, "acc", strategy="c", internal=True)
    net2 = Order("SBER", Side.SELL, OrderType.MARKET, 1, "acc")
    for order in (other, net2):
        book.record(order)
        book.mark_submitted(order.id, NOW)
    book.adopt_net(net2.id, {other.id: 1, "gone": 1})
    other.transition(OrderStatus.CANCELLED, NOW)
    net2.transition(OrderStatus.EXPIRED, NOW)
    assert book.finish_net(net2) == [] and book.net_shares == {}
