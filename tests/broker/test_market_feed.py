"""The engine's MarketFeed over SimBroker: the tape of every charted instrument while recording,
otherwise only of what the depth view watches; a book only while watched; nothing at all from a
broker without order books."""

from __future__ import annotations

from pathlib import Path

from engine.broker import BookEvent, TradeEvent
from engine.broker.sim import SimBroker
from engine.data.ticks import TickStore
from engine.runtime.market_feed import MarketFeed
from tests.broker.simdata import by_ticker


def _pump(feed: MarketFeed, broker: SimBroker) -> list[object]:
    events = broker.drain()
    for event in events:
        feed.on_event(event)
    return events


async def test_recording_tapes_every_started_instrument(broker: SimBroker, tmp_path: Path) -> None:
    sber, gazp = by_ticker("SBER"), by_ticker("GAZP")
    feed = MarketFeed(broker, record=True, store=TickStore(tmp_path), tape_size=5)
    assert feed.available and feed.recorder is not None
    await broker.connect()
    await feed.start([sber])
    broker.advance(2)
    _pump(feed, broker)
    tape = feed.tape(sber.code, 3)
    assert len(tape) == 3 and tape[0].ts >= tape[1].ts >= tape[2].ts  # newest first
    assert len(feed.tape(sber.code, 100)) == 5  # only the last tape_size are kept
    assert feed.tape(gazp.code, 3) == [] and feed.book(sber.code) is None
    await feed.start([gazp])  # a worklist row brings GAZP later: its tape too
    broker.step()
    assert any(
        isinstance(e, TradeEvent) and e.trade.instrument == gazp.code for e in _pump(feed, broker)
    )
    await feed.flush()
    assert {t.instrument for t in TickStore(tmp_path).trades(sber.code)} == {sber.code}
    assert TickStore(tmp_path).codes() == sorted([sber.code, gazp.code])


async def test_without_recording_only_what_is_watched(broker: SimBroker) -> None:
    sber = by_ticker("SBER")
    feed = MarketFeed(broker)
    assert feed.recorder is None
    await broker.connect()
    await feed.start([sber])
    broker.advance(1)
    assert not any(isinstance(e, (TradeEvent, BookEvent)) for e in _pump(feed, broker))

    await feed.watch(sber.code, 10)  # the depth view opens: the book and the tape come
    broker.step()
    events = _pump(feed, broker)
    assert any(isinstance(e, BookEvent) for e in events)
    assert any(isinstance(e, TradeEvent) for e in events)
    book = feed.book(sber.code)
    assert book is not None and book.depth == 10 and feed.tape(sber.code, 1)

    await feed.watch(sber.code, 0)  # closed: no more books
    broker.step()
    assert not any(isinstance(e, BookEvent) for e in _pump(feed, broker))


async def test_a_broker_without_books_is_left_alone() -> None:
    feed = MarketFeed(object(), record=True)
    assert not feed.available and feed.recorder is None
    await feed.start([by_ticker("SBER")])
    await feed.watch("MOEX_SHARE_SBER", 10)
    assert feed.book("MOEX_SHARE_SBER") is None
    assert not feed.on_event(object())
