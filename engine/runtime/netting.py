"""The netting desk: the market orders strategies queue in one turn, crossed before they go out.

A *turn* is one closed bar handed to every strategy on it (:meth:`Kernel._on_bar_event`). While
it lasts, a strategy's market order that passed the pre-trade rules is recorded (NEW, counted in
every worst-case limit) but held here instead of being sent. At the end of the turn the held
orders of each account and instrument are either sent as they are (all on one side: nothing to
cross) or netted (:func:`engine.orders.netting.plan`): the orders become *internal* (never sent),
the crossed lots are filled at once at the market's last trade price without commission, and the
remainder goes to the broker as one net order owned by no strategy whose fills the order book
splits back over them (:meth:`OrderManager._allocate`). What is left for the broker waits when
it would meet an opposite market order still working there (it is netted again with later turns'
orders when that one ends: ``release``), and is refused as ``self_trade`` when it would cross a
resting limit or stop order; the part crossed inside stands either way.

The journal gets, in this order: each internal order (its ``internal`` flag set), a ``net`` event
(the net order's key and each order's share of it), the net order's intent (the router), the
crossed fills (``cross:<net key>:<n>``, ``fill`` events). Replaying them after a crash rebuilds
the same positions; a crossed fill is booked once by its id. An order that cannot be crossed
because no price is known is sent as it is (the pre-trade rules refuse market orders without a
price, so this does not happen in practice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.model import Fill, Order, OrderType, Side, new_order_key
from engine.model.order_book import OrderManager
from engine.orders.netting import NetPlan, nets, plan
from engine.risk.checks import Rejection, crossing

log = logging.getLogger("avin.engine")

MAX_ROUNDS = 8  # orders placed from the hooks of crossed fills are netted again, this often


class NettingDesk:
    def __init__(
        self,
        book: OrderManager,
        *,
        send: Callable[[Order], None],
        on_fill: Callable[[Fill], None],
        journal_order: Callable[[Order], None],
        journal_net: Callable[[dict[str, Any]], None],
        price: Callable[[str], Decimal | None],
        clock: Callable[[], datetime | None],
        counters: dict[str, int],
        refuse: Callable[[Order, Rejection], None] | None = None,
        self_trade: Callable[[], bool] = lambda: True,
    ) -> None:
        self.book = book
        self._send = send  # the router's post
        self._on_fill = on_fill  # book, journal and tell the strategy (the kernel's on_fill)
        self._journal_order = journal_order
        self._journal_net = journal_net
        self._price = price  # the market's last trade price of a code
        self._clock = clock
        self._counters = counters
        self._refuse = refuse  # an order that may not go: REJECTED (CANCELLED when partly filled)
        self._self_trade = self_trade  # is the self-trade rule on ([risk] prevent_self_trade)?
        self._depth = 0
        self._held: dict[str, Order] = {}  # key -> market order held in this turn
        # (account, code) -> strategies' market orders waiting for an opposite market order
        # at the broker to finish (never two opposite working orders there)
        self._waiting: dict[tuple[str, str], list[Order]] = {}
        self._dirty: set[tuple[str, str]] = set()  # released: their waiting orders may go

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the market orders queued inside; net and send them when the turn ends."""
        self._depth += 1
        try:
            yield
        finally:
            if self._depth == 1:
                try:
                    self.flush()
                finally:
                    self._depth = 0
            else:
                self._depth -= 1

    def hold(self, order: Order) -> bool:
        """A recorded order that passed the rules: held for the end of the turn (True), or to
        be sent now (False: not a market order, or no turn is on)."""
        if self._depth == 0 or order.type is not OrderType.MARKET:
            return False
        self._held[order.id] = order
        return True

    def pairs(self, new: Order, resting: Order) -> bool:
        """Whether the self-trade rule leaves the pair to the end of the turn: ``new`` is a
        market order in a turn. Then ``resting``, a market order held or waiting, is netted
        with it; a market order working at the broker makes what is left wait for it; a limit
        or stop order refuses what is left for the broker (``self_trade``), never the part
        crossed inside."""
        return self._depth > 0 and new.type is OrderType.MARKET and resting.status.is_open

    @property
    def waiting(self) -> int:
        """Orders waiting for an opposite market order at the broker to finish."""
        return sum(len(v) for v in self._waiting.values())

    def release(self, order: Order) -> None:
        """``order`` changed: when it was the last opposite working market order of its account
        and instrument, the orders waiting there go (netted) now."""
        key = (order.account, order.instrument)
        if key not in self._waiting or order.internal or order.is_open:
            return
        self._dirty.add(key)
        if self._depth == 0:  # else the turn (or the flush) running takes it at its end
            with self.turn():
                pass

    def flush(self) -> None:
        """Net and send what the turn held and what waits on a released account and
        instrument; the market orders the hooks of crossed fills place meanwhile are netted in
        the next round, for ``MAX_ROUNDS`` rounds (then they go through the rules as placed)."""
        for n in range(MAX_ROUNDS + 1):
            if n == MAX_ROUNDS:
                self._depth = 0  # hooks that keep placing orders: no more holding
            held = [o for o in self._held.values() if o.is_open]
            self._held.clear()
            dirty, self._dirty = self._dirty, set()
            if not held and not dirty:
                return
            groups = {key: self._waiting.pop(key) for key in dirty if key in self._waiting}
            for order in held:
                key = (order.account, order.instrument)
                groups.setdefault(key, self._waiting.pop(key, [])).append(order)
            for key, orders in groups.items():
                self._settle(key, orders)

    def _settle(self, key: tuple[str, str], orders: list[Order]) -> None:
        """Net ``orders`` (one account and instrument, oldest first) and send what is left,
        unless what is left would meet an opposite market order at the broker: then they wait."""
        orders = [o for o in orders if o.is_open]
        if not orders:
            return
        price = self._price(key[1])
        crossing = nets(orders) and price is not None and price > 0
        net = plan(orders, price) if crossing and price is not None else None
        sides = {o.side for o in orders} if net is None else {net.side} - {None}
        if any(self._working_against(key, side, orders) for side in sides):
            self._waiting[key] = orders
            return
        if net is None:
            for order in orders:
                refusal = self._conflict(order, orders)
                if refusal is None:
                    self._send(order)
                elif self._refuse is not None:
                    self._refuse(order, refusal)
        else:
            self.execute(net, orders)

    def _conflict(self, order: Order, mine: list[Order]) -> Rejection | None:
        """The ``self_trade`` refusal of ``order`` against a resting limit or stop order (at
        the broker, or on its way) of the account and instrument, else None."""
        if not self._self_trade():
            return None
        ours = {o.id for o in mine}
        resting = [
            o
            for o in self.book.open_orders(account=order.account)
            if o.instrument == order.instrument
            and o.type is not OrderType.MARKET
            and not o.internal
            and o.id not in ours
        ]
        return crossing(order, resting)

    def _working_against(self, key: tuple[str, str], side: Side | None, mine: list[Order]) -> bool:
        """Whether a market order opposite ``side`` is open on ``key`` outside ``mine``."""
        if side is None:
            return False
        ours = {o.id for o in mine}
        return any(
            o.type is OrderType.MARKET
            and o.side is not side
            and not o.internal
            and o.instrument == key[1]
            and o.id not in ours
            for o in self.book.open_orders(account=key[0])
        )

    def execute(self, net: NetPlan, orders: list[Order]) -> Order | None:
        """Carry out ``net``: internal orders, the net order (sent), the crossed fills."""
        now = self._clock()
        for order in orders:
            order.internal = True
            self.book.mark_submitted(order.id, now)
            self._journal_order(order)
        parent: Order | None = None
        refusal: Rejection | None = None
        key = new_order_key()
        if net.side is not None:
            parent = Order(
                instrument=net.instrument,
                side=net.side,
                type=OrderType.MARKET,
                lots=net.remainder,
                account=net.account,
                id=key,
                created_ts=now,
            )
            refusal = self._conflict(parent, orders)
            if refusal is not None:  # the shares are refused, the crossed part stands
                parent = None
            else:
                self.book.record(parent)
                self.book.adopt_net(key, net.shares)
        self._journal_net(
            {
                "net": key,
                "account": net.account,
                "instrument": net.instrument,
                "price": str(net.price),
                "side": net.side.value if net.side is not None else None,
                "shares": dict(net.shares) if refusal is None else {},
                "crossed": dict(net.crossed),
                "refused": str(refusal) if refusal is not None else "",
            }
        )
        self._counters["crossed_lots"] = self._counters.get("crossed_lots", 0) + net.crossed_lots
        log.info(
            "netted %d order(s) on %s %s: %d lot(s) crossed inside @ %s%s",
            len(orders),
            net.account,
            net.instrument,
            net.crossed_lots,
            net.price,
            f", net {parent.side.value} {parent.lots} lot(s) to the broker (order {key[:8]})"
            if parent is not None
            else f", the rest refused ({refusal})"
            if refusal is not None
            else ", nothing to the broker",
        )
        if parent is not None:
            self._counters["net_orders"] = self._counters.get("net_orders", 0) + 1
            self._send(parent)
        by_key = {o.id: o for o in orders}
        for i, (order_key, lots) in enumerate(net.crossed.items()):
            order = by_key[order_key]
            self._on_fill(
                Fill(
                    order_id=order_key,
                    instrument=net.instrument,
                    side=order.side,
                    lots=lots,
                    price=net.price,
                    commission=Decimal(0),
                    ts=now or datetime.now(UTC),
                    fill_id=f"cross:{key}:{i}",
                    account=net.account,
                )
            )
        if refusal is not None and self._refuse is not None:
            for order_key in net.shares:
                self._refuse(by_key[order_key], refusal)
        return parent
