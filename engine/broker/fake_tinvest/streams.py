"""The fake server's streams: MarketDataStream (bidirectional) and the order streams.

Each open MarketDataStream is a :class:`_MarketSession` listening to the exchange's ticks; its
subscriptions, ping interval and outgoing queue are its own. Faults: a stream can be dropped after
N data messages (UNAVAILABLE "GOAWAY received") or stall (nothing, not even pings, after the
subscription answers); an order stream can fail right away (UNAVAILABLE "RST_STREAM").
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
import grpc.aio

from engine.broker.fake_tinvest import market_data as md
from engine.broker.fake_tinvest import messages as msg
from engine.broker.fake_tinvest.host import Ctx, ServiceHost
from engine.broker.fake_tinvest.messages import timestamp as ts_pb
from engine.broker.fake_tinvest.records import ExchangeError, ServerOrder, Trade
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.proto import investapi_pb2_grpc as pb_grpc
from engine.model import BOOK_DEPTHS, Instrument

# SubscriptionAction: SUBSCRIBE=1, UNSUBSCRIBE=2
SUBSCRIBE, UNSUBSCRIBE = 1, 2
# SubscriptionStatus: SUCCESS=1, INSTRUMENT_NOT_FOUND=2, SUBSCRIPTION_ACTION_IS_INVALID=3,
# DEPTH_IS_INVALID=4
SUCCESS, INSTRUMENT_NOT_FOUND, ACTION_IS_INVALID, DEPTH_IS_INVALID = 1, 2, 3, 4


def trading_status_code(trading: bool) -> Any:
    if trading:
        return pb.SECURITY_TRADING_STATUS_NORMAL_TRADING
    return pb.SECURITY_TRADING_STATUS_NOT_AVAILABLE_FOR_TRADING


def trading_status(inst: Instrument, trading: bool, now: datetime) -> pb.TradingStatus:
    return pb.TradingStatus(
        figi=inst.figi,
        trading_status=trading_status_code(trading),
        time=ts_pb(now),
        limit_order_available_flag=trading,
        market_order_available_flag=trading,
        instrument_uid=inst.uid,
        ticker=inst.ticker,
        class_code=inst.class_code,
    )


class _MarketSession:
    """One open MarketDataStream: its subscriptions and outgoing queue."""

    def __init__(self, server: ServiceHost) -> None:
        self.s = server
        self.queue: asyncio.Queue[pb.MarketDataResponse] = asyncio.Queue()
        self.candles: dict[str, bool] = {}  # code -> waiting_close
        self.prices: set[str] = set()
        self.info: set[str] = set()
        self.books: dict[str, set[int]] = {}  # code -> depths (each depth its own subscription)
        self.trades: set[str] = set()
        self.ping_interval = 120.0 * server.ping_scale
        self.stream_id = uuid.uuid4().hex
        self.problem = ""  # a request the stream refuses (ping_delay_ms out of range)

    def on_ticks(self, ticks: list[Any]) -> None:
        self._market_data(ticks)
        for tick in ticks:
            inst = tick.instrument
            code = inst.code
            if code in self.candles and (tick.closed or not self.candles[code]):
                self.queue.put_nowait(
                    pb.MarketDataResponse(candle=msg.candle(tick.bar, inst, tick.ts))
                )
            if code in self.prices and not tick.closed:
                self.queue.put_nowait(
                    pb.MarketDataResponse(
                        last_price=pb.LastPrice(
                            figi=inst.figi,
                            price=msg.quotation(tick.price),
                            time=ts_pb(tick.ts),
                            ticker=inst.ticker,
                            class_code=inst.class_code,
                            instrument_uid=inst.uid,
                            last_price_type=pb.LAST_PRICE_EXCHANGE,
                        )
                    )
                )

    def on_status(self, inst: Instrument, trading: bool) -> None:
        """Trading of ``inst`` was switched on or off: tell an info subscriber."""
        if inst.code in self.info:
            self.queue.put_nowait(
                pb.MarketDataResponse(trading_status=trading_status(inst, trading, self.s.now()))
            )

    def _find(self, ident: str) -> Instrument | None:
        try:
            return self.s.exchange.instrument(ident)
        except ExchangeError:
            return None

    def _identity(self, inst: Instrument | None, figi: str, action: Any) -> dict[str, Any]:
        """What every subscription answer says of its instrument and stream: the instrument's
        ids (for one not found, only the figi asked for) and a new subscription id."""
        return {
            "figi": inst.figi if inst else figi,
            "instrument_uid": inst.uid if inst else "",
            "ticker": inst.ticker if inst else "",
            "class_code": inst.class_code if inst else "",
            "stream_id": self.stream_id,
            "subscription_id": uuid.uuid4().hex,
            "subscription_action": action,
        }

    def handle(self, request: pb.MarketDataRequest) -> None:
        kind = request.WhichOneof("payload")
        if kind == "subscribe_candles_request":
            self._subscribe_candles(request.subscribe_candles_request)
        elif kind == "subscribe_last_price_request":
            self._subscribe_prices(request.subscribe_last_price_request)
        elif kind == "subscribe_info_request":
            self._subscribe_info(request.subscribe_info_request)
        elif kind == "subscribe_order_book_request":
            self._subscribe_books(request.subscribe_order_book_request)
        elif kind == "subscribe_trades_request":
            self._subscribe_trades(request.subscribe_trades_request)
        elif kind == "ping_settings":
            delay = request.ping_settings.ping_delay_ms
            if delay > 0:
                self.ping_interval = self.s.ping_seconds(delay)
        elif kind == "ping":
            self.queue.put_nowait(self.ping())

    def _subscribe_candles(self, req: pb.SubscribeCandlesRequest) -> None:
        subs = []
        for item in req.instruments:
            inst = self._find(item.instrument_id or item.figi)
            status = pb.SUBSCRIPTION_STATUS_SUCCESS
            if inst is None:
                status = pb.SUBSCRIPTION_STATUS_INSTRUMENT_NOT_FOUND
            elif item.interval != pb.SUBSCRIPTION_INTERVAL_ONE_MINUTE:
                status = pb.SUBSCRIPTION_STATUS_INTERVAL_IS_INVALID
            elif req.subscription_action == pb.SUBSCRIPTION_ACTION_SUBSCRIBE:
                self.candles[inst.code] = req.waiting_close
            else:
                self.candles.pop(inst.code, None)
            subs.append(
                pb.CandleSubscription(
                    interval=item.interval,
                    subscription_status=status,
                    waiting_close=req.waiting_close,
                    **self._identity(inst, item.figi, req.subscription_action),
                )
            )
        self.queue.put_nowait(
            pb.MarketDataResponse(
                subscribe_candles_response=pb.SubscribeCandlesResponse(
                    tracking_id=uuid.uuid4().hex, candles_subscriptions=subs
                )
            )
        )

    def _subscribe_prices(self, req: pb.SubscribeLastPriceRequest) -> None:
        subs = []
        for item in req.instruments:
            inst = self._find(item.instrument_id or item.figi)
            status = pb.SUBSCRIPTION_STATUS_SUCCESS
            if inst is None:
                status = pb.SUBSCRIPTION_STATUS_INSTRUMENT_NOT_FOUND
            elif req.subscription_action == pb.SUBSCRIPTION_ACTION_SUBSCRIBE:
                self.prices.add(inst.code)
            else:
                self.prices.discard(inst.code)
            subs.append(
                pb.LastPriceSubscription(
                    subscription_status=status,
                    **self._identity(inst, item.figi, req.subscription_action),
                )
            )
        self.queue.put_nowait(
            pb.MarketDataResponse(
                subscribe_last_price_response=pb.SubscribeLastPriceResponse(
                    tracking_id=uuid.uuid4().hex, last_price_subscriptions=subs
                )
            )
        )

    def _subscribe_info(self, req: pb.SubscribeInfoRequest) -> None:
        subs = []
        statuses = []
        for item in req.instruments:
            inst = self._find(item.instrument_id or item.figi)
            status = pb.SUBSCRIPTION_STATUS_SUCCESS
            if inst is None:
                status = pb.SUBSCRIPTION_STATUS_INSTRUMENT_NOT_FOUND
            elif req.subscription_action == pb.SUBSCRIPTION_ACTION_SUBSCRIBE:
                self.info.add(inst.code)
                trading = self.s.exchange.is_trading(inst)
                statuses.append(trading_status(inst, trading, self.s.now()))
            else:
                self.info.discard(inst.code)
            subs.append(
                pb.InfoSubscription(
                    subscription_status=status,
                    **self._identity(inst, item.figi, req.subscription_action),
                )
            )
        self.queue.put_nowait(
            pb.MarketDataResponse(
                subscribe_info_response=pb.SubscribeInfoResponse(
                    tracking_id=uuid.uuid4().hex, info_subscriptions=subs
                )
            )
        )
        for status_msg in statuses:
            self.queue.put_nowait(pb.MarketDataResponse(trading_status=status_msg))

    # --- order books and trades (engine/broker/fake_tinvest/market_data.py) -------------------

    def _market_data(self, ticks: list[Any]) -> None:
        """The batch's trades, then the books they moved (a book after the trade that made it)."""
        feed = self.s.market_data
        if self.trades:
            for t in feed.batch:
                if t.instrument in self.trades:
                    inst = self.s.exchange.instrument(t.instrument)
                    self.queue.put_nowait(pb.MarketDataResponse(trade=md.trade(t, inst)))
        if self.books:
            for tick in ticks:
                inst = tick.instrument
                if tick.closed:
                    continue
                for depth in sorted(self.books.get(inst.code, ())):
                    book = feed.book(inst, depth)
                    self.queue.put_nowait(
                        pb.MarketDataResponse(orderbook=md.order_book(book, inst))
                    )

    def _subscribe_books(self, req: pb.SubscribeOrderBookRequest) -> None:
        subscribe = req.subscription_action == SUBSCRIBE
        subs = []
        snapshots = []
        for item in req.instruments:
            inst = self._find(item.instrument_id or item.figi)
            status = SUCCESS
            if inst is None:
                status = INSTRUMENT_NOT_FOUND
            elif req.subscription_action not in (SUBSCRIBE, UNSUBSCRIBE):
                status = ACTION_IS_INVALID
            elif item.depth not in BOOK_DEPTHS:
                status = DEPTH_IS_INVALID
            elif subscribe:
                self.books.setdefault(inst.code, set()).add(item.depth)
                book = self.s.market_data.book(inst, item.depth)
                if book.bids or book.asks:
                    snapshots.append(md.order_book(book, inst))
            else:
                depths = self.books.get(inst.code, set())
                depths.discard(item.depth)
                if not depths:
                    self.books.pop(inst.code, None)
            subs.append(
                pb.OrderBookSubscription(
                    depth=item.depth,
                    subscription_status=status,  # type: ignore[arg-type]
                    order_book_type=md.ORDERBOOK_TYPE_EXCHANGE,  # type: ignore[arg-type]
                    **self._identity(inst, item.figi, req.subscription_action),
                )
            )
        self.queue.put_nowait(
            pb.MarketDataResponse(
                subscribe_order_book_response=pb.SubscribeOrderBookResponse(
                    tracking_id=uuid.uuid4().hex, order_book_subscriptions=subs
                )
            )
        )
        for snapshot in snapshots:
            self.queue.put_nowait(pb.MarketDataResponse(orderbook=snapshot))

    def _subscribe_trades(self, req: pb.SubscribeTradesRequest) -> None:
        subscribe = req.subscription_action == SUBSCRIBE
        subs = []
        for item in req.instruments:
            inst = self._find(item.instrument_id or item.figi)
            status = SUCCESS
            if inst is None:
                status = INSTRUMENT_NOT_FOUND
            elif req.subscription_action not in (SUBSCRIBE, UNSUBSCRIBE):
                status = ACTION_IS_INVALID
            elif subscribe:
                self.trades.add(inst.code)
            else:
                self.trades.discard(inst.code)
            subs.append(
                pb.TradeSubscription(
                    subscription_status=status,  # type: ignore[arg-type]
                    with_open_interest=req.with_open_interest,
                    **self._identity(inst, item.figi, req.subscription_action),
                )
            )
        self.queue.put_nowait(
            pb.MarketDataResponse(
                subscribe_trades_response=pb.SubscribeTradesResponse(
                    tracking_id=uuid.uuid4().hex,
                    trade_subscriptions=subs,
                    trade_source=req.trade_source or md.TRADE_SOURCE_ALL,  # type: ignore[arg-type]
                )
            )
        )

    def ping(self) -> pb.MarketDataResponse:
        return pb.MarketDataResponse(
            ping=pb.Ping(time=ts_pb(datetime.now(UTC)), stream_id=self.stream_id)
        )


_DATA = frozenset({"candle", "last_price", "trading_status", "trade", "orderbook"})
_SUBSCRIPTION_ANSWERS = frozenset(
    {
        "subscribe_candles_response",
        "subscribe_last_price_response",
        "subscribe_info_response",
        "subscribe_order_book_response",
        "subscribe_trades_response",
    }
)


async def _pinger(queue: asyncio.Queue[Any], make: Any, interval: Any) -> None:
    """Put a ping every ``interval()`` seconds (re-read often: ping settings can change it)."""
    loop = asyncio.get_running_loop()
    last = loop.time()
    while True:
        await asyncio.sleep(min(0.05, interval()))
        if loop.time() - last >= interval():
            last = loop.time()
            queue.put_nowait(make())


class MarketDataStreamServicer(pb_grpc.MarketDataStreamServiceServicer):
    def __init__(self, server: ServiceHost) -> None:
        self.s = server

    async def MarketDataStream(
        self, request_iterator: AsyncIterator[pb.MarketDataRequest], context: Ctx
    ) -> AsyncIterator[pb.MarketDataResponse]:
        await self.s.guard(context, "MarketDataStream", unary=False)
        faults = self.s.faults
        stall = faults.take("stall_streams")
        drop = faults.take("drop_streams")
        drop_after = faults.drop_after
        epoch = self.s.stream_epoch
        session = _MarketSession(self.s)
        self.s.market_sessions.append(session)
        self.s.exchange.add_tick_listener(session.on_ticks)
        self.s.exchange.add_status_listener(session.on_status)

        async def read() -> None:
            async for request in request_iterator:
                if request.WhichOneof("payload") == "ping_settings":
                    problem = self.s.ping_delay_problem(request.ping_settings.ping_delay_ms)
                    if problem:
                        session.problem = problem
                        session.queue.put_nowait(_INVALID)
                        return
                session.handle(request)

        reader = asyncio.create_task(read())
        pinger = asyncio.create_task(
            _pinger(session.queue, session.ping, lambda: session.ping_interval)
        )
        sent = 0
        try:
            while True:
                response = await session.queue.get()
                if response is _INVALID:  # ping_delay_ms outside 5000..180000
                    await self.s.abort(
                        context, grpc.StatusCode.INVALID_ARGUMENT, "30001", session.problem
                    )
                kind = response.WhichOneof("payload")
                if stall and kind not in _SUBSCRIPTION_ANSWERS:
                    continue
                dropped = (drop and sent >= drop_after) or epoch != self.s.stream_epoch
                if dropped and kind in _DATA:
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "GOAWAY received")
                yield response
                if kind in _DATA:
                    sent += 1
        finally:
            self.s.market_sessions.remove(session)
            self.s.exchange.remove_tick_listener(session.on_ticks)
            self.s.exchange.remove_status_listener(session.on_status)
            reader.cancel()
            pinger.cancel()


_INVALID = pb.MarketDataResponse()  # put in a session's queue: the stream ends INVALID_ARGUMENT


class OrdersStreamServicer(pb_grpc.OrdersStreamServiceServicer):
    def __init__(self, server: ServiceHost) -> None:
        self.s = server

    async def _stream(
        self, context: Ctx, method: str, accounts: list[str], ping_ms: int, kind: str
    ) -> AsyncIterator[Any]:
        await self.s.guard(context, method, unary=False)
        problem = self.s.ping_delay_problem(ping_ms) if ping_ms else ""
        if problem:
            await self.s.abort(context, grpc.StatusCode.INVALID_ARGUMENT, "30001", problem)
        if self.s.faults.take("drop_order_streams"):
            await context.abort(grpc.StatusCode.UNAVAILABLE, "RST_STREAM")
        wanted = set(accounts)
        epoch = self.s.order_stream_epoch
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stream_id = uuid.uuid4().hex
        resp_cls = pb.OrderStateStreamResponse if kind == "state" else pb.TradesStreamResponse

        def listener(record: ServerOrder, trades: list[Trade]) -> None:
            if wanted and record.account not in wanted:
                return
            if record.stop:
                return
            if kind == "state":
                queue.put_nowait(
                    pb.OrderStateStreamResponse(order_state=msg.stream_state(record, trades))
                )
            elif trades:
                queue.put_nowait(
                    pb.TradesStreamResponse(order_trades=msg.order_trades(record, trades))
                )

        def ping() -> Any:
            return resp_cls(ping=pb.Ping(time=ts_pb(datetime.now(UTC)), stream_id=stream_id))

        interval = self.s.ping_seconds(ping_ms if ping_ms > 0 else 120_000)
        self.s.exchange.add_order_listener(listener)
        pinger = asyncio.create_task(_pinger(queue, ping, lambda: interval))
        try:
            yield resp_cls(
                subscription=pb.SubscriptionResponse(
                    tracking_id=uuid.uuid4().hex,
                    status=pb.RESULT_SUBSCRIPTION_STATUS_OK,
                    stream_id=stream_id,
                    accounts=sorted(wanted),
                )
            )
            while True:
                item = await queue.get()
                if epoch != self.s.order_stream_epoch:
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "RST_STREAM")
                yield item
        finally:
            self.s.exchange.remove_order_listener(listener)
            pinger.cancel()

    async def OrderStateStream(
        self, request: pb.OrderStateStreamRequest, context: Ctx
    ) -> AsyncIterator[pb.OrderStateStreamResponse]:
        ping = request.ping_delay_millis if request.HasField("ping_delay_millis") else 0
        async for item in self._stream(
            context, "OrderStateStream", list(request.accounts), ping, "state"
        ):
            yield item

    async def TradesStream(
        self, request: pb.TradesStreamRequest, context: Ctx
    ) -> AsyncIterator[pb.TradesStreamResponse]:
        ping = request.ping_delay_ms if request.HasField("ping_delay_ms") else 0
        async for item in self._stream(
            context, "TradesStream", list(request.accounts), ping, "trades"
        ):
            yield item
