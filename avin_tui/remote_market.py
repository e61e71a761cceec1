"""The robot's market data as the chart pane reads it, from control API messages.

Chart bars, an order book and the tape arrive as ``avin.control.v1`` messages (times as UTC
microseconds, prices of books and trades as decimal strings); these functions give back the
engine's own types (:class:`~engine.model.Bar`, :class:`~engine.model.market_data.OrderBook`,
:class:`~engine.model.market_data.MarketTrade`), so the panes cannot tell an attached robot from
an engine of their own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.model import Bar
from engine.model.market_data import BookLevel, MarketTrade, OrderBook
from engine.model.order import Side


def utc(us: int) -> datetime:
    """A time of the API (microseconds since the epoch, UTC)."""
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def bars_of(reply: Any) -> list[Bar]:
    """A ``ChartReply``'s bars, oldest first."""
    return [Bar(utc(b.ts_us), b.open, b.high, b.low, b.close, int(b.volume)) for b in reply.bars]


def book_of(reply: Any) -> OrderBook | None:
    """An ``OrderBookReply``'s book; None when the robot has none of that instrument yet."""
    if not reply.present:
        return None
    return OrderBook(
        instrument=reply.instrument,
        ts=utc(reply.ts_us),
        bids=tuple(BookLevel(Decimal(level.price), int(level.lots)) for level in reply.bids),
        asks=tuple(BookLevel(Decimal(level.price), int(level.lots)) for level in reply.asks),
        depth=int(reply.depth),
        consistent=bool(reply.consistent),
        limit_up=Decimal(reply.limit_up) if reply.limit_up else None,
        limit_down=Decimal(reply.limit_down) if reply.limit_down else None,
    )


def tape_of(reply: Any) -> list[MarketTrade]:
    """A ``TapeReply``'s trades, newest first."""
    return [
        MarketTrade(
            reply.instrument,
            utc(t.ts_us),
            Decimal(t.price),
            int(t.lots),
            Side(t.side) if t.side else None,
        )
        for t in reply.trades
    ]
