"""The broker abstraction: one async protocol for the simulated market, the sandbox and production.

The engine and strategies talk only to :class:`Broker`. Every order carries a client idempotency key
(``Order.id``) that the engine records before the request is sent; an ambiguous outcome is resolved by
looking that key up (:meth:`Broker.get_order`), never by posting again with a new key.

Optional: a broker that can tell its server's clock has ``server_time() -> ServerTime | None`` (the
:class:`ServerClock` protocol): the server timestamp of its newest stream message and the local UTC
time it arrived. The engine reads it with :func:`server_time`, which gives None for brokers without
it, to detect a skewed local clock (docs/incidents.md, "Clock skew").

The other optional capabilities are protocols beside it, checked with ``isinstance`` (never by
guessing from attribute names): :class:`MarketClock` (a market with its own clock),
:class:`SessionInfo` (whether the session is open), :class:`JournalAware` (writes into the
engine's intent journal), :class:`LocalStopHolder` (stops kept by the adapter, held during
recovery), :class:`InstantLookup` and :class:`InstantCancel` (answers without a request),
:class:`ReplayResume` (a replay that carries on from a previous run) and :class:`MarketDepthFeed`
(books and the tape).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol, runtime_checkable

from engine.model import (
    Account,
    Bar,
    Fill,
    Instrument,
    MarketTrade,
    Mode,
    Order,
    OrderBook,
    Position,
    TimeFrame,
)
from engine.orders.journal import IntentJournal


class BrokerError(Exception):
    """A failure reported by (or on the way to) the broker, with what to do about it."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        tracking_id: str = "",
        hint: str = "",
        retryable: bool = False,
    ) -> None:
        self.message = message
        self.code = code
        self.tracking_id = tracking_id
        self.hint = hint
        self.retryable = retryable
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"code {self.code}")
        if self.tracking_id:
            parts.append(f"tracking id {self.tracking_id}")
        text = "; ".join(parts)
        return f"{text}. {self.hint}" if self.hint else text


class OrderRejected(BrokerError):
    """The broker refused the order; ``reason`` says why in plain words."""

    def __init__(self, order_id: str, reason: str, *, code: str = "", hint: str = "") -> None:
        self.order_id = order_id
        self.reason = reason
        super().__init__(f"order {order_id} rejected: {reason}", code=code, hint=hint)

    @property
    def detail(self) -> str:
        """What the order's record keeps: the reason, the broker's code and tracking id (when it
        gave them) and what to do; just ``reason`` when the broker said nothing more."""
        parts = [f"code {self.code}: {self.reason}" if self.code else self.reason]
        if self.tracking_id:
            parts.append(f"tracking id {self.tracking_id}")
        text = "; ".join(parts)
        return f"{text}. {self.hint}" if self.hint else text


class UnknownInstrument(BrokerError):
    pass


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """The broker's view of an order changed (status, filled lots, reason)."""

    order: Order
    ts: datetime


@dataclass(frozen=True, slots=True)
class FillEvent:
    fill: Fill


@dataclass(frozen=True, slots=True)
class BarEvent:
    """A live bar: ``closed`` False while the frame is in progress (a provisional update)."""

    instrument: str
    timeframe: TimeFrame
    bar: Bar
    closed: bool


@dataclass(frozen=True, slots=True)
class PriceEvent:
    instrument: str
    price: Decimal
    ts: datetime


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    connected: bool
    ts: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BookEvent:
    """A new order-book snapshot of a subscribed instrument (:class:`MarketDepthFeed`)."""

    book: OrderBook


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """An anonymous trade on the tape of a subscribed instrument (:class:`MarketDepthFeed`)."""

    trade: MarketTrade


BrokerEvent = (
    OrderUpdate | FillEvent | BarEvent | PriceEvent | ConnectionEvent | BookEvent | TradeEvent
)


@dataclass(frozen=True, slots=True)
class TradingStatus:
    """What the broker says about trading one instrument now (None: it does not say).

    ``limit`` / ``market``: whether limit (and stop) orders / market orders are accepted;
    ``status`` the broker's own word for it (``NORMAL_TRADING``, ``NOT_AVAILABLE_FOR_TRADING``,
    ``open``...); ``source`` where it comes from (``stream``, ``GetTradingStatus``, ``session``).
    """

    limit: bool | None = None
    market: bool | None = None
    status: str = ""
    source: str = ""

    def allows(self, market_order: bool) -> bool | None:
        return self.market if market_order else self.limit


UNKNOWN_STATUS = TradingStatus()


@dataclass(slots=True)
class Subscriptions:
    """What the engine asked to stream; a reconnecting broker resubscribes all of it."""

    bars: set[tuple[str, TimeFrame]] = field(default_factory=set)
    prices: set[str] = field(default_factory=set)
    books: dict[str, int] = field(default_factory=dict)  # code -> depth
    trades: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class ServerTime:
    """The broker's clock as carried on its newest stream message (a ping, a tick)."""

    server: datetime  # the server's timestamp on the message (UTC)
    received: datetime  # the local UTC clock when the message arrived

    @property
    def skew(self) -> timedelta:
        """How far the local clock is ahead of the server's (negative: behind). It includes the
        message's transit time (milliseconds)."""
        return self.received - self.server

    def server_now(self, local_now: datetime) -> datetime:
        """The server's clock now, estimated from this sample and the local clock."""
        return self.server + (local_now - self.received)


@runtime_checkable
class ServerClock(Protocol):
    """The optional part of a :class:`Broker` that knows its server's clock."""

    def server_time(self) -> ServerTime | None:
        """The newest server time seen on the broker's streams, or None (not known yet)."""
        ...


def server_time(broker: object) -> ServerTime | None:
    """``broker.server_time()`` when the broker has it and can tell; None otherwise."""
    method = getattr(broker, "server_time", None)
    if not callable(method):
        return None
    try:
        value = method()
    except Exception:  # a broker that cannot tell must never break the engine
        return None
    return value if isinstance(value, ServerTime) else None


# --- capabilities: what a broker can do beyond :class:`Broker`, declared, never guessed ---------


@runtime_checkable
class MarketClock(Protocol):
    """The optional part of a :class:`Broker` whose market keeps its own clock (the simulated
    market replays its own time: its data is on no server's clock and not on the wall clock).
    The engine's market time is this clock's; a broker without it gives none."""

    def market_time(self) -> datetime:
        """The market's time now (UTC)."""
        ...


@runtime_checkable
class SessionInfo(Protocol):
    """The optional part of a :class:`Broker` that knows whether its market's session is open
    (the simulated market's calendar). A broker without it is asked per instrument
    (:meth:`Broker.market_status`)."""

    def session_open(self) -> bool:
        """Whether the session is open now (on :class:`MarketClock` time where it has one)."""
        ...


@runtime_checkable
class JournalAware(Protocol):
    """The optional part of a :class:`Broker` that writes what it learns of a key into the
    engine's persistent intent journal (T-Invest: the stop order id a stop order's key links to,
    so the link survives a restart). The engine's order router writes the intents themselves."""

    def use_journal(self, journal: IntentJournal) -> None:
        """Resolve keys in ``journal`` from now on."""
        ...


@runtime_checkable
class LocalStopHolder(Protocol):
    """The optional part of a :class:`Broker` that keeps stop orders itself (T-Invest's sandbox
    has no stop orders): recovery holds them while it compares the journal with the broker (an
    order one of them sent would change what is being compared) and releases them after."""

    def hold_local_stops(self) -> None: ...

    def release_local_stops(self) -> None: ...


@runtime_checkable
class InstantLookup(Protocol):
    """The optional part of a :class:`Broker` that finds an instrument at once, without a
    request (the simulated market): asked on the engine's own thread, where it cannot wait."""

    def lookup(self, query: str) -> Instrument:
        """The instrument for ``query``, or raise :class:`UnknownInstrument`."""
        ...


@runtime_checkable
class InstantCancel(Protocol):
    """The optional part of a :class:`Broker` that cancels synchronously (the simulated
    market): the cancel happens before any further market event."""

    def cancel_now(self, account: str, order_id: str) -> Order:
        """Cancel at once; the order as it is after the cancel."""
        ...


@runtime_checkable
class ReplayResume(Protocol):
    """The optional part of a :class:`Broker` whose market is a replay that can carry on from a
    previous run's market time (the simulated market), instead of replaying the same session."""

    def resume_at(self, ts: datetime) -> bool:
        """Carry on from ``ts``; False when the replay cannot (``ts`` outside its data)."""
        ...


@runtime_checkable
class AccountCarryOver(Protocol):
    """The optional part of a :class:`Broker` whose account lives only as long as the process
    (the simulated market): a restart hands it the positions the engine restored, so that the
    account goes on with them (and the cash they leave) instead of starting empty."""

    def carry_over(self, account: str, positions: list[Position]) -> bool:
        """Take ``positions`` as the account's; False when it cannot (another account, or the
        market has traded already)."""
        ...


def market_clock(broker: object) -> datetime | None:
    """The time of ``broker``'s own market clock (:class:`MarketClock`), None without one."""
    if not isinstance(broker, MarketClock):
        return None
    value = broker.market_time()
    return value if isinstance(value, datetime) else None


def session_open(broker: object) -> bool | None:
    """Whether ``broker``'s market session is open (:class:`SessionInfo`), None when it cannot
    say."""
    if not isinstance(broker, SessionInfo):
        return None
    value = broker.session_open()
    return value if isinstance(value, bool) else None


@runtime_checkable
class MarketDepthFeed(Protocol):
    """The optional part of a :class:`Broker` that streams order books and the tape.

    Subscribed instruments produce :class:`BookEvent` and :class:`TradeEvent` on ``events()``;
    a reconnecting broker resubscribes them like bars and prices. ``depth`` is one of
    :data:`engine.model.BOOK_DEPTHS`.
    """

    async def subscribe_order_book(self, instrument: Instrument, depth: int) -> None: ...

    async def unsubscribe_order_book(self, instrument: Instrument) -> None: ...

    async def subscribe_trades(self, instrument: Instrument) -> None: ...

    async def order_book(self, instrument: Instrument, depth: int) -> OrderBook:
        """The book now (one request)."""
        ...

    async def last_trades(
        self, instrument: Instrument, begin: datetime, end: datetime
    ) -> list[MarketTrade]:
        """Trades with ``begin <= ts < end`` that the broker still has (T-Invest: the last hour)."""
        ...


def depth_feed(broker: object) -> MarketDepthFeed | None:
    """``broker`` when it streams order books and trades, else None."""
    return broker if isinstance(broker, MarketDepthFeed) else None


@runtime_checkable
class Broker(Protocol):
    name: str
    mode: Mode

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def accounts(self) -> list[Account]: ...

    async def instruments(self) -> list[Instrument]: ...

    async def find_instrument(self, query: str) -> Instrument:
        """By code (``MOEX_SHARE_SBER``), ticker, uid or figi; raises UnknownInstrument."""
        ...

    async def candles(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> list[Bar]:
        """Complete bars with ``begin <= ts < end``."""
        ...

    async def subscribe_bars(self, instrument: Instrument, timeframe: TimeFrame) -> None: ...

    async def subscribe_prices(self, instrument: Instrument) -> None: ...

    async def unsubscribe(self, instrument: Instrument) -> None: ...

    def market_status(self, instrument: str) -> TradingStatus:
        """The broker's latest word on trading ``instrument`` (a code) now; never blocks.

        The engine's pre-trade check refuses orders the broker says it cannot take now.
        """
        ...

    async def post_order(self, order: Order) -> Order:
        """Send ``order`` (its ``id`` is the idempotency key); returns the broker's view of it.

        Posting the same key twice never creates a second order: it returns the first one.
        Raises OrderRejected with the reason when the broker refuses it.
        """
        ...

    async def cancel_order(self, account: str, order_id: str) -> Order: ...

    async def get_order(self, account: str, order_id: str) -> Order | None:
        """The order with this client key, open or finished, or None if the broker never saw it."""
        ...

    async def open_orders(self, account: str) -> list[Order]: ...

    async def positions(self, account: str) -> list[Position]: ...

    def events(self) -> AsyncIterator[BrokerEvent]:
        """Order updates, fills, live bars, prices and connection changes, in order."""
        ...
