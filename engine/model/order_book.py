"""The engine's order book: every order by its client key, positions per account and strategy.

Orders are recorded here *before* they are sent (the key is the idempotency key at the broker).
Broker updates move them through the :class:`~engine.model.Order` state machine; fills drive the
filled quantity and the PARTIALLY_FILLED / FILLED states, so a status report that runs ahead of its
fill never double-counts. Positions are :class:`~engine.model.Position` objects (Decimal PnL), one
per (account, instrument) and one per strategy.

An order owned by no strategy may close strategies' positions on their behalf (a flatten's net
order, :meth:`OrderManager.allocate`): once it is filled, each of those strategy positions is
closed at its average price, with a share of its commission, so the Strategies rows and their
P&L follow the account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import TypeVar

from engine.model import Fill, FillError, InvalidTransition, Order, OrderStatus, Position, Side
from engine.model.lots import split

log = logging.getLogger("avin.orders")
K = TypeVar("K")

_RANK = {
    OrderStatus.NEW: 0,
    OrderStatus.SUBMITTED: 1,
    OrderStatus.ACCEPTED: 2,
    OrderStatus.PARTIALLY_FILLED: 3,
}
_FILL_STATES = frozenset({OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED})


_CENT = Decimal("0.01")


class DuplicateOrder(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FillResult:
    order: Order | None  # None for a fill of an order this engine does not know
    duplicate: bool = False
    allocated: tuple[Fill, ...] = ()  # a net order's fill, split over the orders it stands for


class OrderTable(dict[str, Order]):
    """The orders by key, remembering every key set since its order was last seen closed
    (``maybe_open``, in the order they were set): an order that reached a terminal state never
    opens again, so :meth:`OrderManager.open_orders` looks at these instead of the whole day's
    history (a replaced order, as recovery does, is set again and so looked at again)."""

    def __init__(self) -> None:
        super().__init__()
        self.maybe_open: dict[str, None] = {}

    def __setitem__(self, key: str, order: Order) -> None:
        super().__setitem__(key, order)
        self.maybe_open[key] = None


class PositionTable(dict[K, Position]):
    """Positions by key, indexed by instrument (``of``): marking one instrument's price touches
    only its positions, not every strategy row's."""

    def __init__(self) -> None:
        super().__init__()
        self._by_instrument: dict[str, dict[K, Position]] = {}

    def __setitem__(self, key: K, position: Position) -> None:
        old = self.get(key)
        if old is not None:
            self._by_instrument.get(old.instrument, {}).pop(key, None)
        super().__setitem__(key, position)
        self._by_instrument.setdefault(position.instrument, {})[key] = position

    def __delitem__(self, key: K) -> None:
        old = self[key]
        super().__delitem__(key)
        self._by_instrument.get(old.instrument, {}).pop(key, None)

    def setdefault(self, key: K, default: Position) -> Position:
        if key not in self:
            self[key] = default
        return self[key]

    def of(self, instrument: str) -> list[Position]:
        return list(self._by_instrument.get(instrument, {}).values())


class OrderManager:
    def __init__(self, lot_size: Callable[[str], int] | None = None) -> None:
        self._lot_size = lot_size or (lambda code: 1)
        self.orders = OrderTable()
        self.positions: PositionTable[tuple[str, str]] = PositionTable()
        self.strategy_positions: PositionTable[str] = PositionTable()
        self._strategy_instrument: dict[str, str] = {}
        self._fill_ids: set[str] = set()
        self.fills: list[Fill] = []
        self._allocations: dict[str, list[str]] = {}  # order key -> strategies it closes
        # a net order's key -> the internal orders it stands for and their lots still to fill
        self.net_shares: dict[str, dict[str, int]] = {}
        self.net_parent: dict[str, str] = {}  # internal order key -> its net order's key
        self.version = 0

    # --- orders -------------------------------------------------------------------------------

    def record(self, order: Order) -> Order:
        """Journal a NEW order under its key (before it is sent)."""
        if order.id in self.orders:
            raise DuplicateOrder(f"order key {order.id} is already recorded")
        self.orders[order.id] = order
        self._touch()
        return order

    def reject_local(self, order: Order, reason: str, ts: datetime | None) -> Order:
        """Record ``order`` as rejected by the engine itself (it is never sent)."""
        if order.id not in self.orders:
            self.orders[order.id] = order
        if order.can_transition(OrderStatus.REJECTED):
            order.transition(OrderStatus.REJECTED, ts, reason)
        self._touch()
        return order

    def mark_submitted(self, key: str, ts: datetime | None) -> Order:
        order = self.orders[key]
        if order.status is OrderStatus.NEW:
            order.transition(OrderStatus.SUBMITTED, ts)
            self._touch()
        return order

    def get(self, key: str) -> Order | None:
        return self.orders.get(key)

    def open_orders(
        self, *, account: str | None = None, strategy: str | None = None
    ) -> list[Order]:
        table = self.orders
        out: list[Order] = []
        for key in list(table.maybe_open):
            o = table.get(key)
            if o is None or not o.is_open:  # closed for good: not looked at again
                table.maybe_open.pop(key, None)
            elif (account is None or o.account == account) and (
                strategy is None or o.strategy == strategy
            ):
                out.append(o)
        return out

    def apply_update(self, view: Order, ts: datetime | None) -> Order | None:
        """Merge the broker's view of an order; our order if its status changed, else None."""
        order = self.orders.get(view.id)
        if order is None:
            log.warning("update for an unknown order %s (%s)", view.id, view.status.value)
            return None
        if view.broker_id and not order.broker_id:
            order.broker_id = view.broker_id
        target = view.status
        if target is order.status or target in _FILL_STATES:
            return None  # fills drive the filled states
        if not target.is_terminal and _RANK.get(target, 0) <= _RANK.get(order.status, 9):
            return None  # stale (e.g. ACCEPTED after a fill already arrived)
        if order.status.is_terminal:
            log.warning(
                "order %s is %s; ignoring the broker's %s",
                order.id,
                order.status.value,
                target.value,
            )
            return None
        if order.status is OrderStatus.NEW and target is not OrderStatus.REJECTED:
            order.transition(OrderStatus.SUBMITTED, ts)
        try:
            order.transition(target, ts, view.reason)
        except InvalidTransition as exc:
            log.warning("%s", exc)
            return None
        self._touch()
        return order

    # --- fills --------------------------------------------------------------------------------

    def remember_fills(self, fill_ids: Iterable[str]) -> None:
        """Fill ids booked before a restart: a broker fill with one of them is a duplicate."""
        self._fill_ids.update(fill_ids)

    def knows_fill(self, fill_id: str) -> bool:
        """Whether a fill with this id is booked (in this run or before a restart)."""
        return fill_id in self._fill_ids

    def apply_fill(self, fill: Fill) -> FillResult:
        """Account a fill once (by fill id): order, account position, strategy position."""
        if fill.fill_id in self._fill_ids:
            return FillResult(self.orders.get(fill.order_id), duplicate=True)
        self._fill_ids.add(fill.fill_id)
        self.fills.append(fill)
        order = self.orders.get(fill.order_id)
        if order is not None and order.internal:
            self._apply_internal(order, fill)
            return FillResult(order)
        account = fill.account or (order.account if order else "")
        if order is not None:
            if order.status is OrderStatus.NEW:
                order.transition(OrderStatus.SUBMITTED, fill.ts)
            try:
                order.apply_fill(fill)
            except (FillError, InvalidTransition) as exc:
                # Money moved at the broker whatever our record says: book the position anyway.
                log.error("fill %s does not fit order %s: %s", fill.fill_id, order.id, exc)
        else:
            log.warning("fill %s for an unknown order %s", fill.fill_id, fill.order_id)
        self.position(account, fill.instrument).apply_fill(fill)
        if order is not None and order.strategy:
            self.strategy_position(order.strategy, fill.instrument).apply_fill(fill)
        if order is not None and order.id in self._allocations and not order.is_open:
            self._close_allocated(order, self._allocations.pop(order.id))
        allocated = self._allocate(fill) if fill.order_id in self.net_shares else ()
        self._touch()
        return FillResult(order, allocated=allocated)

    # --- netting (engine.orders.netting): internal orders and the net orders behind them -------

    def adopt_net(self, key: str, shares: dict[str, int]) -> None:
        """The net order ``key`` stands for these internal orders (key -> lots)."""
        live = {k: n for k, n in shares.items() if n > 0}
        if live:
            self.net_shares[key] = live
            for child in live:
                self.net_parent[child] = key

    def _apply_internal(self, order: Order, fill: Fill) -> None:
        """A crossed part or a share of a net order's fill: the strategy's order and position
        only (the account's position moves with the broker's fills of the net order)."""
        if order.status is OrderStatus.NEW:
            order.transition(OrderStatus.SUBMITTED, fill.ts)
        try:
            order.apply_fill(fill)
        except (FillError, InvalidTransition) as exc:
            log.error("fill %s does not fit order %s: %s", fill.fill_id, order.id, exc)
        if order.strategy:
            self.strategy_position(order.strategy, fill.instrument).apply_fill(fill)
        self._touch()

    def _allocate(self, fill: Fill) -> tuple[Fill, ...]:
        """Split a net order's fill over its internal orders in proportion (as
        engine.orders.netting.allocate):
        the same price, the commission in proportion (whole kopecks, the rest to the last)."""
        shares = self.net_shares[fill.order_id]
        open_shares = [(k, n) for k, n in shares.items() if n > 0]
        lots = min(fill.lots, sum(n for _, n in open_shares))
        parts = [
            (key, part)
            for (key, _), part in zip(
                open_shares, split(lots, [n for _, n in open_shares]), strict=True
            )
            if part
        ]
        out: list[Fill] = []
        left = fill.commission
        for i, (key, part) in enumerate(parts):
            if i == len(parts) - 1:
                commission = left
            else:
                commission = (fill.commission * part / fill.lots).quantize(_CENT, ROUND_DOWN)
            left -= commission
            shares[key] -= part
            child_fill = Fill(
                order_id=key,
                instrument=fill.instrument,
                side=fill.side,
                lots=part,
                price=fill.price,
                commission=commission,
                ts=fill.ts,
                fill_id=f"{fill.fill_id}:net:{i}",
                account=fill.account,
            )
            if child_fill.fill_id in self._fill_ids:
                continue
            self._fill_ids.add(child_fill.fill_id)
            self.fills.append(child_fill)
            child = self.orders.get(key)
            if child is not None:
                self._apply_internal(child, child_fill)
            out.append(child_fill)
        if not any(shares.values()):
            self._drop_net(fill.order_id)
        return tuple(out)

    def finish_net(self, parent: Order) -> list[Order]:
        """``parent`` (a net order) ended without filling whole: its internal orders end the
        same way for what they did not get. Returns the orders that changed."""
        shares = self.net_shares.get(parent.id)
        if shares is None or not parent.status.is_terminal:
            return []
        changed: list[Order] = []
        for key in shares:
            child = self.orders.get(key)
            if child is None or not child.is_open:
                continue
            # a partly crossed order cannot be REJECTED any more: it is CANCELLED for the rest
            status = parent.status
            if not child.can_transition(status):
                status = OrderStatus.CANCELLED
            why = f"net order {parent.id[:8]} {parent.status.value}"
            child.transition(
                status,
                parent.updated_ts,
                f"{why}: {parent.reason}" if parent.reason else why,
            )
            changed.append(child)
        self._drop_net(parent.id)
        if changed:
            self._touch()
        return changed

    def _drop_net(self, key: str) -> None:
        for child in self.net_shares.pop(key, {}):
            self.net_parent.pop(child, None)

    def allocate(self, key: str, strategies: list[str]) -> None:
        """The order ``key`` (owned by no strategy) closes these strategies' positions."""
        self._allocations[key] = list(strategies)

    def _close_allocated(self, order: Order, strategies: list[str]) -> None:
        price = order.avg_fill_price
        if order.status is not OrderStatus.FILLED or price is None:
            return  # not (wholly) filled: the strategies' positions stay as they are
        positions = [
            p
            for sid in strategies
            if (p := self.strategy_positions.get(sid)) is not None
            and p.lots
            and p.instrument == order.instrument
        ]
        total = sum(abs(p.lots) for p in positions)
        left = order.commission
        for i, pos in enumerate(positions):
            last = i == len(positions) - 1
            share = left if last else (order.commission * abs(pos.lots) / total).quantize(_CENT)
            left -= share
            pos.apply_fill(
                Fill(
                    order_id=order.id,
                    instrument=order.instrument,
                    side=Side.SELL if pos.lots > 0 else Side.BUY,
                    lots=abs(pos.lots),
                    price=price,
                    commission=share,
                    ts=order.updated_ts or order.created_ts or datetime.now(UTC),
                    fill_id=f"{order.id}:closes:{i}",
                    account=order.account,
                )
            )

    # --- positions ----------------------------------------------------------------------------

    def position(self, account: str, instrument: str) -> Position:
        key = (account, instrument)
        pos = self.positions.get(key)
        if pos is None:
            pos = Position(instrument, lot_size=self._lot_size(instrument), account=account)
            self.positions[key] = pos
        return pos

    def strategy_position(self, strategy_id: str, instrument: str | None = None) -> Position:
        pos = self.strategy_positions.get(strategy_id)
        if pos is None:
            code = instrument or self._strategy_instrument.get(strategy_id, "")
            pos = Position(code, lot_size=self._lot_size(code) if code else 1)
            self.strategy_positions[strategy_id] = pos
        return pos

    def bind_strategy(self, strategy_id: str, instrument: str, account: str) -> None:
        """Declare a strategy's instrument, so that its position has the right lot size."""
        self._strategy_instrument[strategy_id] = instrument
        self.strategy_positions.setdefault(
            strategy_id, Position(instrument, lot_size=self._lot_size(instrument), account=account)
        )

    def mark(self, instrument: str, price: Decimal) -> None:
        """Mark positions in ``instrument`` to ``price`` (does not count as a change)."""
        for pos in self.positions.of(instrument) + self.strategy_positions.of(instrument):
            pos.last_price = price

    def _touch(self) -> None:
        self.version += 1
