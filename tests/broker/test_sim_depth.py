"""SimBroker's order book and tape (the optional MarketDepthFeed): derived from its own market,
so the tape rebuilds the bars it streams and the book's touch is the price it fills at."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.broker import BarEvent, BookEvent, BrokerError, TradeEvent, depth_feed
from engine.broker.sim import SimBroker
from engine.broker.sim.tape import Tape, make_book, tick_trades
from engine.data.ticks import bars_from_trades
from engine.model import MarketTrade, Order, OrderType, Side, TimeFrame
from engine.model.aggregation import BarAggregator
from tests.broker.simdata import TUESDAY_OPEN, by_ticker


async def test_sim_broker_is_a_depth_feed(broker: SimBroker) -> None:
    assert depth_feed(broker) is broker
    assert depth_feed(object()) is None


async def test_trades_rebuild_the_streamed_bars_and_books_follow_the_last_trade(
    broker: SimBroker,
) -> None:
    sber = by_ticker("SBER")
    await broker.connect()
    await broker.subscribe_bars(sber, TimeFrame.M1)
    await broker.subscribe_trades(sber)
    await broker.subscribe_order_book(sber, 10)
    broker.advance(20)
    events = broker.drain()
    closed = [e.bar for e in events if isinstance(e, BarEvent) and e.closed]
    trades = [e.trade for e in events if isinstance(e, TradeEvent)]
    books = [e.book for e in events if isinstance(e, BookEvent)]
    assert len(closed) == 20 and trades and books
    assert all(t.instrument == sber.code for t in trades)
    assert bars_from_trades(trades) == closed
    last = trades[-1]
    book = books[-1]
    assert len(book.bids) == len(book.asks) == 10
    assert book.spread == sber.step
    touch = book.best_ask if last.side is Side.BUY else book.best_bid
    assert touch == last.price


async def test_last_trades_and_a_resting_order_in_the_book(broker: SimBroker) -> None:
    sber = by_ticker("SBER")
    await broker.connect()
    broker.advance(5)
    broker.step()
    now = broker.market.now
    kept = await broker.last_trades(sber, now - timedelta(minutes=2), now + timedelta(seconds=1))
    assert kept and all(
        now - timedelta(minutes=2) <= t.ts < now + timedelta(seconds=1) for t in kept
    )
    book = await broker.order_book(sber, 10)
    level = book.bids[4]
    order = broker.submit(
        Order(sber.code, Side.BUY, OrderType.LIMIT, 3, "sim-1", price=level.price)
    )
    assert order.is_open
    again = await broker.order_book(sber, 10)
    assert {lv.price: lv.lots for lv in again.bids}[level.price] == level.lots + 3
    with pytest.raises(BrokerError, match="depth 7"):
        await broker.order_book(sber, 7)


async def test_no_book_while_the_session_is_closed() -> None:
    broker = SimBroker(seed=7, start=TUESDAY_OPEN - timedelta(hours=2), realtime=False)
    sber = by_ticker("SBER")
    book = await broker.order_book(sber, 1)
    assert book.bids == () and book.asks == ()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3 * 60 * 60 - 1),  # seconds into the session
            st.integers(1, 10_000),  # price in steps
            st.integers(1, 500),  # lots
        ),
        min_size=1,
        max_size=200,
    ),
    st.sampled_from([TimeFrame.M1, TimeFrame.M5, TimeFrame.M15, TimeFrame.H1]),
)
def test_bars_from_trades_equal_the_aggregation_of_their_minute_bars(
    rows: list[tuple[int, int, int]], timeframe: TimeFrame
) -> None:
    """Trades -> 1-minute bars -> a timeframe equals trades -> that timeframe directly."""
    code = "MOEX_SHARE_SBER"
    trades = [
        MarketTrade(code, TUESDAY_OPEN + timedelta(seconds=s), Decimal(p) / 100, lots, Side.BUY)
        for s, p, lots in sorted(rows, key=lambda r: r[0])
    ]
    direct = bars_from_trades(trades, timeframe)
    aggregator = BarAggregator(timeframe)
    via: list = []
    for bar in bars_from_trades(trades, TimeFrame.M1):
        result = aggregator.update(bar)
        if result.closed is not None:
            via.append(result.closed)
    last = aggregator.flush()
    if last is not None:
        via.append(last)
    assert direct == via
    assert sum(b.volume for b in direct) == sum(lots for _, _, lots in rows)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 5000), st.integers(1, 20_000), st.sampled_from([None, 1, -1]))
def test_one_tick_trades_its_lots_once_at_its_price(
    lots: int, steps: int, move: int | None
) -> None:
    sber = by_ticker("SBER")
    price = sber.step * steps
    previous = None if move is None else price - sber.step * move
    trades = tick_trades(sber, TUESDAY_OPEN, price, lots, previous)
    assert sum(t.lots for t in trades) == lots and 1 <= len(trades) <= 3
    assert all(t.price == price and t.lots > 0 for t in trades)
    assert all(t.ts.replace(second=0, microsecond=0) == TUESDAY_OPEN for t in trades)
    if move == 1:
        assert all(t.side is Side.BUY for t in trades)
    if move == -1:
        assert all(t.side is Side.SELL for t in trades)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(100, 20_000),
    st.sampled_from([1, 10, 20, 30, 40, 50]),
    st.sampled_from([Side.BUY, Side.SELL, None]),
    st.integers(0, 100_000),
)
def test_books_are_never_crossed_and_stay_in_the_band(
    steps: int, depth: int, side: Side | None, volume: int
) -> None:
    sber = by_ticker("SBER")
    price = sber.step * steps
    book = make_book(sber, price, TUESDAY_OPEN, depth, side=side, volume=volume)
    assert book.best_bid is not None and book.best_ask is not None
    assert book.best_bid < book.best_ask and book.spread == sber.step
    assert price in (book.best_bid, book.best_ask)
    assert len(book.bids) <= depth and len(book.asks) <= depth
    assert all(lv.lots > 0 for lv in book.bids + book.asks)
    assert book.limit_down is not None and book.limit_up is not None
    assert all(book.limit_down <= lv.price <= book.limit_up for lv in book.bids + book.asks)


def test_tape_keeps_one_hour() -> None:
    broker = SimBroker(seed=3, start=TUESDAY_OPEN, realtime=False)
    tape: Tape = broker.tape
    broker.advance(90)
    kept = tape.trades("MOEX_SHARE_SBER")
    assert kept[-1].ts - kept[0].ts <= timedelta(hours=1)
    assert kept[0].ts >= broker.market.now - timedelta(hours=1, seconds=10)
