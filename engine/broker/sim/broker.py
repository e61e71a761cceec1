"""``SimBroker``: the :class:`engine.broker.base.Broker` of the embedded simulated market.

One account (``sim-1``), the catalog instruments, orders matched by :class:`MatchingEngine` against
the ticks of :class:`SimMarket`. Events (``events()``), in order:

- ``connect()``: ``ConnectionEvent(True)``.
- ``post_order``: ``OrderUpdate`` SUBMITTED, then ACCEPTED (or REJECTED with the reason, and
  ``OrderRejected`` is raised). Posting a known key again returns that order and emits nothing.
- On each slot, for subscribed instruments: ``PriceEvent`` and provisional ``BarEvent``s
  (``closed`` False) for a new price, closed ``BarEvent``s when a minute (or a coarser frame)
  closes. Then, for every fill at that price: ``FillEvent``, then ``OrderUpdate`` (FILLED).
- ``cancel_order`` (or the synchronous ``cancel_now``): ``OrderUpdate`` CANCELLED.
- Order books and the tape (the optional :class:`engine.broker.base.MarketDepthFeed`): after a
  slot's price and fill events, ``TradeEvent`` for each trade of a ``subscribe_trades``
  instrument and ``BookEvent`` for a ``subscribe_order_book`` one; both come from
  :mod:`engine.broker.sim.tape` (the trades of a minute rebuild its bar; the book's touch is the
  last trade's price, with this broker's resting limit orders at their levels).

Orders and positions handed out are copies (snapshots); the broker's own objects never leak.
Short selling is allowed (no margin check); a buy needs cash for its value plus commission
(the cash held by other open buy orders is reserved).

Server clock (``server_time()``, :class:`engine.broker.base.ServerClock`): the market replays its
own time, not the wall clock's, so by default it tells none. Given ``server_clock`` (the "exchange
server's" UTC wall clock), every emitted batch carries that time (tests skew it without sleeping).
A restart goes on with the previous run's market time (``resume_at``) and account (``carry_over``).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal

from engine.broker.base import (
    BookEvent,
    BrokerError,
    BrokerEvent,
    ConnectionEvent,
    FillEvent,
    OrderRejected,
    OrderUpdate,
    PriceEvent,
    ServerTime,
    Subscriptions,
    TradeEvent,
    TradingStatus,
    UnknownInstrument,
)
from engine.broker.sim.account import carried
from engine.broker.sim.bars import BarStreams, history
from engine.broker.sim.generator import DEFAULT_SEED
from engine.broker.sim.market import DEFAULT_SPEED, MarketTick, SimMarket
from engine.broker.sim.matching import DEFAULT_COMMISSION, MatchingEngine, check_order
from engine.broker.sim.tape import Tape, make_book, valid_depth
from engine.data.sim_catalog import SIM_INSTRUMENTS
from engine.model import (
    Account,
    Bar,
    Fill,
    Instrument,
    MarketTrade,
    Mode,
    Order,
    OrderBook,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeFrame,
    as_utc,
)

log = logging.getLogger(__name__)

SIM_ACCOUNT_ID = "sim-1"
DEFAULT_CASH = Decimal(1_000_000)


def _snapshot(order: Order) -> Order:
    clone = copy.copy(order)
    clone.history = list(order.history)
    return clone


class SimBroker:
    """The simulated broker. ``realtime`` False: nothing runs by itself; drive ``market``."""

    name = "sim"
    mode = Mode.SIM

    def __init__(
        self,
        *,
        seed: int = DEFAULT_SEED,
        speed: float = DEFAULT_SPEED,
        start: datetime | None = None,
        instruments: Iterable[Instrument] = SIM_INSTRUMENTS,
        commission: Decimal = DEFAULT_COMMISSION,
        cash: Decimal = DEFAULT_CASH,
        realtime: bool = True,
        account_id: str = SIM_ACCOUNT_ID,
        server_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.market = SimMarket(instruments, seed=seed, speed=speed, start=start)
        self.server_clock = server_clock  # the "server's" wall clock (tests); None: cannot tell
        self._server_time: ServerTime | None = None
        # ids are unique across instances (runs), like an exchange's: never a fill id seen before
        self.run_id = uuid.uuid4().hex[:8]
        self.matching = MatchingEngine(Decimal(commission), fill_prefix=f"sim-fill-{self.run_id}-")
        self.realtime = realtime
        self.account_id = account_id
        self.subscriptions = Subscriptions()
        self._cash = Decimal(cash)
        self._by_code = {i.code: i for i in self.market.instruments}
        self._orders: dict[str, Order] = {}
        self._reserved: dict[str, Decimal] = {}
        self._positions: dict[str, Position] = {}
        self._queue: asyncio.Queue[BrokerEvent] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._broker_ids = 0
        self.connected = False
        self.bars = BarStreams(self.market, self._emit, self.subscriptions.bars)
        self.market.add_listener(self._on_ticks)
        self.tape = Tape()  # the anonymous trades and the book (engine/broker/sim/tape.py)
        self.market.add_listener(self._on_tape)

    # --- connection ------------------------------------------------------------------------

    async def connect(self) -> None:
        if not self.connected:
            self.connected = True
            self._stamp()
            self._emit(ConnectionEvent(True, self.market.now))
        if self.realtime and self._task is None:
            self._task = asyncio.create_task(self.market.run(), name="sim-market")
            self._task.add_done_callback(self._market_stopped)

    def _market_stopped(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        log.error("the simulated market stopped: %r", error, exc_info=error)
        if self._task is task:
            self._task = None
        self.connected = False
        self._emit(ConnectionEvent(False, self.market.now, f"simulated market stopped: {error!r}"))

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.remove_done_callback(self._market_stopped)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.connected:
            self.connected = False
            self._emit(ConnectionEvent(False, self.market.now, "closed"))

    async def drop_connection(self, downtime: float = 0.0, reason: str = "simulated drop") -> None:
        """Emit ConnectionEvent False, wait ``downtime`` real seconds, then ConnectionEvent True."""
        self._emit(ConnectionEvent(False, self.market.now, reason))
        if downtime > 0:
            await asyncio.sleep(downtime)
        self._emit(ConnectionEvent(True, self.market.now))

    def resume_at(self, ts: datetime) -> bool:
        """Carry on a previous run's replay at ``ts`` (its last market time) instead of replaying
        from ``start`` again: the engine calls this on a restart, before ``connect``. Only a
        market that has not started (no connection, no order) moves, and only forward."""
        if self.connected or self._task is not None or self._orders:
            return False
        return self.market.seek(ts)

    def carry_over(self, account: str, positions: list[Position]) -> bool:
        """Go on with a previous run's account (:mod:`engine.broker.sim.account`), before any
        order: its positions, and the cash they leave of what the account started with."""
        if account != self.account_id or self._orders or self._positions:
            return False
        self._positions, self._cash = carried(self._cash, positions)
        return True

    def market_time(self) -> datetime:
        """The simulated market's own clock (:class:`engine.broker.base.MarketClock`)."""
        return self.market.now

    def session_open(self) -> bool:
        """Whether the simulated session is open (:class:`engine.broker.base.SessionInfo`)."""
        return self.market.is_open

    # --- reference data --------------------------------------------------------------------

    @property
    def cash(self) -> Decimal:
        return self._cash

    async def accounts(self) -> list[Account]:
        return [Account(self.account_id, "Simulated market", Mode.SIM, "rub", self._cash)]

    async def instruments(self) -> list[Instrument]:
        return list(self.market.instruments)

    async def find_instrument(self, query: str) -> Instrument:
        return self.lookup(query)

    def lookup(self, query: str) -> Instrument:
        """Synchronous :meth:`find_instrument`."""
        text = query.strip().upper()
        for instrument in self.market.instruments:
            keys = {instrument.code, instrument.ticker.upper()}
            keys |= {instrument.uid.upper(), instrument.figi.upper()}
            if text in keys:
                return instrument
        known = ", ".join(i.ticker for i in self.market.instruments)
        raise UnknownInstrument(
            f"unknown instrument {query!r}",
            hint=f"The simulated market trades {known} (codes like MOEX_SHARE_SBER).",
        )

    def _known(self, instrument: Instrument) -> Instrument:
        return self._by_code.get(instrument.code) or self.lookup(instrument.code)

    async def candles(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> list[Bar]:
        """Complete bars with ``begin <= ts < end`` up to the simulated now."""
        return self.history(instrument, timeframe, begin, end)

    def history(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> list[Bar]:
        """Synchronous :meth:`candles` (:func:`engine.broker.sim.bars.history`)."""
        return history(self.market, self._known(instrument), timeframe, begin, end)

    # --- subscriptions ---------------------------------------------------------------------

    async def subscribe_bars(self, instrument: Instrument, timeframe: TimeFrame) -> None:
        self.bars.subscribe(self._known(instrument), timeframe)

    async def subscribe_prices(self, instrument: Instrument) -> None:
        self.subscriptions.prices.add(self._known(instrument).code)

    async def unsubscribe(self, instrument: Instrument) -> None:
        code = instrument.code
        self.subscriptions.prices.discard(code)
        self.subscriptions.books.pop(code, None)
        self.subscriptions.trades.discard(code)
        self.bars.unsubscribe(code)

    # --- order books and the tape (MarketDepthFeed) -----------------------------------------

    async def subscribe_order_book(self, instrument: Instrument, depth: int) -> None:
        instrument = self._known(instrument)
        self.subscriptions.books[instrument.code] = valid_depth(depth)
        book = self.book_now(instrument, depth)
        if book.bids or book.asks:
            self._emit(BookEvent(book))

    async def unsubscribe_order_book(self, instrument: Instrument) -> None:
        self.subscriptions.books.pop(instrument.code, None)

    async def subscribe_trades(self, instrument: Instrument) -> None:
        self.subscriptions.trades.add(self._known(instrument).code)

    async def order_book(self, instrument: Instrument, depth: int) -> OrderBook:
        return self.book_now(self._known(instrument), valid_depth(depth))

    async def last_trades(
        self, instrument: Instrument, begin: datetime, end: datetime
    ) -> list[MarketTrade]:
        return self.tape.trades(self._known(instrument).code, as_utc(begin), as_utc(end))

    def book_now(self, instrument: Instrument, depth: int) -> OrderBook:
        """The book of ``instrument`` now (empty while the session is closed or before a trade)."""
        code = instrument.code
        last = self.tape.last_price(code)
        now = self.market.now
        if last is None or not self.market.is_open:
            return OrderBook(code, now, (), (), depth)
        resting = [
            (o.side, o.price, o.remaining_lots)
            for o in self._orders.values()
            if o.instrument == code and o.is_open and o.type is OrderType.LIMIT and o.price
        ]
        return make_book(
            instrument,
            last,
            now,
            depth,
            side=self.tape.last_side(code),
            volume=self.tape.minute_volume(code),
            resting=resting,
        )

    def _on_tape(self, ticks: list[MarketTick]) -> None:
        trades = self.tape.on_ticks(ticks)
        subs = self.subscriptions
        if subs.trades:
            for trade in trades:
                if trade.instrument in subs.trades:
                    self._emit(TradeEvent(trade))
        if subs.books:
            for tick in ticks:
                depth = subs.books.get(tick.instrument.code)
                if depth is not None and not tick.closed:
                    self._emit(BookEvent(self.book_now(tick.instrument, depth)))

    def market_status(self, instrument: str) -> TradingStatus:
        """The simulated session: every instrument trades while it is open."""
        trading = self.market.is_open
        return TradingStatus(trading, trading, "open" if trading else "closed", "session")

    # --- orders ----------------------------------------------------------------------------

    async def post_order(self, order: Order) -> Order:
        return self.submit(order)

    def submit(self, order: Order) -> Order:
        """Synchronous :meth:`post_order`."""
        existing = self._orders.get(order.id)
        if existing is not None:
            return _snapshot(existing)
        now = self.market.now
        instrument, reason = self._validate(order)
        self._broker_ids += 1
        own = copy.copy(order)
        own.status = OrderStatus.NEW
        own.filled_lots = 0
        own.avg_fill_price = None
        own.commission = Decimal(0)
        own.reason = ""
        own.broker_id = f"sim-order-{self.run_id}-{self._broker_ids}"
        own.created_ts = now
        own.updated_ts = now
        own.history = [(now, OrderStatus.NEW)]
        self._orders[own.id] = own
        self._transition(own, OrderStatus.SUBMITTED, now)
        if reason is not None or instrument is None:
            reason = reason or "unknown instrument"
            self._transition(own, OrderStatus.REJECTED, now, reason)
            raise OrderRejected(own.id, reason)
        self._transition(own, OrderStatus.ACCEPTED, now)
        if own.side is Side.BUY:
            self._reserved[own.id] = self._buy_cost(own, instrument)
        self.matching.add(own, instrument)
        return _snapshot(own)

    def _validate(self, order: Order) -> tuple[Instrument | None, str | None]:
        if order.account != self.account_id:
            return (
                None,
                f"unknown account {order.account!r} (the simulated account is {self.account_id})",
            )
        try:
            instrument = self.lookup(order.instrument)
        except UnknownInstrument as exc:
            return None, exc.describe()
        reason = check_order(order, instrument, market_open=self.market.is_open)
        if reason is not None:
            return instrument, reason
        if order.side is Side.BUY:
            cost = self._buy_cost(order, instrument)
            available = self.available_cash
            if cost > available:
                return instrument, (
                    f"not enough cash: the order needs {cost} RUB with commission, "
                    f"{available} RUB available"
                )
        return instrument, None

    @property
    def available_cash(self) -> Decimal:
        """Cash not reserved by open buy orders."""
        return self._cash - sum(self._reserved.values(), Decimal(0))

    def _buy_cost(self, order: Order, instrument: Instrument) -> Decimal:
        if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and order.price is not None:
            price = order.price
        elif order.type is not OrderType.MARKET and order.stop_price is not None:
            price = max(order.stop_price, self.market.reference_price(instrument))
        else:
            last = self.matching.last_price(instrument.code)
            price = self.market.reference_price(instrument) if last is None else last
        lots = order.remaining_lots
        return instrument.value(price, lots) + self.matching.commission(instrument, price, lots)

    async def cancel_order(self, account: str, order_id: str) -> Order:
        return self.cancel_now(account, order_id)

    def cancel_now(self, account: str, order_id: str) -> Order:
        """Synchronous :meth:`cancel_order`. The engine calls it the moment a cancel is asked
        for, so on the simulated market a cancel asked for before the next price always wins
        (the request cannot be overtaken by a tick on its way); a filled order stays filled."""
        order = self._orders.get(order_id)
        if order is None or order.account != account:
            raise BrokerError(f"order {order_id} not found", code="not_found")
        if order.is_open:
            self.matching.remove(order_id)
            self._reserved.pop(order_id, None)
            self._transition(order, OrderStatus.CANCELLED, self.market.now, "cancelled by client")
        return _snapshot(order)

    async def get_order(self, account: str, order_id: str) -> Order | None:
        order = self._orders.get(order_id)
        if order is None or order.account != account:
            return None
        return _snapshot(order)

    async def open_orders(self, account: str) -> list[Order]:
        return [_snapshot(o) for o in self._orders.values() if o.account == account and o.is_open]

    async def positions(self, account: str) -> list[Position]:
        """Every position traded in this session (flat ones included), as copies."""
        if account != self.account_id:
            return []
        return [copy.deepcopy(p) for p in self._positions.values()]

    # --- events ----------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[BrokerEvent]:
        while True:
            yield await self._queue.get()

    def drain(self) -> list[BrokerEvent]:
        """Take every queued event without waiting (tests, synchronous drivers)."""
        out: list[BrokerEvent] = []
        while not self._queue.empty():
            out.append(self._queue.get_nowait())
        return out

    def _emit(self, event: BrokerEvent) -> None:
        self._queue.put_nowait(event)

    def _transition(
        self, order: Order, status: OrderStatus, ts: datetime, reason: str = ""
    ) -> None:
        order.transition(status, ts, reason)
        self._emit(OrderUpdate(_snapshot(order), ts))

    # --- the market feed -------------------------------------------------------------------

    def server_time(self) -> ServerTime | None:
        """The server clock of the newest emitted batch (None without ``server_clock``)."""
        return self._server_time if self.server_clock is not None else None

    def _stamp(self) -> None:
        clock = self.server_clock
        if clock is not None:
            self._server_time = ServerTime(as_utc(clock()), datetime.now(UTC))

    def _on_ticks(self, ticks: list[MarketTick]) -> None:
        self._stamp()
        for tick in ticks:
            code = tick.instrument.code
            self._stream(tick)
            if tick.closed:
                continue
            position = self._positions.get(code)
            if position is not None:
                position.last_price = tick.price
            for fill in self.matching.on_price(code, tick.price, tick.ts, gap=tick.gap):
                self._book(fill, tick.instrument)

    def _stream(self, tick: MarketTick) -> None:
        code = tick.instrument.code
        if not tick.closed and code in self.subscriptions.prices:
            self._emit(PriceEvent(code, tick.price, tick.ts))
        self.bars.on_tick(tick)

    def _book(self, fill: Fill, instrument: Instrument) -> None:
        order = self._orders[fill.order_id]
        position = self._positions.get(instrument.code)
        if position is None:
            position = Position(instrument.code, lot_size=instrument.lot, account=order.account)
            self._positions[instrument.code] = position
        position.apply_fill(fill)
        position.last_price = fill.price
        value = instrument.value(fill.price, fill.lots)
        if fill.side is Side.BUY:
            self._cash -= value + fill.commission
        else:
            self._cash += value - fill.commission
        if not order.is_open:
            self._reserved.pop(order.id, None)
        self._emit(FillEvent(copy.copy(fill)))
        self._emit(OrderUpdate(_snapshot(order), fill.ts))

    # --- driving (tests and demos) ---------------------------------------------------------

    def step(self) -> list[MarketTick]:
        return self.market.step()

    def advance(self, minutes: int = 1) -> list[MarketTick]:
        return self.market.advance(minutes)
