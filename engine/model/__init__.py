"""The core model: instruments, timeframes, bars, orders, fills, positions, accounts."""

from engine.model.account import Account, Mode
from engine.model.bar import Bar
from engine.model.instrument import Instrument, parse_code
from engine.model.order import (
    TERMINAL,
    TRANSITIONS,
    Fill,
    FillError,
    InvalidTransition,
    Order,
    OrderStatus,
    OrderType,
    Side,
    new_order_key,
)
from engine.model.position import Position, Trade
from engine.model.timeframe import TimeFrame, as_utc

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "Account",
    "Bar",
    "Fill",
    "FillError",
    "Instrument",
    "InvalidTransition",
    "Mode",
    "Order",
    "OrderStatus",
    "OrderType",
    "Position",
    "Side",
    "TimeFrame",
    "Trade",
    "as_utc",
    "new_order_key",
    "parse_code",
]
