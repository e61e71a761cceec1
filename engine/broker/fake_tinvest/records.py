"""What the fake exchange keeps: its orders and their trades, accounts, and the error it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from engine.model import Instrument, Order


class ExchangeError(Exception):
    """A request the exchange refuses: ``code`` is the T-Invest numeric code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class Trade:
    trade_id: str
    price: Decimal
    lots: int
    ts: datetime


@dataclass(slots=True)
class ServerOrder:
    exchange_id: str
    key: str  # the client key ("" for the order a triggered stop order became)
    account: str
    instrument: Instrument
    order: Order  # the order's state (id == exchange_id); slices of it are matched
    created: datetime
    trades: list[Trade] = field(default_factory=list)
    commission: Decimal = Decimal(0)
    pending_ticks: int = 0
    stop: bool = False  # a stop order (PostStopOrder)
    expire: datetime | None = None
    child_id: str = ""  # a stop order: the exchange order it became when it triggered
    parent_id: str = ""  # that exchange order: the stop order it comes from
    triggered: datetime | None = None
    slice_id: str = ""  # the part of the order the matching engine works now


@dataclass(slots=True)
class AccountState:
    id: str
    name: str
    cash: Decimal
    positions: dict[str, int] = field(default_factory=dict)  # instrument uid -> pieces
    avg_price: dict[str, Decimal] = field(default_factory=dict)
