"""The core model: instruments, timeframes, bars, orders, fills, positions, accounts; the order
book (``order_book``: every order by its key, positions per account and strategy) and what
readers see of a running engine (``snapshot``: trading and strategy states, the snapshot rows); ``redact``
masks secrets in any text written out."""

from engine.model.account import Account, Mode
from engine.model.bar import Bar
from engine.model.instrument import Instrument, parse_code
from engine.model.market_data import BOOK_DEPTHS, BookLevel, MarketTrade, OrderBook
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
    "BOOK_DEPTHS",
    "TERMINAL",
    "TRANSITIONS",
    "Account",
    "Bar",
    "BookLevel",
    "Fill",
    "FillError",
    "Instrument",
    "InvalidTransition",
    "MarketTrade",
    "Mode",
    "Order",
    "OrderBook",
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
