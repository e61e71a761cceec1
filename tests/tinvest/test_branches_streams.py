"""The stream machinery's less travelled paths: duplicate and changed subscriptions, messages the
stream must ignore (another instrument, an old depth, a stale candle), a refused subscription, a
write that fails, a stream that ends or fails before its first answer, a tape gap that cannot be
closed, and an order stream whose handlers raise. Against the fake server where it can produce
the situation, else with a scripted call object in place of the gRPC call."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import grpc
import grpc.aio
import pytest

from engine.broker.base import BarEvent, BookEvent, ConnectionEvent, PriceEvent, TradeEvent
from engine.broker.fake_tinvest import FakeTInvestServer
from engine.broker.tinvest.broker import TInvestBroker
from engine.broker.tinvest.channel import ChannelConfig, Transport
from engine.broker.tinvest.errors import Unavailable
from engine.broker.tinvest.market_stream import MarketStream, _BarState
from engine.broker.tinvest.numbers import quotation, timestamp
from engine.broker.tinvest.order_stream import OrderStream
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.streams import StreamPolicy
from engine.model import Bar, MarketTrade, Side, TimeFrame
from tests.tinvest.helpers import EventSink, make_broker

T0 = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)
POLICY = StreamPolicy(ping_interval=0.1, stall_factor=3, backoff_base=0.05, backoff_max=0.3)


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


class ScriptedCall:
    """A stand-in for a gRPC stream call: answers ``read`` from a script, records writes."""

    def __init__(self, script: list[Any], write_error: BaseException | None = None) -> None:
        self.script = list(script)
        self.written: list[Any] = []
        self.cancelled = False
        self.write_error = write_error

    async def write(self, request: Any) -> None:
        if self.write_error is not None:
            raise self.write_error
        self.written.append(request)

    async def read(self) -> Any:
        if not self.script:
            await asyncio.Event().wait()
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    def cancel(self) -> None:
        self.cancelled = True


class ScriptedTransport:
    def __init__(self, calls: list[ScriptedCall]) -> None:
        self.calls = list(calls)
        self.opened = 0

    def open_stream(self, service: str, method: str, request: Any = None) -> ScriptedCall:
        self.opened += 1
        return self.calls.pop(0) if self.calls else ScriptedCall([])

    async def call(self, *a: Any, **kw: Any) -> Any:
        raise Unavailable("no unary calls here")


def rpc_error(code: grpc.StatusCode, details: str = "") -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)


def bar(ts: datetime, price: str = "100") -> Bar:
    p = Decimal(price)
    return Bar(ts, p, p, p, p, 10)


def candle(uid: str, ts: datetime, interval: Any = pb.SUBSCRIPTION_INTERVAL_ONE_MINUTE) -> Any:
    q = quotation(Decimal("100"))
    return pb.MarketDataResponse(
        candle=pb.Candle(
            instrument_uid=uid,
            interval=interval,
            open=q,
            high=q,
            low=q,
            close=q,
            volume=5,
            time=timestamp(ts),
        )
    )


@pytest.fixture
async def sber(broker: TInvestBroker) -> Any:
    return await broker.find_instrument("SBER")


def stream(emitted: list[Any], transport: Any = None, backfill: Any = None) -> MarketStream:
    async def no_backfill(*a: Any) -> list[Bar]:
        return []

    return MarketStream(transport, emitted.append, backfill or no_backfill, POLICY)


# --- messages the stream must not pass on ------------------------------------------------------


async def test_messages_for_what_is_not_subscribed_are_dropped(sber: Any) -> None:
    emitted: list[Any] = []
    md = stream(emitted)
    md.books[sber.uid] = (sber, 10)
    md._by_uid[sber.uid] = sber  # known, but its prices are not subscribed
    q = quotation(Decimal("250.5"))
    md._handle(pb.MarketDataResponse(last_price=pb.LastPrice(instrument_uid=sber.uid, price=q)))
    md._handle(
        pb.MarketDataResponse(orderbook=pb.OrderBook(instrument_uid=sber.uid, depth=20))
    )  # a late book of a depth no longer wanted
    md._handle(pb.MarketDataResponse(orderbook=pb.OrderBook(instrument_uid="other", depth=10)))
    md._handle(pb.MarketDataResponse(trade=pb.Trade(instrument_uid=sber.uid, price=q)))
    md._handle(pb.MarketDataResponse(ping=pb.Ping()))  # a ping without the server's clock
    assert emitted == []
    assert md.server_time is None
    md._handle(pb.MarketDataResponse(orderbook=pb.OrderBook(instrument_uid=sber.uid, depth=10)))
    assert [type(e) for e in emitted] == [BookEvent]


async def test_candles_of_another_interval_instrument_or_an_older_minute_are_dropped(
    sber: Any,
) -> None:
    emitted: list[Any] = []
    md = stream(emitted)
    md.bars[(sber.uid, TimeFrame.M1)] = state = _BarState(sber, TimeFrame.M1)
    md._handle(candle(sber.uid, T0, interval=pb.SUBSCRIPTION_INTERVAL_UNSPECIFIED))
    md._handle(candle("not-subscribed", T0))
    assert emitted == []
    md._handle(candle(sber.uid, T0 + timedelta(minutes=2)))
    md._handle(candle(sber.uid, T0 + timedelta(minutes=1)))  # older than the bar in progress
    assert [(e.bar.ts, e.closed) for e in emitted] == [(T0 + timedelta(minutes=2), False)]
    assert state.current is not None and state.current.ts == T0 + timedelta(minutes=2)


async def test_refused_subscriptions_are_recorded_and_logged(
    sber: Any, caplog: pytest.LogCaptureFixture
) -> None:
    md = stream([])
    refused = pb.SUBSCRIPTION_STATUS_INSTRUMENT_NOT_FOUND
    ok = pb.SUBSCRIPTION_STATUS_SUCCESS
    with caplog.at_level(logging.WARNING, logger="avin.tinvest.streams"):
        md._handle(
            pb.MarketDataResponse(
                subscribe_candles_response=pb.SubscribeCandlesResponse(
                    candles_subscriptions=[
                        pb.CandleSubscription(instrument_uid="bad", subscription_status=refused),
                        pb.CandleSubscription(instrument_uid=sber.uid, subscription_status=ok),
                    ]
                )
            )
        )
        md._handle(
            pb.MarketDataResponse(
                subscribe_trades_response=pb.SubscribeTradesResponse(
                    trade_subscriptions=[
                        pb.TradeSubscription(instrument_uid="bad", subscription_status=refused),
                        pb.TradeSubscription(instrument_uid=sber.uid, subscription_status=ok),
                    ]
                )
            )
        )
    assert md.refused == [("trades", "bad")]
    text = caplog.text
    assert "candle subscription bad: SUBSCRIPTION_STATUS_INSTRUMENT_NOT_FOUND" in text
    assert "trades subscription bad" in text and sber.uid not in text


async def test_trades_of_one_instant_are_all_remembered_for_the_gap_check(sber: Any) -> None:
    emitted: list[Any] = []
    md = stream(emitted)
    a = MarketTrade(sber.code, T0, Decimal("100"), 1, Side.BUY)
    b = MarketTrade(sber.code, T0, Decimal("101"), 2, Side.SELL)
    old = MarketTrade(sber.code, T0 - timedelta(seconds=1), Decimal("99"), 1, Side.BUY)
    md._emit_trade(sber, a)
    md._emit_trade(sber, b)
    md._emit_trade(sber, old)  # an older one does not move the mark back
    ts, seen = md._last_trade[sber.uid]
    assert ts == T0
    assert seen == {(a.price, a.lots, a.side), (b.price, b.lots, b.side)}
    assert [e.trade for e in emitted if isinstance(e, TradeEvent)] == [a, b, old]


async def test_backfill_after_a_closed_bar_starts_at_the_next_minute_and_skips_old_bars(
    sber: Any,
) -> None:
    asked: list[datetime] = []

    async def backfill(inst: Any, tf: TimeFrame, since: datetime) -> list[Bar]:
        asked.append(since)
        return [bar(T0), bar(T0 + timedelta(minutes=1)), bar(T0 + timedelta(minutes=2))]

    emitted: list[Any] = []
    md = stream(emitted, backfill=backfill)
    md.bars[(sber.uid, TimeFrame.M1)] = _BarState(sber, TimeFrame.M1, last_closed=T0)
    await md._backfill()
    assert asked == [T0 + timedelta(minutes=1)]
    closed = [e.bar.ts for e in emitted if isinstance(e, BarEvent) and e.closed]
    assert closed == [T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]  # T0 not again
    assert md.stats.backfilled == 2


async def test_a_tape_gap_that_cannot_be_read_stays_open_and_the_others_are_filled(
    server: FakeTInvestServer, sber: Any, caplog: pytest.LogCaptureFixture
) -> None:
    transport = Transport(ChannelConfig(target=server.target, token=server.token, max_attempts=1))
    try:
        md = stream([], transport=transport)
        md.trades[sber.uid] = sber
        md._last_trade[sber.uid] = (T0, set())
        server.faults.unavailable_calls = 1
        server.faults.only_methods = {"GetLastTrades"}
        with caplog.at_level(logging.WARNING, logger="avin.tinvest.streams"):
            await md._backfill_trades()
        assert server.faults.unavailable_calls == 0  # the call was made and failed
        assert "the gap after the drop stays open" in caplog.text
        assert md.stats.trades_backfilled == 0
    finally:
        await transport.close()


# --- the registry ----------------------------------------------------------------------------


async def test_subscriptions_are_sent_once_and_a_new_depth_replaces_the_old(
    broker: TInvestBroker, sber: Any
) -> None:
    md = broker.market
    sent: list[Any] = []

    async def send(request: Any) -> None:
        sent.append(request)

    md._send = send  # type: ignore[method-assign]
    await md.subscribe_bars(sber, TimeFrame.M1)
    await md.subscribe_bars(sber, TimeFrame.M1)
    await md.subscribe_trades(sber)
    await md.subscribe_trades(sber)
    await md.subscribe_order_book(sber, 10)
    await md.subscribe_order_book(sber, 10)
    await md.subscribe_order_book(sber, 20)
    kinds = [r.WhichOneof("payload") for r in sent]
    assert kinds == [
        "subscribe_candles_request",
        "subscribe_trades_request",
        "subscribe_order_book_request",
        "subscribe_order_book_request",  # unsubscribe depth 10 ...
        "subscribe_order_book_request",  # ... then subscribe depth 20
    ]
    old, new = sent[3].subscribe_order_book_request, sent[4].subscribe_order_book_request
    assert old.subscription_action == pb.SUBSCRIPTION_ACTION_UNSUBSCRIBE
    assert old.instruments[0].depth == 10
    assert new.subscription_action == pb.SUBSCRIPTION_ACTION_SUBSCRIBE
    assert new.instruments[0].depth == 20
    assert md.books[sber.uid][1] == 20
    sent.clear()
    # unsubscribing everything of the instrument says so for each kind, then closes the stream
    await md.unsubscribe_order_book(sber)
    await md.unsubscribe_order_book(sber)  # not subscribed any more: nothing to send
    assert len(sent) == 1 and md._task is not None  # candles and trades still flow
    await md.subscribe_order_book(sber, 10)
    sent.clear()
    await md.unsubscribe(sber)
    kinds = [r.WhichOneof("payload") for r in sent]
    assert kinds == [
        "subscribe_order_book_request",
        "subscribe_trades_request",
        "subscribe_candles_request",
    ]
    assert all(
        getattr(r, k).subscription_action == pb.SUBSCRIPTION_ACTION_UNSUBSCRIBE
        for r, k in zip(sent, kinds, strict=True)
    )
    assert md._task is None and not md.books and not md.trades and not md.bars


async def test_a_failed_write_is_swallowed_and_left_to_the_resubscription(sber: Any) -> None:
    md = stream([])
    call = ScriptedCall([], write_error=RuntimeError("the call is done"))
    md._call = call
    await md._send(md._prices_request([sber.uid], subscribe=True))  # must not raise
    call.write_error = rpc_error(grpc.StatusCode.UNAVAILABLE)
    await md._send(md._prices_request([sber.uid], subscribe=True))
    assert call.written == []


# --- sessions --------------------------------------------------------------------------------


async def test_a_wrong_token_ends_the_market_stream_with_a_connection_event(
    server: FakeTInvestServer, sber: Any
) -> None:
    b = make_broker(server.target, token="t.wrong")
    sink = EventSink(b)
    try:
        await b.market.subscribe_prices(sber)
        await sink.wait(lambda ev: any(isinstance(e, ConnectionEvent) for e in ev))
        (event,) = sink.of(ConnectionEvent)
        assert not event.connected and "40003" in event.reason
        await wait_for(lambda: b.market._task is not None and b.market._task.done())
        assert b.market._fatal is not None  # the loop ended: no reconnect with a bad token
    finally:
        await sink.stop()
        await b.close()


async def test_a_stream_that_ends_or_fails_is_reopened_and_resubscribed(sber: Any) -> None:
    q = quotation(Decimal("250"))
    price = pb.MarketDataResponse(last_price=pb.LastPrice(instrument_uid=sber.uid, price=q))
    ping = pb.MarketDataResponse(ping=pb.Ping())
    calls = [
        ScriptedCall([grpc.aio.EOF]),  # ends before its first answer
        ScriptedCall([], write_error=rpc_error(grpc.StatusCode.INTERNAL, "70001")),
        ScriptedCall([ping, price, grpc.aio.EOF]),  # up, one price, then ends
        ScriptedCall([ping, price]),  # up again, and stays
    ]
    transport = ScriptedTransport(calls)
    emitted: list[Any] = []
    md = stream(emitted, transport=transport)
    await md.subscribe_prices(sber)
    await wait_for(lambda: md.stats.connects == 2)
    try:
        assert md.stats.drops == 3
        assert md.stats.reasons[0] == "stream ended"
        assert "INTERNAL" in md.stats.reasons[1]
        assert md.stats.reasons[2] == "stream ended"
        prices = [e for e in emitted if isinstance(e, PriceEvent)]
        assert len(prices) == 2 and prices[0].price == Decimal("250")
        ups = [e.connected for e in emitted if isinstance(e, ConnectionEvent)]
        assert ups == [True, False, True]  # the two that never came up are not reported
    finally:
        await md.close()
    assert md._task is None and not md.connected.is_set()


# --- the order stream -----------------------------------------------------------------------


async def test_order_stream_waits_for_an_account_then_survives_bad_handlers() -> None:
    subscription = pb.OrderStateStreamResponse(subscription=pb.SubscriptionResponse())
    state = pb.OrderStateStreamResponse(
        order_state=pb.OrderStateStreamResponse.OrderState(order_id="X1")
    )
    transport = ScriptedTransport([ScriptedCall([subscription, state, grpc.aio.EOF])])
    handled: list[str] = []
    polls: list[int] = []

    async def on_state(message: Any) -> None:
        handled.append(message.order_id)
        raise ValueError("a bad message")

    async def poll() -> None:
        polls.append(1)
        raise RuntimeError("polling broke")

    orders = OrderStream(transport, [].append, on_state, poll, POLICY, poll_interval=0.01)  # type: ignore[arg-type]
    orders.start(set())
    assert orders._task is None  # no account: nothing to open
    orders.add_account("")
    assert orders._task is None
    orders.add_account("acc-1")
    task = orders._task
    assert task is not None
    orders.start({"acc-1"})
    assert orders._task is task  # already running: not a second one
    try:
        await wait_for(lambda: handled == ["X1"])
        # the stream ended after the bad message: polling takes over and keeps going
        await wait_for(lambda: len(polls) >= 3)
        assert orders.stats.connects == 1 and orders.polls == 0
        assert orders.stats.drops >= 1 and orders.stats.last_error == "stream ended"
    finally:
        await orders.close()
    assert orders._task is None and orders._poller is None


class CancellableCall(ScriptedCall):
    """A call whose pending read fails with CANCELLED when the call is cancelled (as gRPC does)."""

    def __init__(self, script: list[Any]) -> None:
        super().__init__(script)
        self._wake = asyncio.Event()

    async def read(self) -> Any:
        if self.script:
            return await super().read()
        await self._wake.wait()
        raise rpc_error(grpc.StatusCode.CANCELLED, "cancelled by the client")

    def cancel(self) -> None:
        super().cancel()
        self._wake.set()


class RecordingTransport(ScriptedTransport):
    def __init__(self, calls: list[ScriptedCall]) -> None:
        super().__init__(calls)
        self.requests: list[Any] = []

    def open_stream(self, service: str, method: str, request: Any = None) -> ScriptedCall:
        self.requests.append(request)
        return super().open_stream(service, method, request)


async def test_a_new_account_reopens_the_order_stream_with_both_accounts() -> None:
    subscription = pb.OrderStateStreamResponse(subscription=pb.SubscriptionResponse())
    first = CancellableCall([subscription, subscription])  # a repeated answer changes nothing
    second = CancellableCall([subscription])
    transport = RecordingTransport([first, second])
    polls: list[int] = []

    async def poll() -> None:
        polls.append(1)

    orders = OrderStream(transport, [].append, poll, poll, POLICY)  # type: ignore[arg-type]
    orders.start({"acc-1"})
    try:
        await wait_for(lambda: orders.connected.is_set() and not first.script)
        assert orders.stats.connects == 1 and len(polls) == 1  # one catch-up, not two
        orders.add_account("acc-1")  # known: nothing happens
        assert not first.cancelled
        orders.add_account("acc-2")
        await wait_for(lambda: len(transport.requests) == 2 and orders.stats.connects == 2)
        assert first.cancelled
        assert list(transport.requests[1].accounts) == ["acc-1", "acc-2"]
        assert orders.stats.drops == 0  # a reopen, not a drop
    finally:
        await orders.close()


async def test_closing_the_order_stream_cancels_a_poll_in_progress() -> None:
    transport = ScriptedTransport([ScriptedCall([grpc.aio.EOF])])
    entered = asyncio.Event()

    async def slow_poll() -> None:
        entered.set()
        await asyncio.Event().wait()

    orders = OrderStream(transport, [].append, slow_poll, slow_poll, POLICY)  # type: ignore[arg-type]
    orders.start({"acc-1"})
    await asyncio.wait_for(entered.wait(), 5)  # the stream ended: polling began
    poller = orders._poller
    assert poller is not None
    await orders.close()
    assert poller.cancelled() and orders.polls == 0
    assert orders._task is None and orders._poller is None


async def test_an_account_added_between_sessions_goes_into_the_next_one() -> None:
    slow = StreamPolicy(ping_interval=0.1, stall_factor=3, backoff_base=30.0, backoff_max=30.0)
    transport = RecordingTransport([ScriptedCall([grpc.aio.EOF])])

    async def poll() -> None:
        return None

    orders = OrderStream(transport, [].append, poll, poll, slow)  # type: ignore[arg-type]
    orders.start({"acc-1"})
    try:
        await wait_for(lambda: orders.stats.drops == 1)  # ended; waiting out its backoff
        task = orders._task
        orders.add_account("acc-2")
        assert orders._task is task and not orders._restart  # no second loop, no reopen now
        assert orders.accounts == {"acc-1", "acc-2"} and len(transport.requests) == 1
    finally:
        await orders.close()


async def test_a_message_that_cannot_be_read_is_skipped_and_the_stream_goes_on(sber: Any) -> None:
    """Before: a candle or a price with a value out of range raised out of the read loop, and
    the market stream's task ended (no more bars, no reconnect)."""
    from google.protobuf.timestamp_pb2 import Timestamp

    emitted: list[Any] = []
    md = stream(emitted)
    md.prices[sber.uid] = sber
    md._by_uid[sber.uid] = sber
    bad = pb.Quotation(units=1, nano=-5)  # units and nano of different signs
    md._handle(pb.MarketDataResponse(last_price=pb.LastPrice(instrument_uid=sber.uid, price=bad)))
    late = Timestamp(seconds=2**40)  # beyond the year 9999
    q = quotation(Decimal("250.5"))
    md._handle(
        pb.MarketDataResponse(last_price=pb.LastPrice(instrument_uid=sber.uid, price=q, time=late))
    )
    assert md.skipped == 2 and emitted == []
    md._handle(pb.MarketDataResponse(last_price=pb.LastPrice(instrument_uid=sber.uid, price=q)))
    assert [type(e) for e in emitted] == [PriceEvent]
