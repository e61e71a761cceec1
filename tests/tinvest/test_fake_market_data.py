"""The fake server's order books and tape, spoken to over the wire with raw stubs.

GetOrderBook (the documented depths and errors), GetTradingStatuses, GetLastTrades (the last hour)
and the MarketDataStream order-book and trades subscriptions; the book and the tape agree with the
fake's own market (its candles, its last price, the client's resting orders).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import grpc
import grpc.aio
import pytest

from engine.broker.fake_tinvest import DEFAULT_TOKEN, FakeTInvestServer
from engine.broker.fake_tinvest.messages import from_quotation, from_timestamp, timestamp
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.proto import investapi_pb2_grpc as pb_grpc
from engine.data.ticks import bars_from_trades
from engine.model import MarketTrade, OrderType, Side

AUTH = (("authorization", f"Bearer {DEFAULT_TOKEN}"),)


@pytest.fixture
async def channel(server: FakeTInvestServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(server.target) as ch:
        yield ch


def md(channel: grpc.aio.Channel) -> pb_grpc.MarketDataServiceStub:
    return pb_grpc.MarketDataServiceStub(channel)


async def _code(call: Any) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return str(info.value.details())


async def test_order_book_depths_and_the_documented_errors(
    server: FakeTInvestServer, channel: grpc.aio.Channel
) -> None:
    server.advance(2)
    server.step()
    sber = server.exchange.instrument("SBER")
    stub = md(channel)
    for depth in (1, 10, 20, 30, 40, 50):
        book = await stub.GetOrderBook(
            pb.GetOrderBookRequest(instrument_id=sber.uid, depth=depth), metadata=AUTH
        )
        assert book.depth == depth
        assert len(book.bids) == depth and len(book.asks) == depth
        assert book.instrument_uid == sber.uid and book.ticker == "SBER"
    for depth in (2, 5, 15, 100, -1):
        call = stub.GetOrderBook(
            pb.GetOrderBookRequest(instrument_id=sber.uid, depth=depth), metadata=AUTH
        )
        assert await _code(call) == "30032"
    call = stub.GetOrderBook(pb.GetOrderBookRequest(instrument_id=sber.uid), metadata=AUTH)
    assert await _code(call) == "30031"
    call = stub.GetOrderBook(pb.GetOrderBookRequest(instrument_id="nope", depth=10), metadata=AUTH)
    assert await _code(call) == "50002"


async def test_the_book_agrees_with_the_last_trade(
    server: FakeTInvestServer, channel: grpc.aio.Channel
) -> None:
    for _ in range(25):  # ticks up and down: the touch follows the last aggressor
        server.step()
        sber = server.exchange.instrument("SBER")
        last = server.exchange.last_price(sber)
        side = server.market_data.tape.last_side(sber.code)
        book = await md(channel).GetOrderBook(
            pb.GetOrderBookRequest(instrument_id=sber.uid, depth=10), metadata=AUTH
        )
        bids = [from_quotation(o.price) for o in book.bids]
        asks = [from_quotation(o.price) for o in book.asks]
        if not bids:  # a minute's close: no new trade, the book stays as it was
            continue
        touch = asks[0] if side is Side.BUY else bids[0]
        assert touch == last == from_quotation(book.last_price)
        assert asks[0] - bids[0] == sber.step  # one step wide, never crossed
        assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
        assert from_quotation(book.limit_down) < bids[-1]
        assert asks[-1] < from_quotation(book.limit_up)
        assert from_timestamp(book.orderbook_ts) == server.exchange.market.now


async def test_resting_lots_are_added_to_their_level(server: FakeTInvestServer) -> None:
    server.advance(1)
    server.step()
    sber = server.exchange.instrument("SBER")
    last = server.exchange.last_price(sber)
    before = {lv.price: lv.lots for lv in server.market_data.book(sber, 10).bids}
    price = sorted(before)[-3]
    server.exchange.post_order(
        account_id="fake-account-1",
        key=str(uuid.uuid4()),
        instrument_id=sber.uid,
        side=Side.BUY,
        kind=OrderType.LIMIT,
        lots=7,
        price=price,
    )
    after = {lv.price: lv.lots for lv in server.market_data.book(sber, 10).bids}
    assert after[price] == before[price] + 7
    assert last == server.exchange.last_price(sber)


async def test_the_book_is_empty_while_the_instrument_does_not_trade(
    server: FakeTInvestServer, channel: grpc.aio.Channel
) -> None:
    server.advance(1)
    server.step()
    server.exchange.set_trading("SBER", False)
    book = await md(channel).GetOrderBook(
        pb.GetOrderBookRequest(instrument_id="SBER", depth=10), metadata=AUTH
    )
    assert list(book.bids) == [] and list(book.asks) == []
    statuses = await md(channel).GetTradingStatuses(
        pb.GetTradingStatusesRequest(instrument_id=["SBER", "GAZP"]), metadata=AUTH
    )
    got = {s.ticker: s.trading_status for s in statuses.trading_statuses}
    assert got == {
        "SBER": pb.SECURITY_TRADING_STATUS_NOT_AVAILABLE_FOR_TRADING,
        "GAZP": pb.SECURITY_TRADING_STATUS_NORMAL_TRADING,
    }
    call = md(channel).GetTradingStatuses(
        pb.GetTradingStatusesRequest(instrument_id=["SBER", "nope"]), metadata=AUTH
    )
    assert await _code(call) == "50002"


def _trade(code: str, t: pb.Trade) -> MarketTrade:
    side = {1: Side.BUY, 2: Side.SELL}.get(t.direction)
    return MarketTrade(code, from_timestamp(t.time), from_quotation(t.price), t.quantity, side)


async def test_last_trades_rebuild_the_candles_and_reach_back_one_hour_only(
    server: FakeTInvestServer, channel: grpc.aio.Channel
) -> None:
    server.advance(90)
    sber = server.exchange.instrument("SBER")
    now = server.exchange.market.now
    request = pb.GetLastTradesRequest(instrument_id=sber.uid)
    getattr(request, "from").CopyFrom(timestamp(now - timedelta(hours=3)))
    request.to.CopyFrom(timestamp(now))
    answer = await md(channel).GetLastTrades(request, metadata=AUTH)
    trades = [_trade(sber.code, t) for t in answer.trades]
    assert trades and trades[0].ts >= now - timedelta(hours=1)
    assert all(t.trade_source == pb.TRADE_SOURCE_EXCHANGE for t in answer.trades)
    assert all(
        t.direction in (pb.TRADE_DIRECTION_BUY, pb.TRADE_DIRECTION_SELL) for t in answer.trades
    )
    first_full = trades[0].ts.replace(second=0, microsecond=0) + timedelta(minutes=1)
    built = [b for b in bars_from_trades(trades) if b.ts >= first_full]
    candles = await md(channel).GetCandles(
        pb.GetCandlesRequest(
            instrument_id=sber.uid,
            interval=pb.CANDLE_INTERVAL_1_MIN,
            **{"from": timestamp(first_full), "to": timestamp(now)},
        ),
        metadata=AUTH,
    )
    served = [
        (
            from_timestamp(c.time),
            from_quotation(c.open),
            from_quotation(c.high),
            from_quotation(c.low),
            from_quotation(c.close),
            c.volume,
        )
        for c in candles.candles
    ]
    mine = [
        (
            b.ts,
            Decimal(repr(b.open)),
            Decimal(repr(b.high)),
            Decimal(repr(b.low)),
            Decimal(repr(b.close)),
            b.volume,
        )
        for b in built
    ]
    assert len(mine) >= 55
    assert mine == served


async def test_last_trades_window_errors(
    server: FakeTInvestServer, channel: grpc.aio.Channel
) -> None:
    server.advance(2)
    now = server.exchange.market.now
    stub = md(channel)
    assert (
        await _code(
            stub.GetLastTrades(pb.GetLastTradesRequest(instrument_id="SBER"), metadata=AUTH)
        )
        == "30001"
    )
    request = pb.GetLastTradesRequest(instrument_id="SBER")
    getattr(request, "from").CopyFrom(timestamp(now))
    assert await _code(stub.GetLastTrades(request, metadata=AUTH)) == "30004"
    request.to.CopyFrom(timestamp(now - timedelta(minutes=5)))
    assert await _code(stub.GetLastTrades(request, metadata=AUTH)) == "30012"


async def _read_until(call: Any, kind: str, count: int = 1, timeout: float = 5.0) -> list[Any]:
    got: list[Any] = []

    async def pump() -> None:
        while len(got) < count:
            response = await call.read()
            if response.WhichOneof("payload") == kind:
                got.append(getattr(response, kind))

    await asyncio.wait_for(pump(), timeout)
    return got


async def test_stream_order_book_and_trades_subscriptions(
    server: FakeTInvestServer, channel: grpc.aio.Channel
) -> None:
    server.advance(1)
    server.step()
    sber = server.exchange.instrument("SBER")
    call = pb_grpc.MarketDataStreamServiceStub(channel).MarketDataStream(metadata=AUTH)
    try:
        await call.write(
            pb.MarketDataRequest(
                subscribe_order_book_request=pb.SubscribeOrderBookRequest(
                    subscription_action=pb.SUBSCRIPTION_ACTION_SUBSCRIBE,
                    instruments=[
                        pb.OrderBookInstrument(instrument_id=sber.uid, depth=20),
                        pb.OrderBookInstrument(instrument_id="GAZP", depth=7),
                        pb.OrderBookInstrument(instrument_id="nope", depth=10),
                    ],
                )
            )
        )
        (answer,) = await _read_until(call, "subscribe_order_book_response")
        statuses = [s.subscription_status for s in answer.order_book_subscriptions]
        assert statuses == [
            pb.SUBSCRIPTION_STATUS_SUCCESS,
            pb.SUBSCRIPTION_STATUS_DEPTH_IS_INVALID,
            pb.SUBSCRIPTION_STATUS_INSTRUMENT_NOT_FOUND,
        ]
        (snapshot,) = await _read_until(call, "orderbook")  # the book at once
        assert snapshot.instrument_uid == sber.uid and snapshot.depth == 20
        assert len(snapshot.bids) == 20 and snapshot.is_consistent
        await call.write(
            pb.MarketDataRequest(
                subscribe_trades_request=pb.SubscribeTradesRequest(
                    subscription_action=pb.SUBSCRIPTION_ACTION_SUBSCRIBE,
                    instruments=[pb.TradeInstrument(instrument_id=sber.uid)],
                )
            )
        )
        (tanswer,) = await _read_until(call, "subscribe_trades_response")
        assert [s.subscription_status for s in tanswer.trade_subscriptions] == [
            pb.SUBSCRIPTION_STATUS_SUCCESS
        ]
        server.step()
        trades = await _read_until(call, "trade")
        assert trades[0].instrument_uid == sber.uid
        assert from_quotation(trades[0].price) == server.exchange.last_price(sber)
        books = await _read_until(call, "orderbook")
        assert books[0].instrument_uid == sber.uid
    finally:
        call.cancel()
