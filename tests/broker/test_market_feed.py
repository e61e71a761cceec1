"""The engine's MarketFeed over SimBroker: tapes for the charted instruments, a book only while
watched, and nothing at all from a broker without order books."""

from __future__ import annotations

from engine.broker import BookEvent, TradeEvent
from engine.broker.sim import SimBroker
from engine.runtime.market_feed import MarketFeed
from tests.broker.simdata import by_ticker


async def test_tape_for_started_instruments_book_only_while_watched(broker: SimBroker) -> None:
    sber, gazp = by_ticker("SBER"), by_ticker("GAZP")
    feed = MarketFeed(broker, tape_size=5)
    assert feed.available and feed.recorder is None
    await broker.connect()
    await feed.start([sber])
    broker.advance(2)
    for event in broker.drain():
        feed.on_event(event)
    tape = feed.tape(sber.code, 3)
    assert len(tape) == 3 and tape[0].ts >= tape[1].ts >= tape[2].ts  # newest first
    assert len(feed.tape(sber.code, 100)) == 5  # only the last tape_size are kept
    assert feed.tape(gazp.code, 3) == [] and feed.book(sber.code) is None

    await feed.watch(sber.code, 10)
    broker.step()
    events = broker.drain()
    assert any(isinstance(e, BookEvent) for e in events)
    for event in events:
        feed.on_event(event)
    book = feed.book(sber.code)
    assert book is not None and book.depth == 10

    await feed.watch(sber.code, 0)
    broker.step()
    assert not any(isinstance(e, BookEvent) for e in broker.drain())

    await feed.start([gazp])  # a worklist row brings GAZP later: its tape too
    broker.step()
    assert any(
        isinstance(e, TradeEvent) and e.trade.instrument == gazp.code for e in broker.drain()
    )


async def test_a_broker_without_books_is_left_alone() -> None:
    feed = MarketFeed(object(), record=True)
    assert not feed.available and feed.recorder is None
    await feed.start([by_ticker("SBER")])
    await feed.watch("MOEX_SHARE_SBER", 10)
    assert feed.book("MOEX_SHARE_SBER") is None
    assert not feed.on_event(object())
