"""The market feed's edges against a scripted depth feed: subscriptions that fail, books watched
before their instrument is known or switched off, the recorder's full buffer and failed writes,
and the catch-up after a restart."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.broker.base import BookEvent, TradeEvent
from engine.model import Instrument, MarketTrade, OrderBook, Side
from engine.runtime.market_feed import CATCH_UP_REACH, MarketFeed, TickRecorder

T0 = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)


def _inst(ticker: str) -> Instrument:
    return Instrument("MOEX", "SHARE", ticker, f"uid-{ticker}", "", "TQBR", 10, Decimal("0.01"))


SBER, GAZP = _inst("SBER"), _inst("GAZP")


def _trade(code: str, n: int) -> MarketTrade:
    return MarketTrade(code, T0 + timedelta(seconds=n), Decimal(100 + n), 1, Side.BUY)


class ScriptedFeed:
    """A broker that streams books and the tape; each call can be told to fail."""

    name = "scripted"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail: set[str] = set()
        self.history: dict[str, list[MarketTrade]] = {}
        self.asked: list[tuple[str, datetime, datetime]] = []

    def _call(self, what: str, inst: Instrument) -> None:
        self.calls.append((what, inst.code))
        if what in self.fail:
            raise ConnectionError(f"{what} refused")

    async def subscribe_order_book(self, instrument: Instrument, depth: int) -> None:
        self._call("book", instrument)

    async def unsubscribe_order_book(self, instrument: Instrument) -> None:
        self._call("unbook", instrument)

    async def subscribe_trades(self, instrument: Instrument) -> None:
        self._call("trades", instrument)

    async def order_book(self, instrument: Instrument, depth: int) -> OrderBook:
        raise NotImplementedError

    async def last_trades(
        self, instrument: Instrument, begin: datetime, end: datetime
    ) -> list[MarketTrade]:
        self._call("last", instrument)
        self.asked.append((instrument.code, begin, end))
        return list(self.history.get(instrument.code, []))


class MemoryTicks:
    """A tick store in memory: ``merge`` can fail, ``last_ts`` is what was stored."""

    def __init__(self) -> None:
        self.rows: dict[str, list[MarketTrade]] = {}
        self.fail: set[str] = set()
        self.last: dict[str, datetime] = {}
        self.while_failing: Any = None  # what happens elsewhere during a failing write

    def merge(self, code: str, uid: str, trades: list[MarketTrade], source: str) -> None:
        if code in self.fail:
            if self.while_failing is not None:
                self.while_failing()
            raise OSError("disk full")
        self.rows.setdefault(code, []).extend(trades)

    def last_ts(self, code: str) -> datetime | None:
        if code == "MOEX_SHARE_BROKEN":
            raise OSError("unreadable")
        return self.last.get(code)


def _recording(broker: ScriptedFeed, store: MemoryTicks, **kw: Any) -> MarketFeed:
    return MarketFeed(broker, record=True, store=store, **kw)  # type: ignore[arg-type]


def test_a_full_buffer_drops_the_oldest_trades(caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryTicks()
    recorder = TickRecorder(store, "test", lambda code: "uid", max_buffer=3)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, "avin.market_feed"):
        for n in range(5):
            recorder.add(_trade(SBER.code, n))
    assert recorder.pending == 3 and recorder.dropped == 2
    assert "buffer full, 1 oldest trades dropped" in caplog.text
    assert recorder.flush() == 3
    assert [t.ts for t in store.rows[SBER.code]] == [_trade(SBER.code, n).ts for n in (2, 3, 4)]
    assert recorder.flush() == 0  # nothing buffered


def test_a_failed_write_keeps_the_trades_in_order_for_the_next_flush(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryTicks()
    recorder = TickRecorder(store, "test", lambda code: "uid")  # type: ignore[arg-type]
    for n in range(2):
        recorder.add(_trade(SBER.code, n))
        recorder.add(_trade(GAZP.code, n))
    store.fail = {SBER.code}
    # a trade arrives (from the stream's thread) while the write fails: it stays after the kept
    store.while_failing = lambda: recorder.add(_trade(SBER.code, 7))
    with caplog.at_level(logging.ERROR, "avin.market_feed"):
        assert recorder.flush() == 2  # GAZP written, SBER kept
    assert "writing 2 trades of MOEX_SHARE_SBER failed: disk full" in caplog.text
    assert recorder.failures == 1 and recorder.pending == 3
    recorder.add(_trade(SBER.code, 9))
    store.fail = set()
    assert recorder.flush() == 4
    prices = [t.price for t in store.rows[SBER.code]]
    assert prices == [Decimal(100), Decimal(101), Decimal(107), Decimal(109)]
    assert recorder.written == 6


async def test_a_book_watched_before_its_instrument_is_known_comes_with_the_start() -> None:
    broker = ScriptedFeed()
    feed = MarketFeed(broker)
    await feed.watch(SBER.code, 10)  # unknown yet: remembered, nothing asked
    assert broker.calls == [] and feed.watched == {SBER.code: 10}
    await feed.start([SBER, GAZP])
    assert broker.calls == [("trades", SBER.code), ("book", SBER.code)]
    await feed.watch(SBER.code, 10)  # the same depth again: nothing more asked
    assert len(broker.calls) == 2
    await feed.watch(SBER.code, 0)
    assert broker.calls[-1] == ("unbook", SBER.code) and feed.watched == {}
    await feed.watch(SBER.code, 0)  # not watched: nothing to stop
    assert len(broker.calls) == 3


async def test_failed_subscriptions_are_logged_and_the_feed_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = ScriptedFeed()
    feed = MarketFeed(broker)
    await feed.start([SBER])
    broker.fail = {"trades", "book", "unbook"}
    with caplog.at_level(logging.WARNING, "avin.market_feed"):
        await feed.watch(SBER.code, 20)
    assert "trades of MOEX_SHARE_SBER not subscribed: trades refused" in caplog.text
    assert "order book of MOEX_SHARE_SBER not subscribed: book refused" in caplog.text
    assert feed.taped == set()  # the tape is asked for again next time
    await feed.watch(SBER.code, 0)  # a failing unsubscribe is swallowed
    assert feed.watched == {} and broker.calls[-1] == ("unbook", SBER.code)
    feed.watched["MOEX_SHARE_NOPE"] = 10
    await feed.watch("MOEX_SHARE_NOPE", 0)  # never known: nothing to unsubscribe
    assert broker.calls[-1] == ("unbook", SBER.code)


def test_events_that_are_not_market_data_are_declined() -> None:
    feed = MarketFeed(ScriptedFeed())
    assert not feed.on_event(object())
    assert feed.on_event(TradeEvent(_trade(SBER.code, 1)))
    assert feed.tape(SBER.code, 0) == [] and feed.tape(GAZP.code, 5) == []
    assert len(feed.tape(SBER.code, 5)) == 1 and feed.version == 1


async def test_nothing_runs_or_catches_up_without_a_recorder() -> None:
    feed = MarketFeed(ScriptedFeed())
    await asyncio.wait_for(feed.run(), 5)  # returns at once
    assert await feed.catch_up([SBER]) == 0
    await feed.flush()
    assert feed.recorder is None


async def test_catch_up_fills_the_gap_since_the_last_stored_trade(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker, store = ScriptedFeed(), MemoryTicks()
    feed = _recording(broker, store)
    broken = _inst("BROKEN")
    store.last[SBER.code] = T0
    broker.history[SBER.code] = [_trade(SBER.code, 0), _trade(SBER.code, 1)]
    with caplog.at_level(logging.WARNING, "avin.market_feed"):
        found = await feed.catch_up([SBER, GAZP, broken])
    assert found == 2
    assert broker.asked == [(SBER.code, T0, T0 + CATCH_UP_REACH)]  # GAZP: nothing stored yet
    assert "tape of MOEX_SHARE_BROKEN: the gap since the last run stays open" in caplog.text
    assert len(store.rows[SBER.code]) == 2  # flushed at once
    broker.history.clear()
    assert await feed.catch_up([SBER]) == 0


async def test_run_catches_up_then_flushes_until_cancelled() -> None:
    broker, store = ScriptedFeed(), MemoryTicks()
    feed = _recording(broker, store, flush_every=0.001)
    await feed.start([SBER])
    task = asyncio.create_task(feed.run())
    feed.on_event(TradeEvent(_trade(SBER.code, 5)))
    for _ in range(2000):  # bounded wait for a periodic flush
        if store.rows.get(SBER.code):
            break
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [t.price for t in store.rows[SBER.code]] == [Decimal(105)]


async def test_a_flush_that_breaks_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = _recording(ScriptedFeed(), MemoryTicks())
    assert feed.recorder is not None

    def broken() -> int:
        raise RuntimeError("lock poisoned")

    monkeypatch.setattr(feed.recorder, "flush", broken)
    with caplog.at_level(logging.ERROR, "avin.market_feed"):
        await feed.flush()
    assert "tick recorder: lock poisoned" in caplog.text


async def test_a_book_event_replaces_the_last_book() -> None:
    feed = MarketFeed(ScriptedFeed())
    book = OrderBook(SBER.code, T0, (), (), 10)
    assert feed.on_event(BookEvent(book))
    assert feed.book(SBER.code) is book and feed._uid(SBER.code) == ""
    await feed.start([SBER])
    assert feed._uid(SBER.code) == "uid-SBER"


async def test_a_broker_without_market_depth_offers_nothing_and_records_nothing() -> None:
    feed = MarketFeed(object(), record=True)
    assert not feed.available and feed.recorder is None
    await feed.start([SBER])
    assert feed.instruments == {} and feed.taped == set()
    assert MarketFeed(ScriptedFeed()).available
