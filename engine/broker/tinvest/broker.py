"""``TInvestBroker``: the :class:`engine.broker.base.Broker` over the T-Invest gRPC API.

Orders carry the engine's client key as ``PostOrderRequest.order_id`` (the broker's idempotency
key). The key is written to the :class:`IntentJournal` before the request is sent. When the outcome
is ambiguous (timeout, 70xxx, a dropped connection) the order is looked up by that key
(``GetOrderState`` with ``ORDER_ID_TYPE_REQUEST``, then ``GetOrders``); only when the broker has
never seen it is the *same* request sent again with the *same* key. A new key is never used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.broker.base import (
    BrokerError,
    BrokerEvent,
    FillEvent,
    OrderUpdate,
    UnknownInstrument,
)
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
from engine.broker.tinvest.journal import InMemoryJournal, IntentJournal
from engine.broker.tinvest.limiter import RateLimiter
from engine.broker.tinvest.numbers import from_money, from_quotation, money, quotation, timestamp
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.streams import MarketStream, OrderStream, StreamPolicy
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
    TimeFrame,
    as_utc,
    parse_code,
)

log = logging.getLogger("avin.tinvest")

_STOP_TYPES = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT})
_DEFINITE_REJECTIONS = (RequestRejected, AccessDenied, PreconditionFailed, NotFound)


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
        self._queue: asyncio.Queue[BrokerEvent] = asyncio.Queue()
        self._by_uid: dict[str, Instrument] = {}
        self._by_figi: dict[str, Instrument] = {}
        self._by_code: dict[str, Instrument] = {}
        self._shares_loaded = False
        self._tracked: dict[str, tuple[str, Instrument]] = {}  # key -> (account, instrument)
        self._exchange_key: dict[str, str] = {}  # exchange order id -> client key
        self._seen: dict[str, tuple[OrderStatus, int]] = {}
        self._trade_ids: set[str] = set()
        self._stops: dict[str, tuple[str, str]] = {}  # client key -> (account, stop_order_id)
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
        """Check the token (GetAccounts) and start the order-state stream."""
        accounts = await self._accounts_raw()
        self.orders.start({a.id for a in accounts})

    async def close(self) -> None:
        await self.market.close()
        await self.orders.close()
        await self.transport.close()

    def _emit(self, event: BrokerEvent) -> None:
        self._queue.put_nowait(event)

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
        resp = await self._call("MarketDataService", "GetCandles", request)
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
        self._remember(instrument)
        await self.market.subscribe_prices(instrument)

    async def unsubscribe(self, instrument: Instrument) -> None:
        await self.market.unsubscribe(instrument)

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
        resp = await self._call(
            "MarketDataService",
            "GetTradingStatus",
            pb.GetTradingStatusRequest(instrument_id=instrument.uid),
        )
        return str(pb.SecurityTradingStatus.Name(resp.trading_status))

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
        if order.type in _STOP_TYPES:
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
        return self._accepted(result)

    def _accepted(self, result: Order) -> Order:
        self.journal.resolve(result.id, result)
        if result.broker_id:
            self._exchange_key[result.broker_id] = result.id
        if not result.is_open:
            self._tracked.pop(result.id, None)
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
                    return self._accepted(found)
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
                    return self._accepted(result)
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
        try:
            resp = await self._call(
                "StopOrdersService", "PostStopOrder", request, retry=Retry.WRITE
            )
        except _DEFINITE_REJECTIONS as exc:
            self.journal.resolve(order.id, None)
            raise TInvestOrderRejected(order.id, _with_hint(exc, hint)) from None
        self._stops[order.id] = (order.account, resp.stop_order_id)
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
        )
        self.journal.resolve(order.id, accepted)
        return accepted

    async def get_order(self, account: str, order_id: str) -> Order | None:
        if order_id in self._stops:
            return await self._get_stop(account, order_id)
        inst_hint = self._tracked.get(order_id)
        try:
            state = await self._call(
                "OrdersService",
                "GetOrderState",
                pb.GetOrderStateRequest(
                    account_id=account,
                    order_id=order_id,
                    order_id_type=pb.ORDER_ID_TYPE_REQUEST,
                ),
            )
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
        _, stop_id = self._stops[key]
        resp = await self._call(
            "StopOrdersService",
            "GetStopOrders",
            pb.GetStopOrdersRequest(account_id=account, status=pb.STOP_ORDER_STATUS_ALL),
        )
        for stop in resp.stop_orders:
            if stop.stop_order_id == stop_id:
                inst = await self._instrument_by_uid(stop.instrument_uid, stop.figi)
                if inst is not None:
                    return stop_order_to_model(stop, instrument=inst, account=account, key=key)
        return None

    async def cancel_order(self, account: str, order_id: str) -> Order:
        if order_id in self._stops:
            _, stop_id = self._stops[order_id]
            await self._call(
                "StopOrdersService",
                "CancelStopOrder",
                pb.CancelStopOrderRequest(account_id=account, stop_order_id=stop_id),
                retry=Retry.WRITE,
            )
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
            out.append(order_from_state(state, instrument=inst, account=account, key=key))
        stops = await self._call(
            "StopOrdersService",
            "GetStopOrders",
            pb.GetStopOrdersRequest(account_id=account, status=pb.STOP_ORDER_STATUS_ACTIVE),
        )
        keys = {stop_id: key for key, (_, stop_id) in self._stops.items()}
        for stop in stops.stop_orders:
            inst = await self._instrument_by_uid(stop.instrument_uid, stop.figi)
            if inst is None:
                continue
            key = keys.get(stop.stop_order_id, stop.stop_order_id)
            out.append(stop_order_to_model(stop, instrument=inst, account=account, key=key))
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

    def _publish(self, order: Order, fills: list[Fill]) -> None:
        for fill in fills:
            if fill.fill_id in self._trade_ids:
                continue
            self._trade_ids.add(fill.fill_id)
            self._emit(FillEvent(fill))
        seen = (order.status, order.filled_lots)
        if self._seen.get(order.id) != seen:
            self._seen[order.id] = seen
            self._emit(OrderUpdate(order, order.updated_ts or datetime.now(UTC)))
        if not order.is_open:
            self._tracked.pop(order.id, None)

    def _on_stream_state(self, state: pb.OrderStateStreamResponse.OrderState) -> None:
        inst = self._by_uid.get(state.instrument_uid)
        if inst is None:
            log.warning("order state for an unknown instrument %s", state.instrument_uid)
            return
        key = state.order_request_id or self._exchange_key.get(state.order_id, state.order_id)
        order = order_from_stream(state, instrument=inst, key=key)
        lot = max(1, state.lot_size or inst.lot)
        fills = [
            Fill(
                order_id=key,
                instrument=inst.code,
                side=order.side,
                lots=int(t.quantity) // lot,  # OrderTrade.quantity is in pieces
                price=from_quotation(t.price),
                commission=Decimal(0),  # not in the stream; see docs/brokers.md
                ts=t.date_time.ToDatetime(tzinfo=UTC),
                fill_id=t.trade_id,
                account=state.account_id,
            )
            for t in state.trades
        ]
        self._publish(order, fills)

    async def _poll_orders(self) -> None:
        """The order stream is down: ask for the state of every tracked open order."""
        for key, (account, inst) in list(self._tracked.items()):
            if key in self._stops:
                continue
            try:
                state = await self._call(
                    "OrdersService",
                    "GetOrderState",
                    pb.GetOrderStateRequest(
                        account_id=account, order_id=key, order_id_type=pb.ORDER_ID_TYPE_REQUEST
                    ),
                )
            except NotFound:
                continue
            order = order_from_state(state, instrument=inst, account=account, key=key)
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
            self._publish(order, fills)


def _with_hint(error: TInvestError, hint: str) -> TInvestError:
    """Add the price-step hint to errors about the price (30078, 30099)."""
    if error.api_code in ("30078", "30099") and hint and hint not in error.action:
        error.action = f"{error.action}; {hint}" if error.action else hint
    return error


__all__ = ["OrderOutcomeUnknown", "TInvestBroker", "default_target"]
