"""Snapshot rows from the engine's live objects (plain, immutable data for readers)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from engine.broker.local_stops import is_local_stop
from engine.model import Order, Position
from engine.model.order_book import OrderManager
from engine.model.snapshot import OrderRow, PositionRow, StrategyRow, StrategyState
from engine.runtime.slots import StrategySlot

FINISHED_ROWS = 200  # finished orders kept in a snapshot (all stay in the order manager)


def order_row(o: Order) -> OrderRow:
    return OrderRow(
        key=o.id,
        instrument=o.instrument,
        side=o.side.value,
        type=f"{o.type.value} (local)"
        if is_local_stop(o)
        else f"{o.type.value} (netted)"  # crossed inside / in a net order (engine.orders.netting)
        if o.internal
        else o.type.value,
        lots=o.lots,
        filled=o.filled_lots,
        # the fill price; else the limit price; else (a stop waiting) its stop price
        price=o.avg_fill_price if o.avg_fill_price is not None else (o.price or o.stop_price),
        status=o.status.value,
        ts=o.updated_ts or o.created_ts,
        strategy=o.strategy,
        account=o.account,
        reason=o.reason,
    )


def position_row(p: Position) -> PositionRow:
    return PositionRow(
        account=p.account,
        instrument=p.instrument,
        lots=p.lots,
        avg_price=p.avg_price,
        last_price=p.last_price,
        unrealized=p.unrealized(),
        realized=p.realized,
        commission=p.commission,
        pnl=p.total_pnl(),
    )


_HELD_BY = {"halted": "halt", "reducing": "reduce"}


def strategy_row(slot: StrategySlot, book: OrderManager, trading: str = "") -> StrategyRow:
    """``trading``: the trading state in words ("halted"); it names what holds a HELD strategy
    (short, for an 80-column pane: ``held (halt)``, ``held (reduce)``)."""
    pos = book.strategy_positions.get(slot.id)
    held = slot.state is StrategyState.HELD and trading != "active"
    return StrategyRow(
        id=slot.id,
        name=slot.spec.name,
        instrument=slot.instrument_code,
        account=slot.spec.account,
        state=slot.state.value,
        position=pos.lots if pos else 0,
        pnl=pos.total_pnl() if pos else Decimal(0),
        error=slot.error,
        held_by=_HELD_BY.get(trading, trading) if held else "",
        commission=pos.commission if pos else Decimal(0),
    )


def order_rows(book: OrderManager, finished: int = FINISHED_ROWS) -> tuple[OrderRow, ...]:
    """The newest ``finished`` finished orders, then every open one, oldest first."""
    orders = list(book.orders.values())
    done = [o for o in orders if not o.is_open][-finished:] if finished else []
    return tuple(order_row(o) for o in [*done, *(o for o in orders if o.is_open)])


def position_rows(positions: Iterable[Position]) -> tuple[PositionRow, ...]:
    """Positions held now, traded in this run, or with money booked: a position that went flat
    before a restart comes back from the snapshot without its trades but with its realised PnL
    and commission, which stay in the table and in the totals."""
    return tuple(
        position_row(p) for p in list(positions) if p.lots or p.trades or p.realized or p.commission
    )
