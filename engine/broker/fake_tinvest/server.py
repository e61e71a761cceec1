"""A fake T-Invest server that speaks the real protocol (gRPC, the same package and messages).

It listens on a loopback address (an ephemeral port by default) and implements the subset of the
API avin uses, backed by the simulated market (:class:`FakeExchange`). It behaves like the real
service where it matters to a client:

- ``authorization: Bearer <token>`` is checked on every call and stream open (40003 otherwise);
- errors have the real shape: a gRPC status, the numeric code as *details*, the text in trailing
  metadata ``message`` and an ``x-tracking-id``; unary answers carry ``x-ratelimit-*`` headers;
- streams send subscription answers, candles (provisional, then a newer minute), last prices,
  trading statuses, order states and pings at the requested interval;
- :class:`Faults` break it on demand (see ``faults.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeAlias

import grpc
import grpc.aio

from engine.broker.fake_tinvest import market_data as md
from engine.broker.fake_tinvest import messages as msg
from engine.broker.fake_tinvest.exchange import ExchangeError, FakeExchange
from engine.broker.fake_tinvest.faults import Faults
from engine.broker.fake_tinvest.market_data import MarketDataFeed
from engine.broker.fake_tinvest.messages import (
    CANDLE_WINDOW,
    INTERVAL_TIMEFRAME,
    METHOD_LIMITS,
    SERVICE_LIMITS,
    SIDE,
    STOP_KIND,
    from_money,
    from_quotation,
    from_timestamp,
    money,
)
from engine.broker.fake_tinvest.messages import timestamp as ts_pb
from engine.broker.fake_tinvest.streams import (
    MarketDataStreamServicer,
    OrdersStreamServicer,
    trading_status_code,
)
from engine.broker.tinvest.channel import is_loopback
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.proto import investapi_pb2_grpc as pb_grpc
from engine.model import Instrument, OrderStatus, OrderType, Side

log = logging.getLogger("avin.fake_tinvest")

DEFAULT_TOKEN = "t.fake-sandbox-token-for-tests-only"
PROFILES = ("real", "sandbox")  # which service the fake behaves like
_STOP_ORDER_RPCS = frozenset({"PostStopOrder", "GetStopOrders", "CancelStopOrder"})
PING_DELAY_MS = (5000, 180000)  # the ping interval a stream may ask for (120 s by default)
_STATUS_BY_FAMILY = {
    "3": grpc.StatusCode.INVALID_ARGUMENT,
    "4": grpc.StatusCode.PERMISSION_DENIED,
    "5": grpc.StatusCode.NOT_FOUND,
    "7": grpc.StatusCode.INTERNAL,
    "8": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "9": grpc.StatusCode.FAILED_PRECONDITION,
}
REJECT_TEXT = {
    "30078": "Price must be a multiple of the minimum price increment",
    "30099": "Price is outside the limits",
    "30034": "Not enough assets for a margin trade",
    "30052": "Instrument is not available for trading via the API",
    "30098": "Trading is not available now",
    "40002": "Insufficient privileges",
    "90003": "Order value is too high",
}


_STOP_STATUS_OPTION = {
    pb.STOP_ORDER_STATUS_EXECUTED: OrderStatus.FILLED,
    pb.STOP_ORDER_STATUS_CANCELED: OrderStatus.CANCELLED,
    pb.STOP_ORDER_STATUS_EXPIRED: OrderStatus.EXPIRED,
}


def _status_for(code: str) -> grpc.StatusCode:
    if code == "40003":
        return grpc.StatusCode.UNAUTHENTICATED
    return _STATUS_BY_FAMILY.get(code[:1], grpc.StatusCode.INTERNAL)


def _service_of(method: str) -> str:
    for name, service in pb.DESCRIPTOR.services_by_name.items():
        if method in service.methods_by_name:
            return name
    return ""


class FakeTInvestServer:
    """The server, its exchange and its faults. Use ``async with`` or start()/stop()."""

    # Stream pings come every requested interval times this: the tests' virtual clock (their
    # client asks for 5 s, the shortest the service allows, and hears a ping every 0.1 s).
    ping_scale: float = 1.0
    # Requests a minute allowed per method or service, times this (the tests' clients run their
    # rate limiter 100 times faster, and so does the server they talk to).
    limit_scale: float = 1.0

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        exchange: FakeExchange | None = None,
        faults: Faults | None = None,
        profile: str = "real",
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"the fake server listens on loopback hosts only, not {host!r}")
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
        self.profile = profile  # "real": the production service; "sandbox": the sandbox
        self.token = token
        self.host = host
        self.port = port
        self.exchange = exchange or FakeExchange()
        self.market_data = MarketDataFeed(self.exchange)  # the tape and books (before streams)
        self.faults = faults or Faults()
        self.post_order_keys: list[str] = []  # the key of every PostOrder that reached us
        self.stream_epoch = 0  # market-data streams opened in an older epoch are dropped
        self.market_sessions: list[Any] = []  # the open market-data streams' subscriptions
        self.order_stream_epoch = 0  # the same for the order-state and trades streams
        self.errors: list[tuple[str, str, str]] = []  # (code, message, x-tracking-id) answered
        self.calls: list[str] = []  # every RPC, in order
        self.app_names: set[str] = set()  # x-app-name values seen
        self._server: grpc.aio.Server | None = None
        self._windows: dict[str, tuple[float, int]] = {}
        self._market_task: asyncio.Task[None] | None = None

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> FakeTInvestServer:
        server = grpc.aio.server()
        pb_grpc.add_UsersServiceServicer_to_server(_Users(self), server)
        pb_grpc.add_InstrumentsServiceServicer_to_server(_Instruments(self), server)
        pb_grpc.add_MarketDataServiceServicer_to_server(_MarketData(self), server)
        pb_grpc.add_MarketDataStreamServiceServicer_to_server(
            MarketDataStreamServicer(self), server
        )
        pb_grpc.add_OrdersServiceServicer_to_server(_Orders(self), server)
        pb_grpc.add_OrdersStreamServiceServicer_to_server(OrdersStreamServicer(self), server)
        pb_grpc.add_OperationsServiceServicer_to_server(_Operations(self), server)
        if self.profile == "sandbox":
            # the sandbox has no stop orders: StopOrdersService answers UNIMPLEMENTED
            pb_grpc.add_SandboxServiceServicer_to_server(_Sandbox(self), server)
        else:
            pb_grpc.add_StopOrdersServiceServicer_to_server(_StopOrders(self), server)
        self.port = server.add_insecure_port(f"{self.host}:{self.port}")
        await server.start()
        self._server = server
        return self

    async def stop(self, grace: float | None = None) -> None:
        await self.stop_market()
        if self._server is not None:
            server, self._server = self._server, None
            await server.stop(grace)

    async def __aenter__(self) -> FakeTInvestServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- the market clock --------------------------------------------------------------------

    def step(self) -> None:
        self.exchange.step()

    def advance(self, minutes: int = 1) -> None:
        self.exchange.advance(minutes)

    def streams_candles(self, code: str) -> bool:
        """Does an open market-data stream hold a candle subscription of ``code`` (from now on a
        closing minute reaches it)? Like the service, the fake sends nobody the candles that
        closed before the subscription: a test waits for this before it moves the market."""
        return any(code in session.candles for session in self.market_sessions)

    def streams_prices(self, code: str) -> bool:
        """Does an open market-data stream hold a last-price subscription of ``code``?"""
        return any(code in session.prices for session in self.market_sessions)

    def drop_open_streams(self) -> None:
        """Drop every market-data stream open now at its next data message (GOAWAY)."""
        self.stream_epoch += 1

    def drop_order_streams_now(self) -> None:
        """Drop every order-state / trades stream open now at its next message (RST_STREAM)."""
        self.order_stream_epoch += 1

    def run_market(self) -> None:
        """Replay the market in real time (``avin sim-server``) until stop()."""
        if self._market_task is None:
            self._market_task = asyncio.get_running_loop().create_task(self.exchange.market.run())

    async def stop_market(self) -> None:
        if self._market_task is not None:
            task, self._market_task = self._market_task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- the call guard ----------------------------------------------------------------------

    def _authorized(self, context: grpc.aio.ServicerContext[Any, Any]) -> bool:
        ok = False
        for key, value in context.invocation_metadata() or ():
            text = value.decode() if isinstance(value, bytes) else str(value)
            if key == "authorization":
                ok = text == f"Bearer {self.token}"
            elif key == "x-app-name":
                self.app_names.add(text)
        return ok

    async def abort(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        status: grpc.StatusCode,
        code: str,
        message: str,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        tracking_id = uuid.uuid4().hex
        self.errors.append((code, message, tracking_id))
        trailing = (("message", message), ("x-tracking-id", tracking_id), *extra)
        await context.abort(status, code, trailing_metadata=trailing)

    async def guard(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        method: str,
        *,
        unary: bool = True,
        order_key: str | None = None,
    ) -> None:
        """Faults, auth and rate-limit headers, as the real service does before a call.

        An UNAVAILABLE fault models a connection that never reached the service: the call is not
        recorded. Every other PostOrder records its key in ``post_order_keys``.
        """
        f = self.faults
        if f.applies(method) and f.take("unavailable_calls"):
            await context.abort(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses")
        self.calls.append(method)
        if f.stop_orders_unavailable and method in _STOP_ORDER_RPCS:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        if order_key is not None:
            self.post_order_keys.append(order_key)
        if f.unauthenticated or not self._authorized(context):
            await self.abort(
                context,
                grpc.StatusCode.UNAUTHENTICATED,
                "40003",
                "Authentication token is missing or invalid",
            )
        if unary and f.applies(method) and f.take("rate_limit_calls"):
            reset = str(max(0, round(f.rate_limit_reset, 3)))
            await self.abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "80002",
                "Request limit exceeded",
                (("x-ratelimit-reset", reset), ("x-ratelimit-remaining", "0")),
            )
        if unary and f.applies(method) and f.take("slow_calls"):
            await asyncio.sleep(f.slow_seconds)  # the client's deadline may pass meanwhile
        if unary:
            headers, over = self._limit_headers(method)
            if over:  # the method's (or its service's) limit for this minute is used up
                await self.abort(
                    context,
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    "80002",
                    "Request limit exceeded",
                    headers[1:3],
                )
            await context.send_initial_metadata(headers)

    def _limit_headers(self, method: str) -> tuple[tuple[tuple[str, str], ...], bool]:
        """The x-ratelimit-* headers of a call and whether it is over the limit. A method with a
        limit of its own (PostOrder 300, CancelOrder 100, GetOrders 200 a minute) counts in its
        own window; the others share their service's (Orders 100, MarketData 600, ...)."""
        service = _service_of(method)
        own = (service, method) in METHOD_LIMITS
        limit = METHOD_LIMITS.get((service, method), SERVICE_LIMITS.get(service, 100))
        limit = max(1, int(limit * self.limit_scale))
        bucket = f"{service}/{method}" if own else service
        now = time.monotonic()
        start, count = self._windows.get(bucket, (now, 0))
        if now - start >= 60:
            start, count = now, 0
        count += 1
        self._windows[bucket] = (start, count)
        headers = (
            ("x-ratelimit-limit", f"{limit}, {limit};w=60"),
            ("x-ratelimit-remaining", str(max(0, limit - count))),
            ("x-ratelimit-reset", str(max(0, int(60 - (now - start))))),
            ("x-tracking-id", uuid.uuid4().hex),
        )
        return headers, count > limit

    async def fail(self, context: grpc.aio.ServicerContext[Any, Any], error: ExchangeError) -> None:
        await self.abort(context, _status_for(error.code), error.code, error.message)

    @staticmethod
    def ping_delay_problem(delay_ms: int) -> str:
        """Why a requested ping interval is refused ("" when it is in range)."""
        low, high = PING_DELAY_MS
        if low <= delay_ms <= high:
            return ""
        return f"ping_delay_ms must be between {low} and {high}, got {delay_ms}"

    def ping_seconds(self, delay_ms: int) -> float:
        """Seconds between pings for a requested interval (in ms), on this server's clock."""
        return max(0.01, delay_ms / 1000 * self.ping_scale)

    def instrument(self, *ids: str) -> Instrument:
        for ident in ids:
            if ident:
                return self.exchange.instrument(ident)
        raise ExchangeError("50002", "instrument id is required")

    def now(self) -> datetime:
        return self.exchange.market.now


class _Base:
    def __init__(self, server: FakeTInvestServer) -> None:
        self.s = server


Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]


def _accounts_response(server: FakeTInvestServer) -> pb.GetAccountsResponse:
    return pb.GetAccountsResponse(
        accounts=[
            pb.Account(
                id=a.id,
                type=pb.ACCOUNT_TYPE_TINKOFF,
                name=a.name,
                status=pb.ACCOUNT_STATUS_OPEN,
                opened_date=ts_pb(datetime(2024, 1, 1, tzinfo=UTC)),
                access_level=pb.ACCOUNT_ACCESS_LEVEL_FULL_ACCESS,
            )
            for a in server.exchange.accounts.values()
        ]
    )


class _Users(_Base, pb_grpc.UsersServiceServicer):
    async def GetAccounts(self, request: pb.GetAccountsRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetAccounts")
        return _accounts_response(self.s)

    async def GetInfo(self, request: pb.GetInfoRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetInfo")
        return pb.GetInfoResponse(tariff="fake", user_id="fake-user", qual_status=False)


class _Instruments(_Base, pb_grpc.InstrumentsServiceServicer):
    async def Shares(self, request: pb.InstrumentsRequest, context: Ctx) -> Any:
        await self.s.guard(context, "Shares")
        return pb.SharesResponse(instruments=[msg.share(i) for i in self.s.exchange.instruments])

    async def _by(self, request: pb.InstrumentRequest, context: Ctx) -> Instrument | None:
        try:
            inst = self.s.exchange.instrument(request.id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            return None
        if request.id_type == pb.INSTRUMENT_ID_TYPE_TICKER and request.class_code not in (
            "",
            inst.class_code,
        ):
            await self.s.fail(context, ExchangeError("50002", "instrument not found"))
        return inst

    async def ShareBy(self, request: pb.InstrumentRequest, context: Ctx) -> Any:
        await self.s.guard(context, "ShareBy")
        inst = await self._by(request, context)
        assert inst is not None
        return pb.ShareResponse(instrument=msg.share(inst))

    async def GetInstrumentBy(self, request: pb.InstrumentRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetInstrumentBy")
        inst = await self._by(request, context)
        assert inst is not None
        return pb.InstrumentResponse(instrument=msg.instrument(inst))

    async def FindInstrument(self, request: pb.FindInstrumentRequest, context: Ctx) -> Any:
        await self.s.guard(context, "FindInstrument")
        query = request.query.strip().lower()
        found = [
            msg.short(i)
            for i in self.s.exchange.instruments
            if query
            and (
                query in i.ticker.lower()
                or query in i.name.lower()
                or query in (i.uid.lower(), i.figi.lower())
            )
        ]
        return pb.FindInstrumentResponse(instruments=found)


class _MarketData(_Base, pb_grpc.MarketDataServiceServicer):
    async def GetCandles(self, request: pb.GetCandlesRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetCandles")
        try:
            inst = self.s.instrument(request.instrument_id, request.figi)
            tf = INTERVAL_TIMEFRAME.get(request.interval)
            if tf is None:
                raise ExchangeError("30013", "interval is not supported")
            begin = from_timestamp(getattr(request, "from"))
            end = from_timestamp(request.to)
            if end <= begin:
                raise ExchangeError("30015", "'to' must be after 'from'")
            if end - begin > CANDLE_WINDOW[tf]:
                raise ExchangeError("30014", "The maximum request period for the interval")
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        bars = self.s.exchange.candles(inst, tf, begin, end)
        if request.HasField("limit") and request.limit > 0:
            bars = bars[: request.limit]
        return pb.GetCandlesResponse(candles=[msg.historic(b, inst, ok) for b, ok in bars])

    async def GetLastPrices(self, request: pb.GetLastPricesRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetLastPrices")
        out = []
        for ident in [*request.instrument_id, *request.figi]:
            try:
                inst = self.s.exchange.instrument(ident)
            except ExchangeError:
                continue
            out.append(
                pb.LastPrice(
                    figi=inst.figi,
                    price=msg.quotation(self.s.exchange.last_price(inst)),
                    time=ts_pb(self.s.now()),
                    ticker=inst.ticker,
                    class_code=inst.class_code,
                    instrument_uid=inst.uid,
                    last_price_type=pb.LAST_PRICE_EXCHANGE,
                )
            )
        return pb.GetLastPricesResponse(last_prices=out)

    async def GetTradingStatus(self, request: pb.GetTradingStatusRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetTradingStatus")
        try:
            inst = self.s.instrument(request.instrument_id, request.figi)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        return self._status(inst)

    def _status(self, inst: Instrument) -> pb.GetTradingStatusResponse:
        trading = self.s.exchange.is_trading(inst)
        return pb.GetTradingStatusResponse(
            figi=inst.figi,
            trading_status=trading_status_code(trading),
            limit_order_available_flag=trading,
            market_order_available_flag=trading,
            api_trade_available_flag=True,
            instrument_uid=inst.uid,
            ticker=inst.ticker,
            class_code=inst.class_code,
        )

    async def GetTradingStatuses(self, request: pb.GetTradingStatusesRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetTradingStatuses")
        try:
            found = [self.s.exchange.instrument(ident) for ident in request.instrument_id]
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        return pb.GetTradingStatusesResponse(trading_statuses=[self._status(i) for i in found])

    async def GetOrderBook(self, request: pb.GetOrderBookRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetOrderBook")
        try:
            inst = self.s.instrument(request.instrument_id, request.figi)
            md.check_depth(request.depth)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        book = self.s.market_data.book(inst, request.depth)
        return md.order_book_response(self.s.market_data, book, inst)

    async def GetLastTrades(self, request: pb.GetLastTradesRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetLastTrades")
        try:
            inst = self.s.instrument(request.instrument_id, request.figi)
            begin, end = md.check_window(request)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        trades = self.s.market_data.last_trades(inst, begin, end)
        return pb.GetLastTradesResponse(trades=[md.trade(t, inst) for t in trades])


class _Orders(_Base, pb_grpc.OrdersServiceServicer):
    async def PostOrder(self, request: pb.PostOrderRequest, context: Ctx) -> Any:
        await self.s.guard(context, "PostOrder", order_key=request.order_id)
        faults = self.s.faults
        if faults.reject_next:
            code = faults.reject_next.pop(0)
            await self.s.abort(
                context, _status_for(code), code, REJECT_TEXT.get(code, "Order rejected")
            )
        kind = OrderType.LIMIT if request.order_type == pb.ORDER_TYPE_LIMIT else OrderType.MARKET
        price = from_quotation(request.price) if kind is OrderType.LIMIT else None
        self.s.exchange.fill_delay_ticks = faults.fill_delay_ticks
        self.s.exchange.max_fill_lots = faults.max_fill_lots
        try:
            record, created = self.s.exchange.post_order(
                account_id=request.account_id,
                key=request.order_id,
                instrument_id=request.instrument_id or request.figi,
                side=SIDE.get(request.direction, Side.BUY),
                kind=kind,
                lots=int(request.quantity),
                price=price,
            )
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        if created and faults.slow_after_place > 0:
            await asyncio.sleep(faults.slow_after_place)  # placed; the answer comes too late
        if created and faults.take("internal_after_place"):
            await self.s.abort(context, grpc.StatusCode.INTERNAL, "70002", "Internal network error")
        estimate = self.s.exchange.estimated_commission(record)
        return msg.post_response(record, uuid.uuid4().hex, self.s.now(), estimate)

    async def CancelOrder(self, request: pb.CancelOrderRequest, context: Ctx) -> Any:
        await self.s.guard(context, "CancelOrder")
        by_key = request.order_id_type == pb.ORDER_ID_TYPE_REQUEST
        try:
            self.s.exchange.cancel(request.account_id, request.order_id, by_key=by_key)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        return pb.CancelOrderResponse(time=ts_pb(self.s.now()))

    async def GetOrderState(self, request: pb.GetOrderStateRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetOrderState")
        by_key = request.order_id_type == pb.ORDER_ID_TYPE_REQUEST
        try:
            record = self.s.exchange.find(request.account_id, request.order_id, by_key=by_key)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        return msg.order_state(record, self.s.exchange.estimated_commission(record))

    async def GetOrders(self, request: pb.GetOrdersRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetOrders")
        try:
            orders = self.s.exchange.active_orders(request.account_id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        estimate = self.s.exchange.estimated_commission
        return pb.GetOrdersResponse(orders=[msg.order_state(o, estimate(o)) for o in orders])


class _Operations(_Base, pb_grpc.OperationsServiceServicer):
    async def GetPositions(self, request: pb.PositionsRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetPositions")
        try:
            acc = self.s.exchange.account(request.account_id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        securities = []
        for uid, pieces in acc.positions.items():
            if pieces == 0:
                continue
            inst = self.s.exchange.instrument(uid)
            securities.append(
                pb.PositionsSecurities(
                    figi=inst.figi,
                    balance=pieces,
                    instrument_uid=uid,
                    ticker=inst.ticker,
                    class_code=inst.class_code,
                    instrument_type="share",
                )
            )
        return pb.PositionsResponse(
            money=[money(acc.cash)], securities=securities, account_id=acc.id
        )

    async def GetPortfolio(self, request: pb.PortfolioRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetPortfolio")
        try:
            acc = self.s.exchange.account(request.account_id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        positions = []
        shares_total = Decimal(0)
        for uid, pieces in acc.positions.items():
            if pieces == 0:
                continue
            inst = self.s.exchange.instrument(uid)
            last = self.s.exchange.last_price(inst)
            shares_total += last * pieces
            positions.append(
                pb.PortfolioPosition(
                    figi=inst.figi,
                    instrument_type="share",
                    quantity=msg.quotation(pieces),
                    average_position_price=money(acc.avg_price.get(uid, Decimal(0))),
                    current_price=money(last),
                    quantity_lots=msg.quotation(Decimal(pieces) / inst.lot),
                    instrument_uid=uid,
                    ticker=inst.ticker,
                    class_code=inst.class_code,
                )
            )
        positions.append(
            pb.PortfolioPosition(
                figi="RUB000UTSTOM",
                instrument_type="currency",
                quantity=msg.quotation(acc.cash),
                current_price=money(1),
            )
        )
        return pb.PortfolioResponse(
            total_amount_shares=money(shares_total),
            total_amount_currencies=money(acc.cash),
            total_amount_portfolio=money(shares_total + acc.cash),
            positions=positions,
            account_id=acc.id,
        )


class _StopOrders(_Base, pb_grpc.StopOrdersServiceServicer):
    async def PostStopOrder(self, request: pb.PostStopOrderRequest, context: Ctx) -> Any:
        await self.s.guard(context, "PostStopOrder")
        if self.s.faults.reject_stop_next:
            code = self.s.faults.reject_stop_next.pop(0)
            await self.s.abort(
                context, _status_for(code), code, REJECT_TEXT.get(code, "Order rejected")
            )
        kind = STOP_KIND.get(request.stop_order_type, OrderType.STOP)
        side = Side.BUY if request.direction == pb.STOP_ORDER_DIRECTION_BUY else Side.SELL
        price = from_quotation(request.price) if kind is OrderType.STOP_LIMIT else None
        self.s.exchange.fill_delay_ticks = self.s.faults.fill_delay_ticks
        self.s.exchange.max_fill_lots = self.s.faults.max_fill_lots
        try:
            record, created = self.s.exchange.post_order(
                account_id=request.account_id,
                key=request.order_id or str(uuid.uuid4()),
                instrument_id=request.instrument_id or request.figi,
                side=side,
                kind=kind,
                lots=int(request.quantity),
                price=price,
                stop_price=from_quotation(request.stop_price),
                stop=True,
            )
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        if request.expiration_type == pb.STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_DATE:
            record.expire = from_timestamp(request.expire_date)
        if created and self.s.faults.take("internal_after_place"):
            await self.s.abort(context, grpc.StatusCode.INTERNAL, "70002", "Internal network error")
        return pb.PostStopOrderResponse(
            stop_order_id=record.exchange_id,
            order_request_id=record.key,
            response_metadata=pb.ResponseMetadata(
                tracking_id=uuid.uuid4().hex, server_time=ts_pb(self.s.now())
            ),
        )

    async def GetStopOrders(self, request: pb.GetStopOrdersRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetStopOrders")
        try:
            self.s.exchange.account(request.account_id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        records = [
            o for o in self.s.exchange.orders.values() if o.stop and o.account == request.account_id
        ]
        if request.status in (pb.STOP_ORDER_STATUS_UNSPECIFIED, pb.STOP_ORDER_STATUS_ACTIVE):
            records = [o for o in records if o.order.is_open]
        elif request.status != pb.STOP_ORDER_STATUS_ALL:
            wanted = _STOP_STATUS_OPTION.get(request.status)
            records = [o for o in records if o.order.status is wanted]
        return pb.GetStopOrdersResponse(stop_orders=[msg.stop_order(o) for o in records])

    async def CancelStopOrder(self, request: pb.CancelStopOrderRequest, context: Ctx) -> Any:
        await self.s.guard(context, "CancelStopOrder")
        try:
            self.s.exchange.cancel(request.account_id, request.stop_order_id, stop=True)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        return pb.CancelStopOrderResponse(time=ts_pb(self.s.now()))


class _Sandbox(_Base, pb_grpc.SandboxServiceServicer):
    async def OpenSandboxAccount(self, request: pb.OpenSandboxAccountRequest, context: Ctx) -> Any:
        await self.s.guard(context, "OpenSandboxAccount")
        name = request.name if request.HasField("name") else ""
        return pb.OpenSandboxAccountResponse(account_id=self.s.exchange.open_account(name=name))

    async def GetSandboxAccounts(self, request: pb.GetAccountsRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetSandboxAccounts")
        return _accounts_response(self.s)

    async def CloseSandboxAccount(
        self, request: pb.CloseSandboxAccountRequest, context: Ctx
    ) -> Any:
        await self.s.guard(context, "CloseSandboxAccount")
        try:
            self.s.exchange.close_account(request.account_id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        return pb.CloseSandboxAccountResponse()

    async def SandboxPayIn(self, request: pb.SandboxPayInRequest, context: Ctx) -> Any:
        await self.s.guard(context, "SandboxPayIn")
        try:
            acc = self.s.exchange.account(request.account_id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        acc.cash += from_money(request.amount)
        return pb.SandboxPayInResponse(balance=money(acc.cash))


__all__ = ["DEFAULT_TOKEN", "FakeTInvestServer", "Faults"]
