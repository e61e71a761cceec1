"""Netting, property-based: for any interleaving of strategies' market orders (in bars), broker
fills (partial, at any price), broker cancels and fills of orders no strategy placed:

- each strategy's position is the sum of its own fills (crossed inside and shares of net fills);
- the account's position is the strategies' plus the external fills;
- the broker never holds two opposite working orders of the account and instrument that would
  trade with each other (a market order crosses everything; limit orders of rows rest apart,
  placed through the self-trade rule, and what a bar leaves for the broker against one is
  refused);
- the strategies' P&L plus the crossing adjustment (the crossed fills' money: zero, both sides
  are booked at one price) is the account's P&L minus the external fills' P&L (Decimal).

The harness wires the order book and the netting desk the way the engine's kernel does (send,
fill, an order that ends: its net order's shares end and waiting orders are released); the
engine itself is driven in tests/orders/test_netting_engine.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.model import Fill, Order, OrderStatus, OrderType, Position, Side
from engine.model.order_book import OrderManager
from engine.risk.checks import Rejection, crosses, crossing
from engine.runtime.netting import NettingDesk

NOW = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
CODE, ACC, LOT = "SBER", "acc", 10
STRATEGIES = ("s0", "s1", "s2", "s3")
TOLERANCE = Decimal("1e-12")  # Decimal division in average prices, nothing more


class Harness:
    def __init__(self) -> None:
        self.book = OrderManager(lambda code: LOT)
        self.price = Decimal("100")
        self.working: list[Order] = []  # at the broker
        self.external = Position(CODE, lot_size=LOT)
        self.fill_no = 0
        self.refused = 0
        self.desk = NettingDesk(
            self.book,
            send=self.send,
            on_fill=self.apply,
            journal_order=lambda order: None,
            journal_net=lambda data: None,
            price=lambda code: self.price,
            clock=lambda: NOW,
            counters={},
            refuse=self.refuse,
        )

    # --- the kernel's wiring ----------------------------------------------------------------

    def send(self, order: Order) -> None:
        assert not order.internal
        for other in self.working:
            assert not (other.is_open and crosses(order, other)), "opposite working orders"
        self.book.mark_submitted(order.id, NOW)
        self.working.append(order)

    def refuse(self, order: Order, rejection: Rejection) -> None:
        assert rejection.rule == "self_trade"
        self.refused += 1
        status = OrderStatus.REJECTED
        if not order.can_transition(status):
            status = OrderStatus.CANCELLED
        order.transition(status, NOW, str(rejection))
        self.changed(order)

    def apply(self, fill: Fill) -> None:
        result = self.book.apply_fill(fill)
        for order in [result.order, *(self.book.get(f.order_id) for f in result.allocated)]:
            if order is not None:
                self.changed(order)

    def changed(self, order: Order) -> None:
        if order.status.is_terminal and order.id in self.book.net_shares:
            for child in self.book.finish_net(order):
                self.changed(child)
        self.desk.release(order)

    # --- what happens -------------------------------------------------------------------------

    def bar(self, intents: list[tuple[int, bool, int]]) -> None:
        with self.desk.turn():
            for who, buy, lots in intents:
                order = Order(
                    CODE,
                    Side.BUY if buy else Side.SELL,
                    OrderType.MARKET,
                    lots,
                    ACC,
                    strategy=STRATEGIES[who],
                )
                self.book.record(order)
                assert self.desk.hold(order)

    def rest(self, who: int, buy: bool, lots: int, ticks: int) -> None:
        """A row's limit order away from the market, through the self-trade rule (the gate)."""
        side = Side.BUY if buy else Side.SELL
        price = self.price - ticks * side.sign * Decimal("0.5")
        order = Order(CODE, side, OrderType.LIMIT, lots, ACC, price, strategy=STRATEGIES[who])
        resting = [o for o in self.book.open_orders(account=ACC) if not o.internal]
        if crossing(order, resting) is not None:
            return  # refused at once: never recorded as working
        self.book.record(order)
        self.send(order)

    def broker_fill(self, pick: int, part: int, price: Decimal, fee: Decimal) -> None:
        self.working = [o for o in self.working if o.is_open]
        if not self.working:
            return
        order = self.working[pick % len(self.working)]
        lots = 1 + part % order.remaining_lots
        self.fill_no += 1
        fill = Fill(order.id, CODE, order.side, lots, price, fee, NOW, f"b{self.fill_no}", ACC)
        self.apply(fill)

    def broker_cancel(self, pick: int) -> None:
        self.working = [o for o in self.working if o.is_open]
        if not self.working:
            return
        order = self.working[pick % len(self.working)]
        order.transition(OrderStatus.CANCELLED, NOW, "cancelled by client")
        self.changed(order)

    def external_fill(self, buy: bool, lots: int, price: Decimal) -> None:
        self.fill_no += 1
        side = Side.BUY if buy else Side.SELL
        fill = Fill(
            f"x{self.fill_no}", CODE, side, lots, price, Decimal(0), NOW, f"x{self.fill_no}"
        )
        fill.account = ACC
        self.apply(fill)
        self.external.apply_fill(fill)

    # --- the invariants -----------------------------------------------------------------------

    def check(self) -> None:
        book = self.book
        own: dict[str, int] = dict.fromkeys(STRATEGIES, 0)
        crossing = Decimal(0)
        for fill in book.fills:
            order = book.get(fill.order_id)
            if order is None or not order.strategy:
                continue
            own[order.strategy] += fill.lots * fill.side.sign
            if fill.fill_id.startswith("cross:"):
                crossing -= fill.price * fill.lots * LOT * fill.side.sign
        for sid in STRATEGIES:
            assert book.strategy_position(sid, CODE).lots == own[sid], sid
        account = book.position(ACC, CODE)
        assert account.lots == sum(own.values()) + self.external.lots
        assert crossing == 0  # one price for both sides of a cross: no money moves
        mark = self.price
        strategies = sum(book.strategy_position(s, CODE).total_pnl(mark) for s in STRATEGIES)
        outside = self.external.total_pnl(mark) if self.external.trades else Decimal(0)
        diff = strategies + crossing - (account.total_pnl(mark) - outside)
        assert abs(diff) < TOLERANCE, diff
        at_broker = [o for o in self.working if o.is_open]
        assert not any(crosses(a, b) for a in at_broker for b in at_broker if a is not b)


prices = st.decimals(min_value=Decimal("90"), max_value=Decimal("110"), places=2)
intent = st.tuples(st.integers(0, len(STRATEGIES) - 1), st.booleans(), st.integers(1, 5))
step = st.one_of(
    st.tuples(st.just("bar"), st.lists(intent, min_size=1, max_size=6)),
    st.tuples(
        st.just("fill"),
        st.integers(0, 9),
        st.integers(0, 9),
        prices,
        st.decimals(min_value=Decimal(0), max_value=Decimal("3"), places=2),
    ),
    st.tuples(st.just("cancel"), st.integers(0, 9)),
    st.tuples(st.just("external"), st.booleans(), st.integers(1, 3), prices),
    st.tuples(st.just("mark"), prices),
    st.tuples(
        st.just("rest"),
        st.integers(0, len(STRATEGIES) - 1),
        st.booleans(),
        st.integers(1, 3),
        st.integers(1, 10),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=40))
def test_positions_orders_and_pnl_add_up_for_any_interleaving(steps: list[Any]) -> None:
    h = Harness()
    for kind, *args in steps:
        if kind == "bar":
            h.bar(args[0])
        elif kind == "fill":
            h.broker_fill(*args)
        elif kind == "cancel":
            h.broker_cancel(*args)
        elif kind == "external":
            h.external_fill(*args)
        elif kind == "rest":
            h.rest(*args)
        else:
            h.price = args[0]
        h.check()
    # every order the broker finishes: nothing waits forever, the shares all settle
    for _ in range(50):
        h.working = [o for o in h.working if o.is_open]
        if not h.working:
            break
        h.broker_fill(0, 10**6, h.price, Decimal("0.01"))
        h.check()
    assert h.desk.waiting == 0
    assert not h.book.net_shares
    assert all(not o.is_open for o in h.book.orders.values())
