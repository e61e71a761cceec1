"""The T-Invest market-data stream: candles, last prices, statuses, books and the tape.

See :mod:`engine.broker.tinvest.streams` for the reconnect, resubscribe and backfill rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
import grpc.aio

from engine.broker.base import (
    BarEvent,
    BookEvent,
    ConnectionEvent,
    PriceEvent,
    ServerTime,
    TradeEvent,
)
from engine.broker.tinvest.channel import Transport, backoff_delay
from engine.broker.tinvest.convert import (
    SUBSCRIPTION_INTERVAL,
    SUBSCRIPTION_TIMEFRAME,
    candle_to_bar,
)
from engine.broker.tinvest.errors import AuthenticationError, TInvestError, from_rpc_error
from engine.broker.tinvest.market_depth import (
    LAST_TRADES_REACH,
    book_from_stream,
    last_trades,
    trade_from_pb,
)
from engine.broker.tinvest.numbers import from_quotation, from_timestamp
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.streams import (
    Emit,
    StreamPolicy,
    StreamStalled,
    StreamStats,
    action,
    now,
)
from engine.model import Bar, Instrument, MarketTrade, TimeFrame

log = logging.getLogger("avin.tinvest.streams")

Backfill = Callable[[Instrument, TimeFrame, datetime], Awaitable[list[Bar]]]


@dataclass(slots=True)
class _BarState:
    instrument: Instrument
    timeframe: TimeFrame
    current: Bar | None = None  # the in-progress bar last sent as provisional
    last_closed: datetime | None = None


class MarketStream:
    def __init__(
        self,
        transport: Transport,
        emit: Emit,
        backfill: Backfill,
        policy: StreamPolicy | None = None,
    ) -> None:
        self.transport = transport
        self.emit = emit
        self.backfill = backfill
        self.policy = policy or StreamPolicy()
        self.bars: dict[tuple[str, TimeFrame], _BarState] = {}
        self.prices: dict[str, Instrument] = {}
        self.books: dict[str, tuple[Instrument, int]] = {}  # uid -> (instrument, depth)
        self.trades: dict[str, Instrument] = {}  # uid -> instrument
        # uid -> (time of the newest trade seen, the trades seen at that very time)
        self._last_trade: dict[str, tuple[datetime, set[tuple[Any, ...]]]] = {}
        self.trading_status: dict[str, int] = {}
        # uid -> (status, limit orders accepted, market orders accepted), from the stream
        self.trading_flags: dict[str, tuple[int, bool, bool]] = {}
        self.server_time: ServerTime | None = None  # the newest ping's server clock
        self.refused: list[tuple[str, str]] = []  # (kind, uid) subscriptions the server refused
        self.skipped = 0  # messages that could not be read (skipped, each with a warning)
        self.connected = asyncio.Event()
        self.stats = StreamStats()
        self._by_uid: dict[str, Instrument] = {}
        self._call: Any = None
        self._task: asyncio.Task[None] | None = None
        self._fatal: TInvestError | None = None
        self._write_lock = asyncio.Lock()
        self._closing = False

    # --- registry ---------------------------------------------------------------------------

    async def subscribe_bars(self, instrument: Instrument, timeframe: TimeFrame) -> None:
        key = (instrument.uid, timeframe)
        if key in self.bars:
            return
        self.bars[key] = _BarState(instrument, timeframe)
        self._by_uid[instrument.uid] = instrument
        await self._send(self._candles_request([key], subscribe=True))
        self._ensure_running()

    async def subscribe_prices(self, instrument: Instrument) -> None:
        if instrument.uid in self.prices:
            return
        self.prices[instrument.uid] = instrument
        self._by_uid[instrument.uid] = instrument
        await self._send(self._prices_request([instrument.uid], subscribe=True))
        await self._send(self._info_request([instrument.uid], subscribe=True))
        self._ensure_running()

    async def subscribe_order_book(self, instrument: Instrument, depth: int) -> None:
        old = self.books.get(instrument.uid)
        if old is not None and old[1] == depth:
            return
        if old is not None:  # another depth: the service would stream both
            await self._send(self._books_request([(instrument.uid, old[1])], subscribe=False))
        self.books[instrument.uid] = (instrument, depth)
        self._by_uid[instrument.uid] = instrument
        await self._send(self._books_request([(instrument.uid, depth)], subscribe=True))
        self._ensure_running()

    async def unsubscribe_order_book(self, instrument: Instrument) -> None:
        entry = self.books.pop(instrument.uid, None)
        if entry is not None:
            await self._send(self._books_request([(instrument.uid, entry[1])], subscribe=False))
        await self._close_if_empty()

    async def subscribe_trades(self, instrument: Instrument) -> None:
        if instrument.uid in self.trades:
            return
        self.trades[instrument.uid] = instrument
        self._by_uid[instrument.uid] = instrument
        await self._send(self._trades_request([instrument.uid], subscribe=True))
        self._ensure_running()

    def _subscribed(self) -> bool:
        return bool(self.bars or self.prices or self.books or self.trades)

    async def _close_if_empty(self) -> None:
        if not self._subscribed():
            await self.close()  # the server would close an empty stream (80004)

    async def unsubscribe(self, instrument: Instrument) -> None:
        entry = self.books.pop(instrument.uid, None)
        if entry is not None:
            await self._send(self._books_request([(instrument.uid, entry[1])], subscribe=False))
        if self.trades.pop(instrument.uid, None) is not None:
            await self._send(self._trades_request([instrument.uid], subscribe=False))
        keys = [k for k in self.bars if k[0] == instrument.uid]
        for key in keys:
            del self.bars[key]
        if keys:
            await self._send(self._candles_request(keys, subscribe=False))
        if self.prices.pop(instrument.uid, None) is not None:
            await self._send(self._prices_request([instrument.uid], subscribe=False))
            await self._send(self._info_request([instrument.uid], subscribe=False))
        await self._close_if_empty()

    def _books_request(
        self, items: list[tuple[str, int]], *, subscribe: bool
    ) -> pb.MarketDataRequest:
        return pb.MarketDataRequest(
            subscribe_order_book_request=pb.SubscribeOrderBookRequest(
                subscription_action=action(subscribe),
                instruments=[
                    pb.OrderBookInstrument(
                        instrument_id=uid, depth=depth, order_book_type=pb.ORDERBOOK_TYPE_EXCHANGE
                    )
                    for uid, depth in items
                ],
            )
        )

    def _trades_request(self, uids: list[str], *, subscribe: bool) -> pb.MarketDataRequest:
        return pb.MarketDataRequest(
            subscribe_trades_request=pb.SubscribeTradesRequest(
                subscription_action=action(subscribe),
                instruments=[pb.TradeInstrument(instrument_id=uid) for uid in uids],
                trade_source=pb.TRADE_SOURCE_EXCHANGE,
            )
        )

    def _candles_request(
        self, keys: list[tuple[str, TimeFrame]], *, subscribe: bool
    ) -> pb.MarketDataRequest:
        return pb.MarketDataRequest(
            subscribe_candles_request=pb.SubscribeCandlesRequest(
                subscription_action=action(subscribe),
                instruments=[
                    pb.CandleInstrument(instrument_id=uid, interval=SUBSCRIPTION_INTERVAL[tf])
                    for uid, tf in keys
                ],
                waiting_close=False,
            )
        )

    def _prices_request(self, uids: list[str], *, subscribe: bool) -> pb.MarketDataRequest:
        return pb.MarketDataRequest(
            subscribe_last_price_request=pb.SubscribeLastPriceRequest(
                subscription_action=action(subscribe),
                instruments=[pb.LastPriceInstrument(instrument_id=uid) for uid in uids],
            )
        )

    def _info_request(self, uids: list[str], *, subscribe: bool) -> pb.MarketDataRequest:
        return pb.MarketDataRequest(
            subscribe_info_request=pb.SubscribeInfoRequest(
                subscription_action=action(subscribe),
                instruments=[pb.InfoInstrument(instrument_id=uid) for uid in uids],
            )
        )

    async def _send(self, request: pb.MarketDataRequest) -> None:
        call = self._call
        if call is None:
            return  # sent with everything else on (re)connect
        try:
            async with self._write_lock:
                await call.write(request)
        except (grpc.RpcError, asyncio.InvalidStateError, RuntimeError) as exc:
            log.info("market stream write failed (%s); it will resubscribe", type(exc).__name__)

    # --- lifecycle --------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._closing = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name="tinvest-md")

    async def close(self) -> None:
        task, self._task = self._task, None
        self._closing = True
        self._cancel_call()  # first end the read, so that nothing can swallow the cancel
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._cancel_call()

    def _cancel_call(self) -> None:
        if self._call is not None:
            self._call.cancel()
            self._call = None
        self.connected.clear()

    async def _run(self) -> None:
        attempt = 0
        while self._subscribed() and not self._closing:  # empty streams get 80004
            try:
                await self._session()
                reason = "stream ended"
            except asyncio.CancelledError:
                raise
            except AuthenticationError as exc:
                self._fatal = exc
                self.emit(ConnectionEvent(False, now(), exc.describe()))
                log.error("market stream: %s", exc)
                return
            except StreamStalled:
                self.stats.stalls += 1
                reason = "stream stalled (no pings)"
            except TInvestError as exc:
                reason = exc.describe()
            except grpc.RpcError as exc:
                reason = from_rpc_error(exc, method="MarketDataStream").describe()
            if self._closing:
                return
            was_connected = self.connected.is_set()
            self._cancel_call()
            self.stats.drops += 1
            self.stats.last_error = reason
            self.stats.reasons.append(reason)
            if was_connected:
                attempt = 0
                self.emit(ConnectionEvent(False, now(), reason))
            delay = backoff_delay(attempt, self.policy.backoff_base, self.policy.backoff_max)
            attempt += 1
            log.warning("market stream down (%s); reconnecting in %.2fs", reason, delay)
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        call = self.transport.open_stream("MarketDataStreamService", "MarketDataStream")
        ping_ms = self.policy.ping_delay_ms
        async with self._write_lock:
            # Registered under the lock: a concurrent subscribe either is in this registry
            # snapshot or is written after it, on this call.
            self._call = call
            await call.write(
                pb.MarketDataRequest(ping_settings=pb.PingDelaySettings(ping_delay_ms=ping_ms))
            )
            if self.bars:
                await call.write(self._candles_request(list(self.bars), subscribe=True))
            if self.prices:
                await call.write(self._prices_request(list(self.prices), subscribe=True))
                await call.write(self._info_request(list(self.prices), subscribe=True))
            if self.books:
                items = [(uid, depth) for uid, (_, depth) in self.books.items()]
                await call.write(self._books_request(items, subscribe=True))
            if self.trades:
                await call.write(self._trades_request(list(self.trades), subscribe=True))
        # The first answer proves the stream is up (and authorised).
        first = await self._read(call)
        if first is None:
            return
        await self._backfill()
        await self._backfill_trades()
        self.connected.set()
        self.stats.connects += 1
        self.emit(ConnectionEvent(True, now(), "market data stream"))
        self._handle(first)
        while True:
            response = await self._read(call)
            if response is None:
                return
            self._handle(response)

    async def _read(self, call: Any) -> pb.MarketDataResponse | None:
        try:
            response = await asyncio.wait_for(call.read(), timeout=self.policy.stall_after)
        except TimeoutError:
            raise StreamStalled() from None
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, method="MarketDataStream") from None
        if response is grpc.aio.EOF:
            return None
        return response

    # --- data -------------------------------------------------------------------------------

    async def _backfill(self) -> None:
        """Closed bars missed while the stream was down, from GetCandles."""
        for state in list(self.bars.values()):
            if state.current is not None:
                since = state.current.ts
            elif state.last_closed is not None:
                since = state.timeframe.next(state.last_closed)
            else:
                continue
            bars = await self.backfill(state.instrument, state.timeframe, since)
            for bar in sorted(bars, key=lambda b: b.ts):
                if state.last_closed is not None and bar.ts <= state.last_closed:
                    continue
                self._close(state, bar)
                self.stats.backfilled += 1

    def _emit_trade(self, inst: Instrument, trade: MarketTrade) -> None:
        key = (trade.price, trade.lots, trade.side)
        last = self._last_trade.get(inst.uid)
        if last is None or trade.ts > last[0]:
            self._last_trade[inst.uid] = (trade.ts, {key})
        elif trade.ts == last[0]:
            last[1].add(key)
        self.emit(TradeEvent(trade))

    async def _backfill_trades(self) -> None:
        """Trades of the tape missed while the stream was down, from GetLastTrades (which
        reaches back an hour: a longer outage leaves a gap, logged)."""
        for uid, inst in list(self.trades.items()):
            last = self._last_trade.get(uid)
            if last is None:
                continue
            since, seen = last
            end = min(now(), since + LAST_TRADES_REACH)
            try:
                missed = await last_trades(self.transport.call, inst, since, end)
            except (TInvestError, grpc.RpcError) as exc:
                log.warning("tape of %s: the gap after the drop stays open (%s)", inst.code, exc)
                continue
            for trade in missed:
                if trade.ts == since and (trade.price, trade.lots, trade.side) in seen:
                    continue
                self._emit_trade(inst, trade)
                self.stats.trades_backfilled += 1

    def _close(self, state: _BarState, bar: Bar) -> None:
        state.last_closed = bar.ts
        if state.current is not None and state.current.ts <= bar.ts:
            state.current = None
        self.emit(BarEvent(state.instrument.code, state.timeframe, bar, closed=True))

    def _handle(self, response: pb.MarketDataResponse) -> None:
        """One message of the stream; one that cannot be read (a price whose units and nano
        disagree, a time outside the calendar) is skipped with a warning: the stream goes on."""
        try:
            self._dispatch(response)
        except ValueError as exc:  # MessageError and the number/time decoders' ValueError
            self.skipped += 1
            log.warning(
                "market stream: skipped a %s message avin cannot read (%s)",
                response.WhichOneof("payload"),
                exc,
            )

    def _dispatch(self, response: pb.MarketDataResponse) -> None:
        kind = response.WhichOneof("payload")
        if kind == "candle":
            self._on_candle(response.candle)
        elif kind == "last_price":
            lp = response.last_price
            inst = self._by_uid.get(lp.instrument_uid)
            if inst is not None and inst.uid in self.prices:
                self.emit(PriceEvent(inst.code, from_quotation(lp.price), from_timestamp(lp.time)))
        elif kind == "orderbook":
            book = response.orderbook
            entry = self.books.get(book.instrument_uid)
            if entry is not None and book.depth == entry[1]:  # not a late one of an old depth
                self.emit(BookEvent(book_from_stream(book, entry[0].code)))
        elif kind == "trade":
            trade = response.trade
            inst = self.trades.get(trade.instrument_uid)
            if inst is not None:
                self._emit_trade(inst, trade_from_pb(trade, inst.code))
        elif kind == "ping":
            if response.ping.HasField("time"):  # the server's clock, for clock-skew detection
                self.server_time = ServerTime(from_timestamp(response.ping.time), now())
        elif kind == "trading_status":
            ts = response.trading_status
            self.trading_status[ts.instrument_uid] = ts.trading_status
            self.trading_flags[ts.instrument_uid] = (
                ts.trading_status,
                ts.limit_order_available_flag,
                ts.market_order_available_flag,
            )
        elif kind == "subscribe_candles_response":
            for sub in response.subscribe_candles_response.candles_subscriptions:
                if sub.subscription_status != pb.SUBSCRIPTION_STATUS_SUCCESS:
                    log.warning(
                        "candle subscription %s: %s",
                        sub.instrument_uid or sub.figi,
                        pb.SubscriptionStatus.Name(sub.subscription_status),
                    )
        elif kind == "subscribe_order_book_response":
            for bsub in response.subscribe_order_book_response.order_book_subscriptions:
                if bsub.subscription_status != pb.SUBSCRIPTION_STATUS_SUCCESS:
                    self.refused.append(("orderbook", bsub.instrument_uid or bsub.figi))
                    log.warning(
                        "order book subscription %s (depth %d): %s",
                        bsub.instrument_uid or bsub.figi,
                        bsub.depth,
                        pb.SubscriptionStatus.Name(bsub.subscription_status),
                    )
        elif kind == "subscribe_trades_response":
            for tsub in response.subscribe_trades_response.trade_subscriptions:
                if tsub.subscription_status != pb.SUBSCRIPTION_STATUS_SUCCESS:
                    self.refused.append(("trades", tsub.instrument_uid or tsub.figi))
                    log.warning(
                        "trades subscription %s: %s",
                        tsub.instrument_uid or tsub.figi,
                        pb.SubscriptionStatus.Name(tsub.subscription_status),
                    )

    def _on_candle(self, candle: pb.Candle) -> None:
        tf = SUBSCRIPTION_TIMEFRAME.get(candle.interval)
        if tf is None:
            return
        state = self.bars.get((candle.instrument_uid, tf))
        if state is None:
            return
        bar = candle_to_bar(candle)
        if state.last_closed is not None and bar.ts <= state.last_closed:
            return  # already closed (a duplicate or a late correction)
        current = state.current
        if current is not None and bar.ts < current.ts:
            return  # older than the bar in progress
        if current is not None and bar.ts > current.ts:
            self._close(state, current)
        state.current = bar
        self.emit(BarEvent(state.instrument.code, tf, bar, closed=False))
