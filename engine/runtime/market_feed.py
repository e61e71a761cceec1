"""Order books and the tape while the robot runs: for the UI's depth view and the tick recorder.

:class:`MarketFeed` keeps the last ``tape_size`` trades (the tape) and the newest order book of
each instrument when the broker offers them (:class:`engine.broker.base.MarketDepthFeed`). It
subscribes the tape of every instrument on the engine's charts when it records (below), else the
tape of an instrument once someone looks at it; an order book only while someone looks at it
(:meth:`watch`). With a :class:`TickRecorder` every trade goes to
the tick store (``engine.data.ticks``): buffered, written every ``flush_every`` seconds and at
shutdown, off the event loop; after a restart it first asks the broker for the trades since the
newest stored one (``last_trades``: T-Invest reaches back an hour), so a crash or a restart within
the hour leaves no gap in the store. A failed write is logged and retried with the next flush; nothing
is dropped unless the buffer passes ``max_buffer`` trades (then the oldest go, with a warning).
Nothing here can stop the engine: every error is caught and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from engine.broker.base import BookEvent, MarketDepthFeed, TradeEvent, depth_feed
from engine.data.ticks import TickStore
from engine.model import Instrument, MarketTrade, OrderBook

log = logging.getLogger("avin.market_feed")

TAPE_SIZE = 200
FLUSH_EVERY = 10.0
MAX_BUFFER = 1_000_000
CATCH_UP_REACH = timedelta(hours=1)  # GetLastTrades' reach


class TickRecorder:
    """Buffers trades and merges them into the tick store (thread-safe ``add`` / ``flush``)."""

    def __init__(
        self,
        store: TickStore,
        source: str,
        uid_of: Callable[[str], str],
        max_buffer: int = MAX_BUFFER,
    ) -> None:
        self.store = store
        self.source = source
        self.uid_of = uid_of
        self.max_buffer = max_buffer
        self.written = 0
        self.failures = 0
        self.dropped = 0
        self._buffer: list[MarketTrade] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def add(self, trade: MarketTrade) -> None:
        with self._lock:
            self._buffer.append(trade)
            if len(self._buffer) > self.max_buffer:
                excess = len(self._buffer) - self.max_buffer
                del self._buffer[:excess]
                self.dropped += excess
                log.warning("tick recorder: buffer full, %d oldest trades dropped", excess)

    def flush(self) -> int:
        """Write what is buffered; returns the trades written (0 on failure: kept for later)."""
        with self._flushing:
            with self._lock:
                batch, self._buffer = self._buffer, []
            if not batch:
                return 0
            by_code: dict[str, list[MarketTrade]] = {}
            for trade in batch:
                by_code.setdefault(trade.instrument, []).append(trade)
            done = 0
            for code, trades in by_code.items():
                try:
                    self.store.merge(code, self.uid_of(code), trades, self.source)
                    done += len(trades)
                except Exception as exc:
                    self.failures += 1
                    log.error(
                        "tick recorder: writing %d trades of %s failed: %s", len(trades), code, exc
                    )
                    with self._lock:
                        self._buffer[:0] = trades  # kept, in order, for the next flush
            self.written += done
            return done


class MarketFeed:
    """The engine's order books and tapes (see the module doc)."""

    def __init__(
        self,
        broker: object,
        *,
        record: bool = False,
        store: TickStore | None = None,
        tape_size: int = TAPE_SIZE,
        flush_every: float = FLUSH_EVERY,
    ) -> None:
        self.feed: MarketDepthFeed | None = depth_feed(broker)
        self.recorder: TickRecorder | None = None
        if record and self.feed is not None:
            source = f"broker:{getattr(broker, 'name', 'unknown')}"
            self.recorder = TickRecorder(store or TickStore(), source, self._uid)
        self.tape_size = tape_size
        self.flush_every = flush_every
        self.books: dict[str, OrderBook] = {}
        self.tapes: dict[str, deque[MarketTrade]] = {}
        self.watched: dict[str, int] = {}  # code -> depth of the subscribed book
        self.instruments: dict[str, Instrument] = {}
        self.taped: set[str] = set()  # codes whose tape is subscribed
        self.version = 0  # bumped on every book or trade (the UI redraws on a change)

    def _uid(self, code: str) -> str:
        inst = self.instruments.get(code)
        return inst.uid if inst is not None else ""

    @property
    def available(self) -> bool:
        return self.feed is not None

    async def start(self, instruments: list[Instrument]) -> None:
        """Know ``instruments``; subscribe their tape when recording, their book (and tape) when
        watched already. The engine calls it at start and for an instrument a worklist row
        brings later."""
        if self.feed is None:
            return
        for inst in instruments:
            self.instruments[inst.code] = inst
            depth = self.watched.get(inst.code)
            if self.recorder is not None or depth is not None:
                await self._subscribe_tape(inst)
            if depth is not None:
                await self._subscribe_book(inst.code, depth)

    async def _subscribe_tape(self, inst: Instrument) -> None:
        if self.feed is None or inst.code in self.taped:
            return
        try:
            await self.feed.subscribe_trades(inst)
            self.taped.add(inst.code)
        except Exception as exc:
            log.warning("trades of %s not subscribed: %s", inst.code, exc)

    def on_event(self, event: object) -> bool:
        """Take a BookEvent or TradeEvent; False for any other event."""
        if isinstance(event, TradeEvent):
            trade = event.trade
            tape = self.tapes.get(trade.instrument)
            if tape is None:
                tape = self.tapes[trade.instrument] = deque(maxlen=self.tape_size)
            tape.append(trade)
            if self.recorder is not None:
                self.recorder.add(trade)
            self.version += 1
            return True
        if isinstance(event, BookEvent):
            self.books[event.book.instrument] = event.book
            self.version += 1
            return True
        return False

    # --- the UI ------------------------------------------------------------------------------

    def book(self, code: str) -> OrderBook | None:
        return self.books.get(code)

    def tape(self, code: str, count: int) -> list[MarketTrade]:
        """The newest ``count`` trades of ``code``, newest first."""
        tape = self.tapes.get(code)
        if not tape or count <= 0:
            return []
        return list(reversed(list(tape)[-count:]))

    async def watch(self, code: str, depth: int) -> None:
        """Keep the order book of ``code`` coming (depth 0: stop it)."""
        if depth <= 0:
            if self.watched.pop(code, None) is not None and self.feed is not None:
                inst = self.instruments.get(code)
                if inst is not None:
                    with contextlib.suppress(Exception):
                        await self.feed.unsubscribe_order_book(inst)
            return
        if self.watched.get(code) == depth:
            return
        self.watched[code] = depth
        await self._subscribe_book(code, depth)

    async def _subscribe_book(self, code: str, depth: int) -> None:
        inst = self.instruments.get(code)
        if self.feed is None or inst is None:
            return
        await self._subscribe_tape(inst)  # the depth view shows the tape too
        try:
            await self.feed.subscribe_order_book(inst, depth)
        except Exception as exc:
            log.warning("order book of %s not subscribed: %s", code, exc)

    # --- recording ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Catch up with what the last run missed, then flush the recorder every
        ``flush_every`` seconds until cancelled."""
        if self.recorder is None:
            return
        await self.catch_up(list(self.instruments.values()))
        while True:
            await asyncio.sleep(self.flush_every)
            await self.flush()

    async def catch_up(self, instruments: list[Instrument]) -> int:
        """Record the trades since the newest stored one that the broker still has."""
        recorder, feed = self.recorder, self.feed
        if recorder is None or feed is None:
            return 0
        found = 0
        for inst in instruments:
            try:
                since = await asyncio.to_thread(recorder.store.last_ts, inst.code)
                if since is None:
                    continue
                end = min(datetime.now(UTC), since + CATCH_UP_REACH)
                trades = await feed.last_trades(inst, since, end)
            except Exception as exc:  # a gap in the store, never a stopped engine
                log.warning("tape of %s: the gap since the last run stays open: %s", inst.code, exc)
                continue
            for trade in trades:  # the one at ``since`` again: the store keeps it once
                recorder.add(trade)
            found += len(trades)
        if found:
            log.info("tick recorder: %d trades since the last run recovered from the broker", found)
            await self.flush()
        return found

    async def flush(self) -> None:
        """Write what is buffered (after a flush already under way: the last one at shutdown
        must not return while the one before it still writes)."""
        if self.recorder is None:
            return
        try:
            await asyncio.to_thread(self.recorder.flush)
        except Exception as exc:  # flush logs its own failures; this is a last resort
            log.error("tick recorder: %s", exc)
