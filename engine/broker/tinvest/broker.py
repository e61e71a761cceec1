"""``TInvestBroker``: the :class:`engine.broker.base.Broker` over the T-Invest gRPC API.

Orders carry the engine's client key as ``PostOrderRequest.order_id`` (the broker's idempotency
key). The key is written to the :class:`IntentJournal` before the request is sent. When the outcome
is ambiguous (timeout, 70xxx, a dropped connection) the order is looked up by that key
(``GetOrderState`` with ``ORDER_ID_TYPE_REQUEST``, then ``GetOrders``); only when the broker has
never seen it is the *same* request sent again with the *same* key. A new key is never used.

Stop orders (PostStopOrder) become an exchange order of their own when their price is crossed;
the adapter reports that order's states and fills under the stop order's key (linked by
``StopOrder.exchange_order_id``, found from the order-state stream or by polling GetStopOrders),
and the journal keeps key -> stop order id across restarts. A fill's commission is the delta of
the order's ``executed_commission`` (GetOrderState): the order-state stream has none. Those
lookups get a budget (``COMMISSION_LOOKUPS_PER_MINUTE``, and only while OrdersService has half its
burst spare); beyond it a fill carries its share of the PostOrder ``initial_commission``. See
docs/brokers.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.broker import local_stops
from engine.broker.base import (
    UNKNOWN_STATUS,
    BrokerError,
    BrokerEvent,
    FillEvent,
    OrderUpdate,
    PriceEvent,
    ServerTime,
    TradingStatus,
    UnknownInstrument,
)
from engine.broker.tinvest import market_depth
from engine.broker.tinvest.channel import (
    PROD_TARGET,
    SANDBOX_TARGET,
    ChannelConfig,
    Retry,
    Transport,
    backoff_delay,
)
from engine.broker.tinvest.convert import (
    CANDLE_INTERVAL,
    CANDLE_WINDOW,
    DIRECTION,
    ORDER_TYPE,
    STOP_DIRECTION,
    STOP_TYPE,
    historic_to_bar,
    instrument_to_model,
    order_from_state,
    order_from_stream,
    share_to_instrument,
    stop_order_to_model,
)
from engine.broker.tinvest.errors import (
    AccessDenied,
    AuthenticationError,
    NotFound,
    PreconditionFailed,
    RateLimited,
    RequestRejected,
    TInvestError,
    TInvestOrderRejected,
    Unavailable,
)
from engine.broker.tinvest.journal import STOP_TYPES, InMemoryJournal, IntentJournal
from engine.broker.tinvest.limiter import RateLimiter, TokenBucket
from engine.broker.tinvest.numbers import from_money, from_quotation, money, quotation, timestamp
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.streams import MarketStream, OrderStream, StreamPolicy
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
    TimeFrame,
    as_utc,
    parse_code,
)

log = logging.getLogger("avin.tinvest")

_DEFINITE_REJECTIONS = (RequestRejected, AccessDenied, PreconditionFailed, NotFound)
_CENT = Decimal("0.01")
_FILL_STATES = frozenset({OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED})
COMMISSION_LOOKUPS_PER_MINUTE = 20  # of OrdersService's 100: orders and recovery keep the rest
STATUS_TTL = 30.0  # seconds a GetTradingStatus answer is used without asking again
SANDBOX_FUNDS = Decimal(1_000_000)  # RUB paid into a sandbox account avin opens


@dataclass(slots=True)
class _Stop:
    """A stop order the adapter follows: its key, its stop order id, what it became."""

    key: str
    account: str
    stop_id: str
    order: Order | None = None  # as accepted (type, prices, strategy); None: not read yet
    child: str = ""  # the exchange order it became when its stop price was crossed
    finished: bool = False  # cancelled, expired, or the order it became is finished
    trigger: asyncio.Task[None] | None = None  # a local stop: the post of the order it becomes
    armed: bool = False  # a local stop: watched for its price in this run

    @property
    def local(self) -> bool:
        return self.stop_id == local_stops.LOCAL_STOP_ID

    @property
    def waiting(self) -> bool:
        return not self.child and not self.finished and self.trigger is None


class StopOrdersUnavailable(BrokerError):
    """The broker's stop-order listing failed; ``orders`` holds the regular orders it did list."""

    def __init__(self, message: str, orders: list[Order], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.orders = orders


class OrderOutcomeUnknown(TInvestError):
    """An order's fate could not be established; it stays in flight under its key."""


def default_target(mode: Mode) -> str:
    if mode is Mode.LIVE:
        return PROD_TARGET
    if mode is Mode.SANDBOX:
        return SANDBOX_TARGET
    raise ValueError("the simulated market needs no T-Invest connection")


class TInvestBroker:
    name = "tinvest"

    def __init__(
        self,
        token: str,
        *,
        mode: Mode = Mode.SANDBOX,
        target: str | None = None,
        app_name: str = "avin",
        journal: IntentJournal | None = None,
        stream_policy: StreamPolicy | None = None,
        poll_interval: float = 1.0,
        limiter: RateLimiter | None = None,
        deadline_scale: float = 1.0,
        backoff_base: float = 0.2,
        max_attempts: int = 4,
        resolve_attempts: int = 5,
        stop_poll_interval: float = 5.0,
        local_stops: bool | None = None,
    ) -> None:
        if not token:
            raise BrokerError(
                "no T-Invest token",
                hint="set AVIN_TOKEN or `token` in avin.toml (a sandbox token for the sandbox)",
            )
        self.mode = mode
        self.config = ChannelConfig(
            target=target or default_target(mode),
            token=token,
            app_name=app_name,
            deadline_scale=deadline_scale,
            backoff_base=backoff_base,
            max_attempts=max_attempts,
        )
        self.transport = Transport(self.config, limiter=limiter)
        self.journal: IntentJournal = journal or InMemoryJournal()
        self.policy = stream_policy or StreamPolicy()
        self.resolve_attempts = resolve_attempts
        self.stop_poll_interval = stop_poll_interval  # GetStopOrders while a stop order waits
        # The sandbox has no stop orders: avin keeps them itself (engine.broker.local_stops)
        self.local_stops = mode is Mode.SANDBOX if local_stops is None else local_stops
        self._alias: dict[str, str] = {}  # key of the order a local stop became -> stop key
        self._queue: asyncio.Queue[BrokerEvent] = asyncio.Queue()
        self._by_uid: dict[str, Instrument] = {}
        self._by_figi: dict[str, Instrument] = {}
        self._by_code: dict[str, Instrument] = {}
        self._shares_loaded = False
        self._tracked: dict[str, tuple[str, Instrument]] = {}  # key -> (account, instrument)
        self._exchange_key: dict[str, str] = {}  # exchange order id -> client key
        self._seen: dict[str, tuple[OrderStatus, int]] = {}
        self._trade_ids: set[str] = set()
        # key -> (lots, value) of the fills emitted: answers without trade ids (PostOrder,
        # GetOrderState without stages) are deduplicated against the stream by executed lots
        self._booked: dict[str, tuple[int, Decimal]] = {}
        self._commissions: dict[str, Decimal] = {}  # key -> commission of the fills emitted
        # key -> (initial_commission, lots requested) from the PostOrder answer: the estimate
        self._estimates: dict[str, tuple[Decimal, int]] = {}
        # exact commission lookups (GetOrderState) take at most this share of OrdersService
        self._lookups = TokenBucket(COMMISSION_LOOKUPS_PER_MINUTE / 60.0, 5)
        self._stops: dict[str, _Stop] = {}  # client key -> the stop order
        # while recovery compares the journal with the broker: code -> newest price (the local
        # stops wait, see hold_local_stops); None: local stops trigger as prices come
        self._held_prices: dict[str, Decimal] | None = None
        self._stop_watch: asyncio.Task[None] | None = None
        self._status: dict[str, tuple[TradingStatus, float]] = {}  # uid -> (GetTradingStatus, t)
        self._status_tasks: dict[str, asyncio.Task[Any]] = {}
        self.market = MarketStream(self.transport, self._emit, self._backfill, self.policy)
        self.orders = OrderStream(
            self.transport,
            self._emit,
            self._on_stream_state,
            self._poll_orders,
            self.policy,
            poll_interval,
        )

    def __repr__(self) -> str:
        return f"TInvestBroker(mode={self.mode.value}, target={self.config.target!r})"

    # --- lifecycle --------------------------------------------------------------------------

    async def connect(self) -> None:
        """Check the token (GetAccounts) and start the order-state stream. A sandbox token
        without an account gets one (OpenSandboxAccount, funded with SandboxPayIn): a new
        sandbox user has none, and nothing could trade."""
        accounts = await self._accounts_raw()
        if not accounts and self.mode is Mode.SANDBOX:
            account = await self.open_sandbox_account("avin")
            balance = await self.sandbox_pay_in(account, SANDBOX_FUNDS)
            log.warning(
                "the sandbox had no account: opened %s and paid in %s RUB (play money)",
                account,
                balance,
            )
            accounts = await self._accounts_raw()
        self.orders.start({a.id for a in accounts})

    def use_journal(self, journal: IntentJournal) -> None:
        """Record keys (and the stop order ids of stop orders) in ``journal`` from now on: the
        engine hands over its persistent journal, so the links survive a restart."""
        self.journal = journal

    async def close(self) -> None:
        triggers = [s.trigger for s in self._stops.values()]
        tasks = [
            t for t in (self._stop_watch, *self._status_tasks.values(), *triggers) if t is not None
        ]
        self._stop_watch = None
        self._status_tasks.clear()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.market.close()
        await self.orders.close()
        await self.transport.close()

    def _emit(self, event: BrokerEvent) -> None:
        self._queue.put_nowait(event)
        if isinstance(event, PriceEvent):
            self._check_local_stops(event.instrument, event.price)

    def server_time(self) -> ServerTime | None:
        """The server clock of the newest market-data stream ping (None before the first)."""
        return self.market.server_time

    async def events(self) -> AsyncIterator[BrokerEvent]:
        while True:
            yield await self._queue.get()

    async def _call(self, service: str, method: str, request: Any, **kw: Any) -> Any:
        return await self.transport.call(service, method, request, **kw)

    # --- accounts ---------------------------------------------------------------------------

    async def _accounts_raw(self) -> list[Any]:
        resp = await self._call("UsersService", "GetAccounts", pb.GetAccountsRequest())
        return list(resp.accounts)

    async def accounts(self) -> list[Account]:
        out = []
        for acc in await self._accounts_raw():
            if acc.status == pb.ACCOUNT_STATUS_CLOSED:
                continue
            cash = Decimal(0)
            try:
                positions = await self._call(
                    "OperationsService", "GetPositions", pb.PositionsRequest(account_id=acc.id)
                )
                cash = sum(
                    (from_money(m) for m in positions.money if m.currency.lower() == "rub"),
                    Decimal(0),
                )
            except TInvestError as exc:
                log.warning("cash of account %s: %s", acc.id, exc)
            out.append(Account(acc.id, acc.name or acc.id, self.mode, "rub", cash))
        return out

    async def open_sandbox_account(self, name: str = "avin") -> str:
        resp = await self._call(
            "SandboxService",
            "OpenSandboxAccount",
            pb.OpenSandboxAccountRequest(name=name),
            retry=Retry.WRITE,
        )
        return str(resp.account_id)

    async def sandbox_accounts(self) -> list[str]:
        resp = await self._call("SandboxService", "GetSandboxAccounts", pb.GetAccountsRequest())
        return [a.id for a in resp.accounts]

    async def close_sandbox_account(self, account: str) -> None:
        await self._call(
            "SandboxService",
            "CloseSandboxAccount",
            pb.CloseSandboxAccountRequest(account_id=account),
            retry=Retry.WRITE,
        )

    async def sandbox_pay_in(self, account: str, amount: Decimal) -> Decimal:
        resp = await self._call(
            "SandboxService",
            "SandboxPayIn",
            pb.SandboxPayInRequest(account_id=account, amount=money(amount)),
            retry=Retry.WRITE,
        )
        return from_money(resp.balance)

    # --- instruments ------------------------------------------------------------------------

    def _remember(self, inst: Instrument) -> Instrument:
        self._by_uid[inst.uid] = inst
        self._by_figi[inst.figi] = inst
        self._by_code.setdefault(inst.code, inst)
        if inst.class_code == "TQBR":
            self._by_code[inst.code] = inst
        return inst

    async def instruments(self) -> list[Instrument]:
        resp = await self._call(
            "InstrumentsService",
            "Shares",
            pb.InstrumentsRequest(instrument_status=pb.INSTRUMENT_STATUS_BASE),
        )
        self._shares_loaded = True
        return [self._remember(share_to_instrument(s)) for s in resp.instruments]

    async def find_instrument(self, query: str) -> Instrument:
        text = query.strip()
        if not text:
            raise UnknownInstrument("empty instrument query", hint="use e.g. MOEX_SHARE_SBER")
        for table, key in ((self._by_uid, text), (self._by_figi, text.upper())):
            if key in table:
                return table[key]
        try:
            exchange, category, ticker = parse_code(text)
        except ValueError:
            ticker = text.upper()
            exchange, category = "MOEX", "SHARE"
        code = f"{exchange}_{category}_{ticker}"
        if code in self._by_code:
            return self._by_code[code]
        if category == "SHARE":
            try:
                resp = await self._call(
                    "InstrumentsService",
                    "ShareBy",
                    pb.InstrumentRequest(
                        id_type=pb.INSTRUMENT_ID_TYPE_TICKER, class_code="TQBR", id=ticker
                    ),
                )
                return self._remember(share_to_instrument(resp.instrument))
            except NotFound:
                pass
        found = await self._call(
            "InstrumentsService", "FindInstrument", pb.FindInstrumentRequest(query=ticker)
        )
        candidates = [
            i
            for i in found.instruments
            if ticker in (i.ticker.upper(), i.uid, i.figi.upper()) or text in (i.uid, i.figi)
        ]
        candidates.sort(key=lambda i: (i.class_code != "TQBR", not i.api_trade_available_flag))
        if candidates:
            resp2 = await self._call(
                "InstrumentsService",
                "GetInstrumentBy",
                pb.InstrumentRequest(id_type=pb.INSTRUMENT_ID_TYPE_UID, id=candidates[0].uid),
            )
            return self._remember(instrument_to_model(resp2.instrument))
        raise UnknownInstrument(
            f"instrument {query!r} not found at T-Invest",
            hint="use EXCHANGE_CATEGORY_TICKER (MOEX_SHARE_SBER), a ticker, a uid or a figi",
        )

    async def _instrument_by_code(self, code: str) -> Instrument:
        inst = self._by_code.get(code.upper())
        return inst if inst is not None else await self.find_instrument(code)

    async def _instrument_by_uid(self, uid: str, figi: str = "") -> Instrument | None:
        inst = self._by_uid.get(uid) or self._by_figi.get(figi)
        if inst is not None:
            return inst
        ident, kind = (
            (uid, pb.INSTRUMENT_ID_TYPE_UID) if uid else (figi, pb.INSTRUMENT_ID_TYPE_FIGI)
        )
        if not ident:
            return None
        try:
            resp = await self._call(
                "InstrumentsService",
                "GetInstrumentBy",
                pb.InstrumentRequest(id_type=kind, id=ident),
            )
        except NotFound:
            return None
        return self._remember(instrument_to_model(resp.instrument))

    # --- candles ----------------------------------------------------------------------------

    async def _candle_chunk(
        self, inst: Instrument, tf: TimeFrame, begin: datetime, end: datetime
    ) -> tuple[list[Bar], bool]:
        """Complete bars of one window and whether the window had an incomplete candle."""
        request = pb.GetCandlesRequest(
            instrument_id=inst.uid,
            interval=CANDLE_INTERVAL[tf],
            to=timestamp(end),
            **{"from": timestamp(begin)},
        )
        try:
            resp = await self._call("MarketDataService", "GetCandles", request)
        except RequestRejected as exc:
            span = end - begin
            if exc.api_code != "30014" or span <= (tf.step or timedelta(days=31)) * 2:
                raise
            # the server's window is shorter than ours: ask for the two halves
            log.info("GetCandles %s %s: window too long (30014); splitting", inst.code, tf.value)
            middle = begin + span / 2
            first, partial_first = await self._candle_chunk(inst, tf, begin, middle)
            second, partial_second = await self._candle_chunk(inst, tf, middle, end)
            return first + second, partial_first or partial_second
        bars = [historic_to_bar(c) for c in resp.candles if c.is_complete]
        partial = any(not c.is_complete for c in resp.candles)
        return bars, partial

    async def candles(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> list[Bar]:
        """Complete bars with ``begin <= ts < end``, in windows the API accepts."""
        begin, end = as_utc(begin), as_utc(end)
        window = CANDLE_WINDOW[timeframe]
        found: dict[datetime, Bar] = {}
        start = begin
        while start < end:
            stop = min(end, start + window)
            bars, _ = await self._candle_chunk(instrument, timeframe, start, stop)
            for bar in bars:
                if begin <= bar.ts < end:
                    found[bar.ts] = bar
            start = stop
        return [found[ts] for ts in sorted(found)]

    async def _backfill(self, inst: Instrument, tf: TimeFrame, since: datetime) -> list[Bar]:
        """Closed bars from ``since`` up to now (for the market stream after a reconnect)."""
        window = CANDLE_WINDOW[tf]
        found: dict[datetime, Bar] = {}
        start = since
        for _ in range(400):  # bounded: at most 400 windows (over a year of 1-minute bars)
            stop = start + window
            bars, partial = await self._candle_chunk(inst, tf, start, stop)
            for bar in bars:
                found[bar.ts] = bar
            if partial or stop >= datetime.now(UTC) or (not bars and start > since):
                break
            start = stop
        return [found[ts] for ts in sorted(found)]

    async def subscribe_bars(self, instrument: Instrument, timeframe: TimeFrame) -> None:
        self._remember(instrument)
        await self.market.subscribe_bars(instrument, timeframe)

    async def subscribe_prices(self, instrument: Instrument) -> None:
        """Last prices and trading statuses; the status is read once with GetTradingStatus
        too, so the pre-trade check knows it before the stream says anything."""
        self._remember(instrument)
        await self.market.subscribe_prices(instrument)
        try:
            await self.refresh_trading_status(instrument)
        except TInvestError as exc:
            log.info("trading status of %s: %s", instrument.code, exc)

    async def unsubscribe(self, instrument: Instrument) -> None:
        await self.market.unsubscribe(instrument)
        if any(
            s.waiting and s.local and self._stop_code(s) == instrument.code
            for s in self._stops.values()
        ):
            await self.market.subscribe_prices(instrument)  # a local stop still watches it

    # --- order books and the tape (MarketDepthFeed; engine/broker/tinvest/market_depth.py) ---

    async def subscribe_order_book(self, instrument: Instrument, depth: int) -> None:
        self._remember(instrument)
        await self.market.subscribe_order_book(instrument, market_depth.check_depth(depth))

    async def unsubscribe_order_book(self, instrument: Instrument) -> None:
        await self.market.unsubscribe_order_book(instrument)

    async def subscribe_trades(self, instrument: Instrument) -> None:
        self._remember(instrument)
        await self.market.subscribe_trades(instrument)

    async def order_book(self, instrument: Instrument, depth: int) -> OrderBook:
        return await market_depth.order_book(self._call, instrument, depth)

    async def last_trades(
        self, instrument: Instrument, begin: datetime, end: datetime
    ) -> list[MarketTrade]:
        """GetLastTrades: what the service still has of ``begin <= ts < end`` (the last hour)."""
        return await market_depth.last_trades(self._call, instrument, begin, end)

    async def last_trade_time(self, instrument: Instrument) -> datetime | None:
        """When ``instrument`` last traded (GetLastPrices), None when the service has no price."""
        return await market_depth.last_trade_time(self._call, instrument)

    async def last_prices(self, instruments: list[Instrument]) -> dict[str, Decimal]:
        resp = await self._call(
            "MarketDataService",
            "GetLastPrices",
            pb.GetLastPricesRequest(instrument_id=[i.uid for i in instruments]),
        )
        by_uid = {i.uid: i for i in instruments}
        return {
            by_uid[lp.instrument_uid].code: from_quotation(lp.price)
            for lp in resp.last_prices
            if lp.instrument_uid in by_uid
        }

    async def trading_status(self, instrument: Instrument) -> str:
        """The instrument's status name from GetTradingStatus (``NORMAL_TRADING``...)."""
        return (await self.refresh_trading_status(instrument)).status

    async def refresh_trading_status(self, instrument: Instrument) -> TradingStatus:
        """Ask GetTradingStatus and keep the answer for :meth:`market_status`."""
        resp = await self._call(
            "MarketDataService",
            "GetTradingStatus",
            pb.GetTradingStatusRequest(instrument_id=instrument.uid),
        )
        self._remember(instrument)
        status = TradingStatus(
            limit=bool(resp.limit_order_available_flag),
            market=bool(resp.market_order_available_flag),
            status=_status_name(resp.trading_status),
            source="GetTradingStatus",
        )
        self._status[instrument.uid] = (status, time.monotonic())
        return status

    def market_status(self, instrument: str) -> TradingStatus:
        """Whether ``instrument`` (a code) trades now: the market-data stream's trading status
        while the stream is up, else the last GetTradingStatus answer (asked again in the
        background when older than ``STATUS_TTL``); unknown for an instrument never seen."""
        inst = self._by_code.get(instrument.upper())
        if inst is None:
            return UNKNOWN_STATUS
        live = self.market.trading_flags.get(inst.uid)
        if live is not None and self.market.connected.is_set():
            code, limit, market = live
            return TradingStatus(limit, market, _status_name(code), "stream")
        cached = self._status.get(inst.uid)
        if cached is None or time.monotonic() - cached[1] > STATUS_TTL:
            self._refresh_soon(inst)
        if cached is not None:
            return cached[0]
        if live is not None:
            code, limit, market = live
            return TradingStatus(limit, market, _status_name(code), "stream (disconnected)")
        return UNKNOWN_STATUS

    def _refresh_soon(self, inst: Instrument) -> None:
        task = self._status_tasks.get(inst.uid)
        if task is not None and not task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # called outside the loop: nothing to schedule on

        async def refresh() -> None:
            try:
                await self.refresh_trading_status(inst)
            except TInvestError as exc:
                log.info("trading status of %s: %s", inst.code, exc)

        self._status_tasks[inst.uid] = loop.create_task(refresh(), name="tinvest-status")

    # --- orders -----------------------------------------------------------------------------

    def _post_request(self, order: Order, inst: Instrument) -> pb.PostOrderRequest:
        request = pb.PostOrderRequest(
            quantity=order.lots,
            direction=DIRECTION[order.side],
            account_id=order.account,
            order_type=ORDER_TYPE[order.type],
            order_id=order.id,
            instrument_id=inst.uid,
            time_in_force=pb.TIME_IN_FORCE_DAY,
        )
        if order.type is OrderType.LIMIT and order.price is not None:
            request.price.CopyFrom(quotation(order.price))
        return request

    @staticmethod
    def _step_hint(order: Order, inst: Instrument) -> str:
        prices = [p for p in (order.price, order.stop_price) if p is not None]
        if not prices:
            return f"the price step of {inst.code} is {inst.step}"
        nearest = ", ".join(str(inst.round_price(p)) for p in prices)
        return f"the price step of {inst.code} is {inst.step}; the nearest valid price: {nearest}"

    async def post_order(self, order: Order) -> Order:
        inst = await self._instrument_by_code(order.instrument)
        self.journal.record(order.id, order)
        self._tracked[order.id] = (order.account, inst)
        self.orders.add_account(order.account)
        if order.type in STOP_TYPES:
            return await self._post_stop(order, inst)
        request = self._post_request(order, inst)
        hint = self._step_hint(order, inst)
        try:
            resp = await self._call("OrdersService", "PostOrder", request, retry=Retry.WRITE)
        except _DEFINITE_REJECTIONS as exc:
            if exc.api_code == "30057":
                return await self._resolve(order, inst, request, exc)
            self.journal.resolve(order.id, None)
            self._tracked.pop(order.id, None)
            raise TInvestOrderRejected(order.id, _with_hint(exc, hint)) from None
        except (RateLimited, AuthenticationError):
            self.journal.resolve(order.id, None)  # refused before execution
            self._tracked.pop(order.id, None)
            raise
        except Unavailable as exc:
            return await self._resolve(order, inst, request, exc)
        result = order_from_state(resp, instrument=inst, account=order.account, key=order.id)
        estimate = from_money(resp.initial_commission)
        if estimate > 0 and resp.lots_requested > 0:
            self._estimates[order.id] = (estimate, int(resp.lots_requested))
        return self._accepted(result, order)

    def _accepted(self, result: Order, sent: Order) -> Order:
        """The broker's answer to a post (or a lookup of its key): journalled, and the lots it
        says were executed are booked now (the order stream may be down; the stream's trades
        for the same lots are not booked again)."""
        # what the broker says, with what only the engine knows (the journal replays it)
        result = replace(
            result, strategy=sent.strategy, created_ts=result.created_ts or sent.created_ts
        )
        # the journal learns that the broker has the key; its fills go to the journal as fills
        # (a replay that took the lots from here would find no room for the fills)
        self.journal.resolve(result.id, _without_fills(result))
        if result.broker_id:
            self._exchange_key[result.broker_id] = result.id
        self._publish(result, [], result.commission, complete=True)
        return result

    async def _resolve(
        self, order: Order, inst: Instrument, request: pb.PostOrderRequest, first: TInvestError
    ) -> Order:
        """An ambiguous PostOrder: look the key up; re-send only the same key, never a new one."""
        log.warning(
            "order %s: ambiguous outcome (%s); looking it up by its key", order.id, first.status
        )
        last: TInvestError = first
        for attempt in range(self.resolve_attempts):
            try:
                found = await self.get_order(order.account, order.id)
            except TInvestError as exc:
                last = exc
                found = None
            else:
                if found is not None:
                    log.info("order %s found at the broker: %s", order.id, found.status.value)
                    return self._accepted(found, order)
                # The broker has never seen this key: sending the same request is safe.
                try:
                    resp = await self._call(
                        "OrdersService", "PostOrder", request, retry=Retry.WRITE
                    )
                except _DEFINITE_REJECTIONS as exc:
                    if exc.api_code != "30057":
                        self.journal.resolve(order.id, None)
                        self._tracked.pop(order.id, None)
                        raise TInvestOrderRejected(
                            order.id, _with_hint(exc, self._step_hint(order, inst))
                        ) from None
                    last = exc  # the order exists but its report is not ready: look again
                except TInvestError as exc:
                    last = exc
                else:
                    result = order_from_state(
                        resp, instrument=inst, account=order.account, key=order.id
                    )
                    return self._accepted(result, order)
            await asyncio.sleep(backoff_delay(attempt, self.config.backoff_base, 2.0))
        raise OrderOutcomeUnknown(
            f"order {order.id}: the outcome is unknown after {self.resolve_attempts} lookups",
            status=last.status,
            api_code=last.api_code,
            tracking_id=last.tracking_id,
            explanation="the broker may or may not have the order",
            action="it stays in flight under its key; avin looks it up again, never re-sends it "
            "with a new key",
        )

    async def _post_stop(self, order: Order, inst: Instrument) -> Order:
        assert order.stop_price is not None
        if self.local_stops:
            return await self._arm_local(local_stops.accepted(order), inst)
        request = pb.PostStopOrderRequest(
            quantity=order.lots,
            stop_price=quotation(order.stop_price),
            direction=STOP_DIRECTION[order.side],
            account_id=order.account,
            expiration_type=pb.STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_CANCEL,
            stop_order_type=STOP_TYPE[order.type],
            instrument_id=inst.uid,
            exchange_order_type=(
                pb.EXCHANGE_ORDER_TYPE_LIMIT
                if order.type is OrderType.STOP_LIMIT
                else pb.EXCHANGE_ORDER_TYPE_MARKET
            ),
            order_id=order.id,
        )
        if order.type is OrderType.STOP_LIMIT and order.price is not None:
            request.price.CopyFrom(quotation(order.price))
        hint = self._step_hint(order, inst)
        resp = None
        last: TInvestError | None = None
        for attempt in range(max(1, self.resolve_attempts)):
            try:
                resp = await self._call(
                    "StopOrdersService", "PostStopOrder", request, retry=Retry.WRITE
                )
                break
            except _DEFINITE_REJECTIONS as exc:
                self.journal.resolve(order.id, None)
                self._tracked.pop(order.id, None)
                raise TInvestOrderRejected(order.id, _with_hint(exc, hint)) from None
            except Unavailable as exc:
                # GetStopOrders cannot find a stop order by its key, but the key makes
                # PostStopOrder idempotent: the same request (same key) answers with the stop
                # order the broker may already have.
                last = exc
                log.warning(
                    "stop order %s: ambiguous outcome (%s); sending it again with the same key",
                    order.id,
                    exc.status,
                )
                await asyncio.sleep(backoff_delay(attempt, self.config.backoff_base, 2.0))
        if resp is None:
            assert last is not None
            raise OrderOutcomeUnknown(
                f"stop order {order.id}: the outcome is unknown after {self.resolve_attempts} "
                "attempts",
                status=last.status,
                api_code=last.api_code,
                tracking_id=last.tracking_id,
                explanation="the broker may or may not have the stop order",
                action="it stays in flight under its key; it is only ever sent with that key",
            )
        accepted = Order(
            instrument=order.instrument,
            side=order.side,
            type=order.type,
            lots=order.lots,
            account=order.account,
            price=order.price,
            stop_price=order.stop_price,
            strategy=order.strategy,
            id=order.id,
            status=OrderStatus.ACCEPTED,
            broker_id=resp.stop_order_id,
            created_ts=order.created_ts,
        )
        self._stops[order.id] = _Stop(order.id, order.account, resp.stop_order_id, accepted)
        # The journal keeps key -> stop order id (the broker_id of a resolved stop order).
        self.journal.resolve(order.id, accepted)
        self._watch_stops()
        return accepted

    # --- stop orders: from the stop to the order it becomes ---------------------------------

    def _stop(self, key: str) -> _Stop | None:
        """The stop order under ``key``: followed in this run, or known to the journal (a
        restart: the journal links the key to the stop order id)."""
        stop = self._stops.get(key)
        if stop is None:
            link = self._journal_stops().get(key)
            if link is not None:
                stop = self._stops[key] = _Stop(key, link[0], link[1])
        return stop

    def _journal_stops(self) -> dict[str, tuple[str, str]]:
        stop_orders = getattr(self.journal, "stop_orders", None)
        if stop_orders is None:
            return {}
        try:
            return dict(stop_orders())
        except Exception as exc:  # a journal that cannot answer must not stop trading
            log.warning("the journal cannot list stop orders: %s", exc)
            return {}

    def _watch_stops(self) -> None:
        """Poll GetStopOrders while a stop order waits for its price (the fallback that does
        not depend on the order-state stream reporting the order a stop becomes)."""
        if self._stop_watch is None or self._stop_watch.done():
            self._stop_watch = asyncio.get_running_loop().create_task(
                self._stop_watch_loop(), name="tinvest-stops"
            )

    async def _stop_watch_loop(self) -> None:
        while any((s.armed if s.local else True) and s.waiting for s in self._stops.values()):
            await asyncio.sleep(self.stop_poll_interval)
            try:
                if any(s.waiting and not s.local for s in self._stops.values()):
                    await self._poll_stops()
                if not self.market.connected.is_set():
                    await self._poll_local_prices()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep watching whatever one round did
                log.error(
                    "stop orders cannot be checked at the broker (%s); avin keeps asking and the "
                    "order stream still reports what they become. Check them in the T-Invest app",
                    exc,
                )

    async def _poll_stops(self, account: str | None = None, *, follow: bool = True) -> None:
        """Ask for the stop orders still waiting; a triggered one is linked to its order (and,
        with ``follow``, that order's state and fills are published)."""
        waiting = [
            s
            for s in list(self._stops.values())
            if not s.child
            and not s.finished
            and not s.local
            and (account is None or s.account == account)
        ]
        for acc in sorted({s.account for s in waiting}):
            resp = await self._call(
                "StopOrdersService",
                "GetStopOrders",
                pb.GetStopOrdersRequest(account_id=acc, status=pb.STOP_ORDER_STATUS_ALL),
            )
            by_id = {st.stop_order_id: st for st in resp.stop_orders}
            for stop in [s for s in waiting if s.account == acc]:
                found = by_id.get(stop.stop_id)
                if found is not None and not stop.child and not stop.finished:
                    await self._stop_changed(stop, found, follow=follow)

    async def _stop_changed(self, stop: _Stop, state: pb.StopOrder, *, follow: bool) -> None:
        if state.status == pb.STOP_ORDER_STATUS_ACTIVE:
            return
        inst = await self._instrument_by_uid(state.instrument_uid, state.figi)
        if inst is None:
            return
        model = stop_order_to_model(state, instrument=inst, account=stop.account, key=stop.key)
        if stop.order is None:
            stop.order = model
        if state.status == pb.STOP_ORDER_STATUS_EXECUTED:
            if state.HasField("exchange_order_id") and state.exchange_order_id:
                self._link(stop, state.exchange_order_id, inst)
                if follow:
                    await self._poll_key(stop.key, stop.account, inst)
            return  # executed without the order's id yet: asked again next round
        stop.finished = True  # cancelled or expired
        self._publish(replace(model, strategy=stop.order.strategy), [], None)

    def _link(self, stop: _Stop, child: str, inst: Instrument) -> None:
        """The stop order triggered and became the exchange order ``child``: its states and
        fills are reported under the stop order's key from now on."""
        if stop.child == child:
            return
        stop.child = child
        self._exchange_key[child] = stop.key
        if not stop.finished:
            self._tracked[stop.key] = (stop.account, inst)
        log.info("stop order %s triggered: exchange order %s", stop.key[:8], child)

    def _stop_view(self, stop: _Stop, child: Order) -> Order:
        """The order a stop became, shown as the stop order the engine knows (key, type, prices)."""
        base = stop.order
        if base is None:
            return replace(child, id=stop.key)
        return replace(
            child,
            id=stop.key,
            type=base.type,
            price=base.price,
            stop_price=base.stop_price,
            strategy=base.strategy,
            broker_id=stop.stop_id,
        )

    async def _stop_for_child(self, account: str, order_id: str) -> _Stop | None:
        """An order state without a key: the order a stop order of ``account`` became?"""
        if not any(
            s.account == account and not s.child and not s.finished and not s.local
            for s in self._stops.values()
        ):
            return None
        try:
            await self._poll_stops(account, follow=False)
        except TInvestError as exc:
            log.warning("order %s: cannot ask for the stop orders: %s", order_id, exc)
            return None
        key = self._exchange_key.get(order_id)
        return self._stops.get(key) if key else None

    # --- local stops: kept by avin where the broker has none (the sandbox) -------------------

    async def _arm_local(
        self, stop_order: Order, inst: Instrument, *, journal: bool = True
    ) -> Order:
        """Keep a stop order locally (journalled with the local marker) and watch its prices."""
        stop = self._stops.get(stop_order.id)
        if stop is None:
            stop = _Stop(stop_order.id, stop_order.account, local_stops.LOCAL_STOP_ID)
            self._stops[stop_order.id] = stop
        stop.order = stop_order
        stop.armed = True
        if journal:
            self.journal.resolve(stop_order.id, stop_order)
        self._tracked.pop(stop_order.id, None)  # nothing to poll at the broker until it triggers
        self._remember(inst)
        await self.market.subscribe_prices(inst)
        self._watch_stops()
        log.info(
            "stop order %s kept locally: %s %d lot(s) of %s at %s",
            stop_order.id[:8],
            stop_order.side.value,
            stop_order.lots,
            stop_order.instrument,
            stop_order.stop_price,
        )
        return stop_order

    @staticmethod
    def _stop_code(stop: _Stop) -> str:
        return stop.order.instrument if stop.order is not None else ""

    def hold_local_stops(self) -> None:
        """Recovery is comparing the journal's orders and positions with the broker's: the local
        stops it re-arms wait (an order one of them sent now would change the position being
        compared, and recovery would halt on a difference it caused). The newest price of each
        instrument is kept for :meth:`release_local_stops`."""
        if self._held_prices is None:
            self._held_prices = {}

    def release_local_stops(self) -> None:
        """Recovery is done: every armed local stop is checked against the newest price heard
        while held (a level, not a crossing: a stop passed meanwhile triggers now)."""
        held, self._held_prices = self._held_prices, None
        for code, price in (held or {}).items():
            self._check_local_stops(code, price)

    def _check_local_stops(self, code: str, price: Decimal) -> None:
        """A last price: trigger every waiting local stop of ``code`` that it reaches."""
        if self._held_prices is not None:
            self._held_prices[code] = price
            return
        for stop in list(self._stops.values()):
            order = stop.order
            if not (stop.local and stop.armed and stop.waiting and order is not None):
                continue  # only stops armed in this run (open ones: placed, or re-armed)
            if order.instrument != code or not order.is_open:
                continue
            if local_stops.reached(order, price):
                log.info("local stop %s reached at %s", stop.key[:8], price)
                stop.trigger = asyncio.get_running_loop().create_task(
                    self._trigger_local(stop, price), name="tinvest-local-stop"
                )

    async def _trigger_local(self, stop: _Stop, price: Decimal) -> None:
        """Send the order the local stop becomes (its key derived from the stop's, so a lookup
        after an ambiguous answer or a restart finds it) and follow it under the stop's key."""
        assert stop.order is not None
        child = local_stops.triggered_order(stop.order)
        self._alias[child.id] = stop.key
        try:
            inst = await self._instrument_by_code(child.instrument)
            request = self._post_request(child, inst)
            resp: Any = None
            for attempt in range(max(1, self.resolve_attempts)):
                try:
                    resp = await self._call(
                        "OrdersService", "PostOrder", request, retry=Retry.WRITE
                    )
                    break
                except Unavailable as exc:
                    log.warning("local stop %s: %s; looking its order up", stop.key[:8], exc)
                    with contextlib.suppress(NotFound):
                        resp = await self._order_state(stop.account, child.id, exchange=False)
                        break
                    await asyncio.sleep(backoff_delay(attempt, self.config.backoff_base, 2.0))
            if resp is None:
                raise Unavailable(f"local stop {stop.key}: its order could not be sent")
        except TInvestError as exc:
            if isinstance(exc, Unavailable | RateLimited):
                log.error("local stop %s: %s; it waits for the next price", stop.key[:8], exc)
                self._alias.pop(child.id, None)
                stop.trigger = None
                return
            log.error("local stop %s: the order it became was refused: %s", stop.key[:8], exc)
            stop.finished = True
            reason = f"triggered, but its order was refused: {exc}"
            cancelled = replace(stop.order, status=OrderStatus.CANCELLED, reason=reason)
            stop.order = cancelled
            self.journal.resolve(stop.key, cancelled)
            self._publish(cancelled, [], None)
            return
        state = order_from_state(resp, instrument=inst, account=stop.account, key=stop.key)
        self._link(stop, str(resp.order_id), inst)
        estimate = from_money(resp.initial_commission)
        if estimate > 0 and resp.lots_requested > 0:
            self._estimates[stop.key] = (estimate, int(resp.lots_requested))
        self._publish(self._stop_view(stop, state), [], state.commission, complete=True)

    async def _poll_local_prices(self) -> None:
        """The market-data stream is down: local stops are checked against GetLastPrices."""
        codes = {
            self._stop_code(s) for s in self._stops.values() if s.local and s.armed and s.waiting
        }
        instruments = [self._by_code[c] for c in sorted(codes) if c in self._by_code]
        if not instruments:
            return
        for code, price in (await self.last_prices(instruments)).items():
            self._check_local_stops(code, price)

    async def _local_stop_state(self, stop: _Stop, account: str) -> Order | None:
        """A local stop by its key: waiting (re-armed after a restart), or the state of the order
        it became under the stop's key."""
        if stop.order is None:
            stop.order = self._journal_stop_order(stop.key)
        if stop.order is None:
            return None
        inst = await self._instrument_by_code(stop.order.instrument)
        if stop.trigger is not None and not stop.trigger.done():
            await asyncio.shield(stop.trigger)
        try:
            if stop.child:
                state = await self._order_state(account, stop.child, exchange=True)
            else:
                key = local_stops.triggered_key(stop.key)
                state = await self._order_state(account, key, exchange=False)
                self._alias[key] = stop.key
                self._link(stop, str(state.order_id), inst)
        except NotFound:
            if stop.child:
                return None
            if stop.order.is_open and not stop.finished and not stop.armed:
                await self._arm_local(stop.order, inst, journal=False)  # after a restart
            return stop.order
        view = self._stop_view(
            stop, order_from_state(state, instrument=inst, account=account, key=stop.key)
        )
        if not view.is_open:
            stop.finished = True
        return view

    def _journal_stop_order(self, key: str) -> Order | None:
        find = getattr(self.journal, "stop_order", None)
        if find is None:
            return None
        try:
            found = find(key)
        except Exception as exc:  # a journal that cannot answer must not stop trading
            log.warning("the journal cannot give stop order %s: %s", key, exc)
            return None
        return found if isinstance(found, Order) else None

    # --- lookups ----------------------------------------------------------------------------

    async def _order_state(self, account: str, order_id: str, *, exchange: bool) -> Any:
        """GetOrderState by the exchange's order id or (``exchange=False``) by our request key."""
        kind = pb.ORDER_ID_TYPE_EXCHANGE if exchange else pb.ORDER_ID_TYPE_REQUEST
        request = pb.GetOrderStateRequest(account_id=account, order_id=order_id, order_id_type=kind)
        return await self._call("OrdersService", "GetOrderState", request)

    async def get_order(self, account: str, order_id: str) -> Order | None:
        if self._stop(order_id) is not None:
            return await self._get_stop(account, order_id)
        inst_hint = self._tracked.get(order_id)
        try:
            state = await self._order_state(account, order_id, exchange=False)
        except NotFound:
            state = None
        if state is None:
            orders = await self._call(
                "OrdersService", "GetOrders", pb.GetOrdersRequest(account_id=account)
            )
            matches = [o for o in orders.orders if o.order_request_id == order_id]
            if not matches:
                return None
            state = matches[0]
        inst = await self._instrument_by_uid(state.instrument_uid, state.figi)
        if inst is None:
            inst = inst_hint[1] if inst_hint else None
        if inst is None:
            return None
        return order_from_state(state, instrument=inst, account=account, key=order_id)

    async def _get_stop(self, account: str, key: str) -> Order | None:
        """A stop order by its key; once triggered, the state of the order it became (status,
        fills, average price, commission) under the stop order's key, type and prices."""
        stop = self._stop(key)
        assert stop is not None
        if stop.local:
            return await self._local_stop_state(stop, account)
        resp = await self._call(
            "StopOrdersService",
            "GetStopOrders",
            pb.GetStopOrdersRequest(account_id=account, status=pb.STOP_ORDER_STATUS_ALL),
        )
        found = next((s for s in resp.stop_orders if s.stop_order_id == stop.stop_id), None)
        if found is None:
            return None
        inst = await self._instrument_by_uid(found.instrument_uid, found.figi)
        if inst is None:
            return None
        model = stop_order_to_model(found, instrument=inst, account=account, key=key)
        if stop.order is None:
            stop.order = model
        model = replace(model, strategy=stop.order.strategy)
        if found.status == pb.STOP_ORDER_STATUS_ACTIVE:
            self._tracked.setdefault(key, (account, inst))
            self._watch_stops()
            return model
        if found.status != pb.STOP_ORDER_STATUS_EXECUTED:
            stop.finished = True
            self._tracked.pop(key, None)
            return model
        if not (found.HasField("exchange_order_id") and found.exchange_order_id):
            return replace(model, status=OrderStatus.ACCEPTED)  # its order is not there yet
        self._link(stop, found.exchange_order_id, inst)
        try:
            state = await self._order_state(account, found.exchange_order_id, exchange=True)
        except NotFound:
            return replace(model, status=OrderStatus.ACCEPTED)
        view = self._stop_view(
            stop, order_from_state(state, instrument=inst, account=account, key=key)
        )
        if not view.is_open:
            stop.finished = True
            self._tracked.pop(key, None)
        return view

    async def cancel_order(self, account: str, order_id: str) -> Order:
        stop = self._stop(order_id)
        if stop is not None:
            await self._cancel_stop(account, stop)
        else:
            request = pb.CancelOrderRequest(
                account_id=account, order_id=order_id, order_id_type=pb.ORDER_ID_TYPE_REQUEST
            )
            for attempt in range(self.resolve_attempts):
                try:
                    await self._call("OrdersService", "CancelOrder", request, retry=Retry.WRITE)
                    break
                except Unavailable:
                    # cancelling is safe to repeat: check whether it is still open first
                    current = await self.get_order(account, order_id)
                    if current is not None and not current.is_open:
                        break
                    await asyncio.sleep(backoff_delay(attempt, self.config.backoff_base, 2.0))
        result = await self.get_order(account, order_id)
        if result is None:
            raise BrokerError(f"order {order_id} not found after cancelling", code="50005")
        return result

    async def _cancel_stop(self, account: str, stop: _Stop) -> None:
        """Cancel a waiting stop order, or the order it became if it triggered meanwhile."""
        if stop.local:
            if stop.trigger is not None and not stop.trigger.done():
                await asyncio.shield(stop.trigger)  # it is being sent: cancel what it became
            if stop.waiting:
                stop.finished = True
                if stop.order is None:
                    stop.order = self._journal_stop_order(stop.key)
                if stop.order is not None:
                    cancelled = replace(
                        stop.order, status=OrderStatus.CANCELLED, reason="cancelled (local stop)"
                    )
                    stop.order = cancelled
                    self.journal.resolve(stop.key, cancelled)
                return
        if not stop.child:
            try:
                await self._call(
                    "StopOrdersService",
                    "CancelStopOrder",
                    pb.CancelStopOrderRequest(account_id=account, stop_order_id=stop.stop_id),
                    retry=Retry.WRITE,
                )
                return
            except (RequestRejected, NotFound):
                await self._get_stop(account, stop.key)  # triggered meanwhile? links its order
            if not stop.child:
                return
        if stop.finished:
            return
        with contextlib.suppress(RequestRejected):  # already filled or cancelled
            await self._call(
                "OrdersService",
                "CancelOrder",
                pb.CancelOrderRequest(
                    account_id=account,
                    order_id=stop.child,
                    order_id_type=pb.ORDER_ID_TYPE_EXCHANGE,
                ),
                retry=Retry.WRITE,
            )

    async def open_orders(self, account: str) -> list[Order]:
        resp = await self._call(
            "OrdersService", "GetOrders", pb.GetOrdersRequest(account_id=account)
        )
        out: list[Order] = []
        for state in resp.orders:
            inst = await self._instrument_by_uid(state.instrument_uid, state.figi)
            if inst is None:
                continue
            key = state.order_request_id or self._exchange_key.get(state.order_id, state.order_id)
            key = self._alias.get(key, key)
            order = order_from_state(state, instrument=inst, account=account, key=key)
            stop = self._stops.get(key)
            out.append(self._stop_view(stop, order) if stop is not None else order)
        for key, (acc, _) in self._journal_stops().items():
            stop = self._stop(key)
            if stop is not None and stop.local and acc == account and stop.order is None:
                stop.order = self._journal_stop_order(key)
        out.extend(
            s.order
            for s in self._stops.values()
            if s.local
            and s.armed
            and s.waiting
            and s.account == account
            and s.order is not None
            and s.order.is_open
        )
        if self.local_stops:
            return out  # no stop-order service to ask (the sandbox)
        try:
            stops = await self._call(
                "StopOrdersService",
                "GetStopOrders",
                pb.GetStopOrdersRequest(account_id=account, status=pb.STOP_ORDER_STATUS_ACTIVE),
            )
        except TInvestError as exc:
            raise StopOrdersUnavailable(
                f"the stop orders of account {account} cannot be listed: {exc}",
                out,
                code=exc.api_code or exc.status,
                tracking_id=exc.tracking_id,
                hint="the regular orders were listed; stop orders avin placed are checked one by "
                "one, and any it cannot verify halts trading. Check the stop orders in the "
                "T-Invest app; if the service stays down, cancel them there and place them again",
            ) from exc
        keys = {stop_id: key for key, (_, stop_id) in self._journal_stops().items()}
        keys.update({s.stop_id: key for key, s in self._stops.items()})
        for stop_state in stops.stop_orders:
            inst = await self._instrument_by_uid(stop_state.instrument_uid, stop_state.figi)
            if inst is None:
                continue
            key = keys.get(stop_state.stop_order_id, stop_state.stop_order_id)
            out.append(stop_order_to_model(stop_state, instrument=inst, account=account, key=key))
        return out

    async def positions(self, account: str) -> list[Position]:
        """Share positions in lots (the portfolio counts pieces)."""
        resp = await self._call(
            "OperationsService", "GetPortfolio", pb.PortfolioRequest(account_id=account)
        )
        out: list[Position] = []
        for item in resp.positions:
            if item.instrument_type == "currency":
                continue
            inst = await self._instrument_by_uid(item.instrument_uid, item.figi)
            if inst is None:
                continue
            pieces = from_quotation(item.quantity)
            lots = int(pieces / inst.lot)
            if pieces % inst.lot:
                log.warning(
                    "%s: %s pieces is not a whole number of lots of %d", inst.code, pieces, inst.lot
                )
            out.append(
                Position(
                    instrument=inst.code,
                    lot_size=inst.lot,
                    lots=lots,
                    avg_price=from_money(item.average_position_price),
                    last_price=from_money(item.current_price) or None,
                    account=account,
                )
            )
        return out

    # --- order events -----------------------------------------------------------------------

    def _publish(
        self,
        order: Order,
        fills: list[Fill],
        commission: Decimal | None,
        *,
        complete: bool = False,
    ) -> None:
        """Emit the fills not emitted yet, then the order if it changed.

        Fills are deduplicated by trade id and by executed lots: ``order.filled_lots`` is what
        the broker says has traded, and only lots beyond those already booked are emitted (a
        PostOrder answer books its lots before the stream brings the same trades). With
        ``complete`` (a PostOrder or GetOrderState answer: the broker's word on the whole
        order) lots the trades given do not cover are booked as one fill at the average price.

        ``commission``: the order's cumulative executed commission at the broker (None: not
        known); each new fill carries its share of what the fills emitted before do not have
        (the delta of the executed commission, split by value over the new fills).
        """
        key = order.id
        new = [f for f in fills if f.fill_id not in self._trade_ids]
        self._trade_ids.update(f.fill_id for f in new)
        lots, value = self._booked.get(key, (0, Decimal(0)))
        executed = order.filled_lots
        room = executed - lots if executed > 0 else sum(f.lots for f in new)
        new = _newest_lots(new, max(0, room))
        missing = room - sum(f.lots for f in new)
        if complete and missing > 0 and order.avg_fill_price:
            total = order.avg_fill_price * executed - value - sum(f.price * f.lots for f in new)
            price = total / missing if total > 0 else order.avg_fill_price
            new.append(
                Fill(
                    order_id=key,
                    instrument=order.instrument,
                    side=order.side,
                    lots=missing,
                    price=price,
                    commission=Decimal(0),
                    ts=order.updated_ts or datetime.now(UTC),
                    fill_id=f"{key}:executed:{executed}",
                    account=order.account,
                )
            )
        if new and commission is not None:
            done = self._commissions.get(key, Decimal(0))
            delta = max(commission - done, Decimal(0))
            for fill, share in zip(new, _split(delta, new), strict=True):
                fill.commission = share
            self._commissions[key] = done + delta
        for fill in new:
            lots += fill.lots
            value += fill.price * fill.lots
            self._emit(FillEvent(fill))
        self._booked[key] = (lots, value)
        seen = (order.status, order.filled_lots)
        before = self._seen.get(key)
        stale = before is not None and (
            order.filled_lots < before[1] or (order.is_open and not before[0].is_open)
        )
        if before != seen and not stale:
            self._seen[key] = seen
            self._emit(OrderUpdate(order, order.updated_ts or datetime.now(UTC)))
        if not order.is_open and lots >= order.filled_lots:
            # final, and every executed lot booked: nothing left to poll for
            self._tracked.pop(key, None)
            stop = self._stops.get(key)
            if stop is not None and stop.child:
                stop.finished = True

    async def _on_stream_state(self, state: pb.OrderStateStreamResponse.OrderState) -> None:
        inst = self._by_uid.get(state.instrument_uid) or await self._instrument_by_uid(
            state.instrument_uid
        )
        if inst is None:
            log.warning("order state for an unknown instrument %s", state.instrument_uid)
            return
        key = state.order_request_id or self._exchange_key.get(state.order_id, "")
        stop: _Stop | None = None
        if key in self._alias:  # the order a local stop became (maybe before its answer)
            key = self._alias[key]
            known = self._stops.get(key)
            if known is not None and not known.child:
                self._link(known, state.order_id, inst)
        if key:
            known = self._stops.get(key)
            stop = known if known is not None and known.child == state.order_id else None
        else:
            # No key: the order a stop order became when it triggered (GetStopOrders links it).
            stop = await self._stop_for_child(state.account_id, state.order_id)
            key = stop.key if stop is not None else state.order_id
        order = order_from_stream(state, instrument=inst, key=key)
        if stop is not None:
            order = self._stop_view(stop, order)
        lot = max(1, state.lot_size or inst.lot)
        fills = [
            Fill(
                order_id=key,
                instrument=inst.code,
                side=order.side,
                lots=int(t.quantity) // lot,  # OrderTrade.quantity is in pieces
                price=from_quotation(t.price),
                commission=Decimal(0),  # not in the stream: see _executed_commission
                ts=t.date_time.ToDatetime(tzinfo=UTC),
                fill_id=t.trade_id,
                account=state.account_id,
            )
            for t in state.trades
        ]
        commission = None
        if any(f.fill_id not in self._trade_ids for f in fills):
            commission = await self._stream_commission(
                key, state.account_id, state.order_id, int(state.lots_executed)
            )
        self._publish(order, fills, commission)

    async def _stream_commission(
        self, key: str, account: str, exchange_id: str, lots_executed: int
    ) -> Decimal | None:
        """The order's commission so far: exact (GetOrderState) while the lookup budget and the
        OrdersService limit have room, else the PostOrder estimate prorated to the lots traded
        (the stream never waits for a rate limit; the limit is kept for orders and recovery)."""
        bucket = self.transport.limiter.bucket("OrdersService", "GetOrderState")
        if bucket.spare() >= 1 + bucket.capacity / 2 and self._lookups.try_acquire():
            exact = await self._executed_commission(account, exchange_id, lots_executed)
            if exact is not None:
                return exact
        known = self._estimates.get(key)
        if known is None:
            return None
        estimate, requested = known
        share = estimate * min(lots_executed, requested) / requested
        return share.quantize(_CENT, rounding=ROUND_HALF_UP)

    async def _executed_commission(
        self, account: str, exchange_id: str, lots_executed: int
    ) -> Decimal | None:
        """The order's executed commission when ``lots_executed`` lots had traded.

        The order-state stream carries no commission (neither ``OrderStateStreamResponse.
        OrderState`` nor ``OrderTrade`` has one); ``OrderState.executed_commission`` from
        GetOrderState does. If the order has traded more since the stream message, the
        commission is prorated to the lots the message reports.
        """
        try:
            state = await self._order_state(account, exchange_id, exchange=True)
        except TInvestError as exc:
            log.warning("commission of order %s: %s", exchange_id, exc)
            return None
        total = from_money(state.executed_commission)
        done = int(state.lots_executed)
        if done > lots_executed > 0:
            total = (total * lots_executed / done).quantize(_CENT, rounding=ROUND_HALF_UP)
        return total

    async def _poll_orders(self) -> None:
        """The order stream is down (or just back): stop orders that may have triggered, then
        the state of every tracked open order (fills from ``stages``, by trade id)."""
        with contextlib.suppress(TInvestError):
            await self._poll_stops(follow=False)
        for key, (account, inst) in list(self._tracked.items()):
            stop = self._stops.get(key)
            if stop is not None and not stop.child:
                continue  # still waiting for its price (see _poll_stops)
            await self._poll_key(key, account, inst)

    async def _poll_key(self, key: str, account: str, inst: Instrument) -> None:
        """Publish the state and fills of the order under ``key`` (for a triggered stop order:
        of the order it became)."""
        stop = self._stops.get(key)
        child = stop.child if stop is not None else ""
        try:
            state = await self._order_state(account, child or key, exchange=bool(child))
        except NotFound:
            return
        order = order_from_state(state, instrument=inst, account=account, key=key)
        if stop is not None:
            order = self._stop_view(stop, order)
        fills = [
            Fill(
                order_id=key,
                instrument=inst.code,
                side=order.side,
                lots=int(stage.quantity),  # OrderStage.quantity is in lots
                price=from_money(stage.price),
                commission=Decimal(0),
                ts=stage.execution_time.ToDatetime(tzinfo=UTC),
                fill_id=stage.trade_id,
                account=account,
            )
            for stage in state.stages
        ]
        self._publish(order, fills, from_money(state.executed_commission), complete=True)


def _without_fills(order: Order) -> Order:
    """``order`` as accepted, before any fill: fills are booked as fills, never as a state."""
    if order.filled_lots == 0 and order.status not in _FILL_STATES:
        return order
    status = OrderStatus.ACCEPTED if order.status in _FILL_STATES else order.status
    return replace(
        order,
        status=status,
        filled_lots=0,
        avg_fill_price=None,
        commission=Decimal(0),
        history=[(order.created_ts, status)],
    )


def _newest_lots(fills: list[Fill], room: int) -> list[Fill]:
    """The newest ``room`` lots of ``fills`` (the oldest are already booked), in order."""
    out: list[Fill] = []
    for fill in reversed(fills):
        if room <= 0:
            break
        if fill.lots > room:
            fill = replace(fill, lots=room)
        out.append(fill)
        room -= fill.lots
    out.reverse()
    return out


def _split(total: Decimal, fills: list[Fill]) -> list[Decimal]:
    """``total`` over ``fills`` in proportion to their value, to the kopeck; the last one gets
    what rounding leaves."""
    if len(fills) == 1:
        return [total]
    values = [f.price * f.lots for f in fills]
    whole = sum(values, Decimal(0))
    out: list[Decimal] = []
    left = total
    for value in values[:-1]:
        share = (total * value / whole).quantize(_CENT, rounding=ROUND_HALF_UP) if whole else left
        share = min(share, left)
        out.append(share)
        left -= share
    out.append(left)
    return out


def _status_name(code: int) -> str:
    try:
        name = str(pb.SecurityTradingStatus.Name(code))
    except ValueError:
        return str(code)
    return name.removeprefix("SECURITY_TRADING_STATUS_")


def _with_hint(error: TInvestError, hint: str) -> TInvestError:
    """Add the price-step hint to errors about the price (30078, 30099)."""
    if error.api_code in ("30078", "30099") and hint and hint not in error.action:
        error.action = f"{error.action}; {hint}" if error.action else hint
    return error


__all__ = ["OrderOutcomeUnknown", "StopOrdersUnavailable", "TInvestBroker", "default_target"]
