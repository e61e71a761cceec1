"""The template of a broker adapter: copy this module to add a broker (docs/adapters.md).

It is a real adapter, run by the broker contract suite (``tests/contract/test_brokers.py``) like
SimBroker and TInvestBroker: :class:`TemplateBroker` talks to a :class:`PaperService`, an
in-memory stand-in for a broker's API that speaks the way services do (prices as decimal text,
times as ISO text, its own order ids, its own status words). A copy replaces ``PaperService``
with the service's client and keeps the adapter's shape: every conversion between the service's
words and the model (:mod:`engine.model`) happens in this module and nowhere else, the client's
order key (``Order.id``) makes posting idempotent, and everything the service tells later
(fills, cancels) reaches the engine as events from :meth:`TemplateBroker.events`.

Only the required methods of :class:`engine.broker.base.Broker` are here; the optional
capabilities (``MarketDepthFeed``, ``ServerClock``, ``JournalAware`` ...) are separate protocols
a broker adds when its service has them.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from engine.broker.base import (
    BrokerError,
    BrokerEvent,
    FillEvent,
    OrderRejected,
    OrderUpdate,
    PriceEvent,
    Subscriptions,
    TradingStatus,
    UnknownInstrument,
)
from engine.model import (
    Account,
    Bar,
    Fill,
    Instrument,
    Mode,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeFrame,
    as_utc,
)

# --- the service: replace with the broker's API client ------------------------------------------


@dataclass
class PaperService:
    """A broker API held in memory. Rows are what a service sends: text, not model objects."""

    instruments: list[dict[str, str]] = field(default_factory=list)
    candles: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # ticker -> rows
    orders: dict[str, dict[str, str]] = field(default_factory=dict)  # service order id -> row
    listeners: list[asyncio.Queue[dict[str, str]]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def place(self, row: dict[str, str]) -> dict[str, str]:
        for existing in self.orders.values():  # the service's own idempotency by client key
            if existing["client_key"] == row["client_key"]:
                return dict(existing)
        order = {**row, "order_id": f"paper-{next(self._ids)}", "state": "active", "filled": "0"}
        self.orders[order["order_id"]] = order
        return dict(order)

    def cancel(self, order_id: str) -> dict[str, str]:
        order = self.orders[order_id]
        if order["state"] == "active":
            order["state"] = "cancelled"
            self._tell(order)
        return dict(order)

    def trade(self, ticker: str, price: str) -> None:
        """A trade on the market at ``price``: resting orders it crosses fill whole."""
        for order in self.orders.values():
            crosses = (
                Decimal(price) <= Decimal(order["price"])
                if order["side"] == "buy"
                else Decimal(price) >= Decimal(order["price"])
            )
            if order["ticker"] == ticker and order["state"] == "active" and crosses:
                order.update(state="filled", filled=order["lots"], fill_price=order["price"])
                self._tell(order)

    def _tell(self, order: dict[str, str]) -> None:
        for queue in self.listeners:
            queue.put_nowait(dict(order))


# --- the adapter: keep this shape ---------------------------------------------------------------

_STATES = {
    "active": OrderStatus.ACCEPTED,
    "filled": OrderStatus.FILLED,
    "cancelled": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
}


class TemplateBroker:
    """The :class:`~engine.broker.base.Broker` protocol over a :class:`PaperService`."""

    name = "template"
    mode = Mode.SANDBOX

    def __init__(self, service: PaperService, account: str = "paper-1") -> None:
        self.service = service
        self.account = account
        self._queue: asyncio.Queue[BrokerEvent] = asyncio.Queue()
        self._updates: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._orders: dict[str, Order] = {}  # client key -> our view
        self._service_ids: dict[str, str] = {}  # client key -> service order id
        self._positions: dict[str, Position] = {}
        self._subscriptions = Subscriptions()
        self._pump: asyncio.Task[None] | None = None

    # connection ---------------------------------------------------------------------------------

    async def connect(self) -> None:
        if self._pump is None:
            self.service.listeners.append(self._updates)
            self._pump = asyncio.create_task(self._pump_updates(), name="template-updates")

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
            self._pump = None
            self.service.listeners.remove(self._updates)

    # reference data -----------------------------------------------------------------------------

    async def accounts(self) -> list[Account]:
        return [Account(self.account, "Paper account", self.mode)]

    async def instruments(self) -> list[Instrument]:
        return [_instrument(row) for row in self.service.instruments]

    async def find_instrument(self, query: str) -> Instrument:
        text = query.strip().upper()
        for item in await self.instruments():
            if text in (item.code, item.ticker, item.uid.upper(), item.figi.upper()):
                return item
        raise UnknownInstrument(f"instrument {query!r} not found at {self.name}")

    async def candles(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> list[Bar]:
        if timeframe is not TimeFrame.M1:
            raise BrokerError(f"{self.name} serves 1-minute candles only")
        rows = self.service.candles.get(instrument.ticker, [])
        bars = [_bar(row) for row in rows]
        return sorted((b for b in bars if as_utc(begin) <= b.ts < as_utc(end)), key=lambda b: b.ts)

    # streams ------------------------------------------------------------------------------------

    async def subscribe_bars(self, instrument: Instrument, timeframe: TimeFrame) -> None:
        self._subscriptions.bars.add((instrument.code, timeframe))

    async def subscribe_prices(self, instrument: Instrument) -> None:
        self._subscriptions.prices.add(instrument.code)

    async def unsubscribe(self, instrument: Instrument) -> None:
        self._subscriptions.prices.discard(instrument.code)
        self._subscriptions.bars = {b for b in self._subscriptions.bars if b[0] != instrument.code}

    def market_status(self, instrument: str) -> TradingStatus:
        return TradingStatus(True, True, "open", "paper")

    # orders -------------------------------------------------------------------------------------

    async def post_order(self, order: Order) -> Order:
        known = self._orders.get(order.id)
        if known is not None:  # the same key twice never makes a second order
            return copy.deepcopy(known)
        instrument = await self.find_instrument(order.instrument)
        if order.type is not OrderType.LIMIT or order.price is None:
            raise OrderRejected(order.id, f"{self.name} takes limit orders only")
        row = self.service.place(
            {
                "client_key": order.id,
                "ticker": instrument.ticker,
                "side": "buy" if order.side is Side.BUY else "sell",
                "lots": str(order.lots),
                "price": str(order.price),
            }
        )
        own = copy.deepcopy(order)
        own.broker_id = row["order_id"]
        now = datetime.now(UTC)
        own.created_ts = own.updated_ts = now
        own.transition(OrderStatus.SUBMITTED, now)
        self._orders[own.id] = own
        self._service_ids[own.id] = row["order_id"]
        self._apply(row)
        return copy.deepcopy(own)

    async def cancel_order(self, account: str, order_id: str) -> Order:
        service_id = self._service_ids.get(order_id)
        if service_id is None or account != self.account:
            raise BrokerError(f"order {order_id} not found", code="not_found")
        self._apply(self.service.cancel(service_id))
        return copy.deepcopy(self._orders[order_id])

    async def get_order(self, account: str, order_id: str) -> Order | None:
        order = self._orders.get(order_id)
        return None if order is None or account != self.account else copy.deepcopy(order)

    async def open_orders(self, account: str) -> list[Order]:
        """Asked of the service (orders of an earlier session are there too, not only ours)."""
        if account != self.account:
            return []
        out = []
        for row in self.service.orders.values():
            if row["state"] != "active":
                continue
            known = self._orders.get(row["client_key"])
            out.append(copy.deepcopy(known) if known is not None else self._foreign(row))
        return out

    def _foreign(self, row: dict[str, str]) -> Order:
        """An order the service has and this session did not post, in the model's words."""
        side = Side.BUY if row["side"] == "buy" else Side.SELL
        order = Order(
            f"MOEX_SHARE_{row['ticker']}", side, OrderType.LIMIT, int(row["lots"]), self.account,
            price=Decimal(row["price"]), id=row["client_key"], broker_id=row["order_id"],
        )  # fmt: skip
        order.transition(OrderStatus.SUBMITTED)
        order.transition(_STATES[row["state"]])
        return order

    async def positions(self, account: str) -> list[Position]:
        return (
            [copy.deepcopy(p) for p in self._positions.values()] if account == self.account else []
        )

    async def events(self) -> AsyncIterator[BrokerEvent]:
        while True:
            yield await self._queue.get()

    # the service's news into the model ----------------------------------------------------------

    async def _pump_updates(self) -> None:
        while True:
            self._apply(await self._updates.get())

    def _apply(self, row: dict[str, str]) -> None:
        """One service order row into our order, its events and the position (idempotent)."""
        order = self._orders.get(row["client_key"])
        if order is None:
            return
        now = datetime.now(UTC)
        status = _STATES.get(row["state"], OrderStatus.ACCEPTED)
        filled = int(row["filled"])
        changed = filled > order.filled_lots
        if changed:
            fill = Fill(
                order.id, order.instrument, order.side, filled - order.filled_lots,
                Decimal(row["fill_price"]), Decimal(0), now, account=self.account,
            )  # fmt: skip
            order.apply_fill(fill)
            lot = next((int(i["lot"]) for i in self.service.instruments
                        if f"MOEX_SHARE_{i['ticker']}" == order.instrument), 1)  # fmt: skip
            position = self._positions.setdefault(
                order.instrument, Position(order.instrument, lot_size=lot, account=self.account)
            )
            position.apply_fill(fill)
            self._queue.put_nowait(FillEvent(fill))
            self._queue.put_nowait(PriceEvent(order.instrument, fill.price, now))
        if order.status is not status and not order.status.is_terminal:
            order.transition(status, now)
            changed = True
        if changed:
            order.updated_ts = now
            self._queue.put_nowait(OrderUpdate(copy.deepcopy(order), now))


def _instrument(row: dict[str, str]) -> Instrument:
    return Instrument(
        "MOEX", "SHARE", row["ticker"], row["uid"], row.get("figi", ""), row.get("board", "TQBR"),
        int(row["lot"]), Decimal(row["step"]), row.get("currency", "rub"), row.get("name", ""),
    )  # fmt: skip


def _bar(row: dict[str, str]) -> Bar:
    return Bar(
        as_utc(datetime.fromisoformat(row["time"])),
        float(row["open"]), float(row["high"]), float(row["low"]), float(row["close"]),
        int(row["lots"]),
    )  # fmt: skip
