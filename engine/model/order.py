"""Orders, their state machine and fills.

States: NEW -> SUBMITTED -> ACCEPTED -> PARTIALLY_FILLED -> FILLED, or REJECTED / CANCELLED /
EXPIRED. The allowed transitions are the table ``TRANSITIONS``; anything else raises
:class:`InvalidTransition`. Quantities are lots; prices are Decimal per share.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from engine.model.copying import by_fields


class Side(Enum):
    __hash__ = object.__hash__  # members are singletons: hash by identity (C, fast)

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(Enum):
    __hash__ = object.__hash__  # members are singletons: hash by identity (C, fast)

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"  # stop-market: becomes a market order when the price crosses stop_price
    STOP_LIMIT = "stop_limit"  # becomes a limit order at ``price`` when ``stop_price`` is crossed
    TAKE_PROFIT = "take_profit"  # market order when the price reaches stop_price favourably


class OrderStatus(Enum):
    __hash__ = object.__hash__  # members are singletons: hash by identity (C, fast)

    NEW = "new"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_open(self) -> bool:
        return self not in TERMINAL


TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
)

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.NEW: frozenset({S.SUBMITTED, S.REJECTED, S.CANCELLED}),
    S.SUBMITTED: frozenset(
        {S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.REJECTED, S.CANCELLED, S.EXPIRED}
    ),
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}
del S


class InvalidTransition(Exception):
    def __init__(self, order_id: str, old: OrderStatus, new: OrderStatus) -> None:
        super().__init__(f"order {order_id}: invalid transition {old.value} -> {new.value}")
        self.order_id = order_id
        self.old = old
        self.new = new


class FillError(Exception):
    pass


ZERO_COMMISSION = Decimal(0)


def new_order_key() -> str:
    """A client idempotency key (UUID4, 36 characters), recorded before the order is sent."""
    return str(uuid.uuid4())


@dataclass(slots=True, init=False)  # __init__ by hand: mypyc compiles it (engine/native.py)
class Fill:
    order_id: str
    instrument: str  # instrument code
    side: Side
    lots: int
    price: Decimal  # per share
    commission: Decimal
    ts: datetime
    fill_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    account: str = ""

    def __init__(
        self,
        order_id: str,
        instrument: str,
        side: Side,
        lots: int,
        price: Decimal,
        commission: Decimal,
        ts: datetime,
        fill_id: str | None = None,
        account: str = "",
    ) -> None:
        self.order_id = order_id
        self.instrument = instrument
        self.side = side
        self.lots = lots
        self.price = price
        self.commission = commission
        self.ts = ts
        self.fill_id = uuid.uuid4().hex if fill_id is None else fill_id
        self.account = account

    def __reduce__(self) -> tuple[Any, ...]:
        return by_fields(self)  # copy and pickle through __init__ (engine/model/copying.py)


@dataclass(slots=True, init=False)  # __init__ by hand: mypyc compiles it (engine/native.py)
class Order:
    instrument: str  # instrument code, e.g. MOEX_SHARE_SBER
    side: Side
    type: OrderType
    lots: int
    account: str
    price: Decimal | None = None  # limit price (LIMIT, STOP_LIMIT)
    stop_price: Decimal | None = None  # trigger (STOP, STOP_LIMIT, TAKE_PROFIT)
    strategy: str = ""
    id: str = field(default_factory=new_order_key)  # client idempotency key
    status: OrderStatus = OrderStatus.NEW
    filled_lots: int = 0
    avg_fill_price: Decimal | None = None
    commission: Decimal = ZERO_COMMISSION
    broker_id: str = ""
    reason: str = ""
    created_ts: datetime | None = None
    updated_ts: datetime | None = None
    history: list[tuple[datetime | None, OrderStatus]] = field(default_factory=list)
    # never sent to a broker: a strategy's order the netting took over (docs/risk.md, "the
    # netting rule"); filled by internal crosses and by its share of a net order's fills
    internal: bool = False

    def __init__(
        self,
        instrument: str,
        side: Side,
        type: OrderType,
        lots: int,
        account: str,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        strategy: str = "",
        id: str | None = None,
        status: OrderStatus = OrderStatus.NEW,
        filled_lots: int = 0,
        avg_fill_price: Decimal | None = None,
        commission: Decimal = ZERO_COMMISSION,
        broker_id: str = "",
        reason: str = "",
        created_ts: datetime | None = None,
        updated_ts: datetime | None = None,
        history: list[tuple[datetime | None, OrderStatus]] | None = None,
        internal: bool = False,
    ) -> None:
        self.instrument = instrument
        self.side = side
        self.type = type
        self.lots = lots
        self.account = account
        self.price = price
        self.stop_price = stop_price
        self.strategy = strategy
        self.id = new_order_key() if id is None else id
        self.status = status
        self.filled_lots = filled_lots
        self.avg_fill_price = avg_fill_price
        self.commission = commission
        self.broker_id = broker_id
        self.reason = reason
        self.created_ts = created_ts
        self.updated_ts = updated_ts
        self.history = [] if history is None else history
        self.internal = internal
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.lots <= 0:
            raise ValueError(f"order lots must be positive, got {self.lots}")
        if self.type is not OrderType.MARKET:
            needs_price = self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
            if needs_price and self.price is None:
                raise ValueError(f"a {self.type.value} order needs a price")
            needs_stop = self.type in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT)
            if needs_stop and self.stop_price is None:
                raise ValueError(f"a {self.type.value} order needs a stop price")
        if not self.history:
            self.history.append((self.created_ts, self.status))

    @property
    def remaining_lots(self) -> int:
        return self.lots - self.filled_lots

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    def can_transition(self, new: OrderStatus) -> bool:
        return new in TRANSITIONS[self.status]

    def transition(self, new: OrderStatus, ts: datetime | None = None, reason: str = "") -> None:
        if new not in TRANSITIONS[self.status]:
            raise InvalidTransition(self.id, self.status, new)
        self.status = new
        self.updated_ts = ts
        if reason:
            self.reason = reason
        self.history.append((ts, new))

    def apply_fill(self, fill: Fill) -> None:
        """Account a fill: filled lots, average price, commission and the status that follows."""
        if fill.lots <= 0:
            raise FillError(f"order {self.id}: fill of {fill.lots} lots")
        if fill.lots > self.remaining_lots:
            raise FillError(
                f"order {self.id}: fill of {fill.lots} lots exceeds the {self.remaining_lots} left"
            )
        if fill.side is not self.side:
            raise FillError(f"order {self.id}: {fill.side.value} fill on a {self.side.value} order")
        done = self.filled_lots
        total = done + fill.lots
        if done and self.avg_fill_price is not None:
            self.avg_fill_price = (self.avg_fill_price * done + fill.price * fill.lots) / total
        else:  # the first fill: its price is the average (the same Decimal the sum gives)
            self.avg_fill_price = fill.price
        self.filled_lots = total
        self.commission += fill.commission
        status = OrderStatus.FILLED if total == self.lots else OrderStatus.PARTIALLY_FILLED
        self.transition(status, fill.ts)
