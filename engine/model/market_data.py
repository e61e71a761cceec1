"""Order books and the tape: what the market shows besides bars.

:class:`OrderBook` is a snapshot of the best ``depth`` price levels on each side (bids best first:
highest price first; asks best first: lowest price first), quantities in lots. :class:`MarketTrade`
is one anonymous trade on the exchange's tape (not one of ours): price per share, lots, and the
aggressor's side when the exchange tells it (BUY: someone bought at the ask).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from engine.model.order import Side

BOOK_DEPTHS = (1, 10, 20, 30, 40, 50)  # the depths an order book can be asked for


class BookLevel(NamedTuple):  # a tuple: books are built after every price tick
    price: Decimal
    lots: int


@dataclass(frozen=True, slots=True)
class OrderBook:
    instrument: str  # the instrument code
    ts: datetime
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    depth: int
    consistent: bool = True  # False: the exchange says some orders may be missing
    limit_up: Decimal | None = None  # the price band of the day (orders outside it are refused)
    limit_down: Decimal | None = None

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None

    @property
    def spread(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        return ask - bid if bid is not None and ask is not None else None

    @property
    def mid(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        return (bid + ask) / 2 if bid is not None and ask is not None else None


@dataclass(frozen=True, slots=True)
class MarketTrade:
    instrument: str  # the instrument code
    ts: datetime  # UTC, the exchange's time of the trade
    price: Decimal  # per share
    lots: int
    side: Side | None = None  # the aggressor (None: the exchange did not say)
