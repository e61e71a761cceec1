"""The T-Invest adapter's order books and tape against the fake server on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.broker import BookEvent, BrokerError, TradeEvent, depth_feed
from engine.broker.fake_tinvest import FakeTInvestServer
from engine.broker.tinvest.broker import TInvestBroker
from engine.data.ticks import bars_from_trades
from engine.model import Side, TimeFrame
from tests.tinvest.helpers import EventSink


async def test_order_book_and_last_trades_over_unary_calls(
    server: FakeTInvestServer, broker: TInvestBroker
) -> None:
    assert depth_feed(broker) is broker
    server.advance(70)
    server.step()
    sber = await broker.find_instrument("SBER")
    book = await broker.order_book(sber, 20)
    assert book.instrument == sber.code and len(book.bids) == len(book.asks) == 20
    assert book.spread == sber.step
    assert server.exchange.last_price(sber) in (book.best_bid, book.best_ask)
    with pytest.raises(BrokerError, match="depth 15"):
        await broker.order_book(sber, 15)
    now = server.exchange.market.now
    trades = await broker.last_trades(sber, now - timedelta(hours=5), now + timedelta(seconds=1))
    assert trades[0].ts >= now - timedelta(hours=1)  # the service gives its last hour only
    assert trades == server.market_data.tape.trades(sber.code, trades[0].ts, now + timedelta(1))


async def test_bars_built_from_the_tape_equal_the_broker_candles(
    server: FakeTInvestServer, broker: TInvestBroker
) -> None:
    server.advance(61)
    sber = await broker.find_instrument("SBER")
    now = server.exchange.market.now
    trades = await broker.last_trades(sber, now - timedelta(hours=1), now)
    begin = trades[0].ts.replace(second=0) + timedelta(minutes=1)  # the first whole minute
    built = [b for b in bars_from_trades(trades) if b.ts >= begin]
    candles = await broker.candles(sber, TimeFrame.M1, begin, now)
    assert len(candles) >= 55
    assert built == candles
    five = await broker.candles(sber, TimeFrame.M5, begin, now)
    built5 = [b for b in bars_from_trades(trades, TimeFrame.M5) if b.ts >= begin]
    assert [b for b in built5 if b.ts in {c.ts for c in five}] == five


async def test_stream_books_and_trades_survive_a_reconnect(
    server: FakeTInvestServer, broker: TInvestBroker, sink: EventSink
) -> None:
    server.advance(1)
    server.step()
    sber = await broker.find_instrument("SBER")
    await broker.subscribe_order_book(sber, 10)
    await broker.subscribe_trades(sber)
    await sink.wait(lambda ev: any(isinstance(e, BookEvent) for e in ev))  # the snapshot
    server.step()
    await sink.wait(lambda ev: any(isinstance(e, TradeEvent) for e in ev))
    trade = sink.of(TradeEvent)[-1].trade
    assert trade.instrument == sber.code and trade.side in (Side.BUY, Side.SELL)
    assert trade.price == server.exchange.last_price(sber)

    server.drop_open_streams()  # GOAWAY at the next data message
    before = len(sink.of(TradeEvent))
    connects = broker.market.stats.connects
    server.step()
    await sink.wait(lambda ev: broker.market.stats.connects > connects, timeout=10)
    server.step()
    await sink.wait(lambda ev: len(sink.of(TradeEvent)) > before, timeout=10)
    book = sink.of(BookEvent)[-1].book
    assert book.depth == 10 and book.best_ask is not None
    assert broker.market.refused == []


async def test_a_refused_subscription_is_logged_not_fatal(
    server: FakeTInvestServer, broker: TInvestBroker, sink: EventSink
) -> None:
    sber = await broker.find_instrument("SBER")
    await broker.market.subscribe_order_book(sber, 7)  # bypasses the local depth check
    await sink.wait(lambda ev: bool(broker.market.refused))
    assert broker.market.refused == [("orderbook", sber.uid)]
    with pytest.raises(BrokerError, match="30032"):
        await broker.subscribe_order_book(sber, 7)


async def test_another_depth_replaces_the_subscription(
    server: FakeTInvestServer, broker: TInvestBroker, sink: EventSink
) -> None:
    server.advance(1)
    server.step()
    sber = await broker.find_instrument("SBER")
    await broker.subscribe_order_book(sber, 10)
    await sink.wait(lambda ev: any(isinstance(e, BookEvent) for e in ev))
    await broker.subscribe_order_book(sber, 20)
    await sink.wait(lambda ev: any(isinstance(e, BookEvent) and e.book.depth == 20 for e in ev))
    seen = len(sink.of(BookEvent))
    for _ in range(3):
        server.step()
    await sink.wait(lambda ev: len(sink.of(BookEvent)) >= seen + 2)
    assert {e.book.depth for e in sink.of(BookEvent)[seen:]} == {20}
    await broker.unsubscribe_order_book(sber)  # nothing left: the stream is closed (80004)
    seen = len(sink.of(BookEvent))
    connects = broker.market.stats.connects
    await broker.subscribe_trades(sber)  # a new stream with the trades only
    await sink.wait(lambda ev: broker.market.stats.connects > connects)
    server.step()
    await sink.wait(lambda ev: any(isinstance(e, TradeEvent) for e in ev))
    assert len(sink.of(BookEvent)) == seen


async def test_the_tape_has_no_gap_and_no_duplicate_across_a_drop(
    server: FakeTInvestServer, broker: TInvestBroker, sink: EventSink
) -> None:
    server.advance(1)
    sber = await broker.find_instrument("SBER")
    await broker.subscribe_trades(sber)
    await sink.wait(lambda ev: broker.market.stats.connects > 0)  # subscribed
    first_ts = server.exchange.market.next_time
    server.step()
    await sink.wait(lambda ev: any(isinstance(e, TradeEvent) for e in ev))

    server.faults.only_methods = {"MarketDataStream"}
    server.faults.unavailable_calls = 3  # the stream cannot reopen at once ...
    server.drop_open_streams()  # ... after it drops at the next trade
    for _ in range(14):  # two minutes of trading while it is down
        server.step()
    await sink.wait(lambda ev: broker.market.stats.trades_backfilled > 0, timeout=10)
    server.step()  # and the stream carries on
    end = server.exchange.market.now + timedelta(seconds=1)
    expected = server.market_data.tape.trades(sber.code, first_ts, end)
    await sink.wait(lambda ev: len(sink.of(TradeEvent)) >= len(expected), timeout=10)
    got = [e.trade for e in sink.of(TradeEvent)]
    assert got == expected  # every trade once, in order
    assert server.faults.unavailable_calls == 0 and broker.market.stats.drops >= 1
