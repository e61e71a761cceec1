"""``avin data update``: fill the store from the last stored bar to now with broker candles.

Requests are chunked by the broker's per-interval window limits (1-minute candles: one day per
request). Only complete candles are stored: a bar whose minute has not ended yet is dropped. Bars
that fail validation are counted and skipped. Fetched bars are merged every ``FLUSH_CHUNKS``
requests, so an interrupted update keeps what it fetched and the next run resumes from there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from engine.data.errors import DataError, UnknownInstrumentError
from engine.data.instruments import InstrumentCache
from engine.data.schema import BAR_SCHEMA
from engine.data.store import BarStore
from engine.model import Bar, Instrument, TimeFrame, as_utc

WINDOWS: dict[TimeFrame, timedelta] = {
    TimeFrame.M1: timedelta(days=1),
    TimeFrame.M5: timedelta(days=7),
    TimeFrame.M10: timedelta(days=7),
    TimeFrame.M15: timedelta(days=21),
    TimeFrame.H1: timedelta(days=90),
    TimeFrame.H4: timedelta(days=90),
    TimeFrame.D: timedelta(days=6 * 365),
}
"""The largest ``GetCandles`` window per interval (a larger one is rejected with 30014)."""

DEFAULT_DAYS = 30
FLUSH_CHUNKS = 20


@dataclass(frozen=True, slots=True)
class UpdateResult:
    code: str
    begin: datetime | None
    end: datetime | None
    requests: int = 0
    fetched: int = 0
    added: int = 0
    invalid: int = 0
    error: str = ""


def chunks(begin: datetime, end: datetime, window: timedelta) -> list[tuple[datetime, datetime]]:
    """``[begin, end)`` cut into consecutive windows of at most ``window``."""
    out = []
    start = begin
    while start < end:
        stop = min(start + window, end)
        out.append((start, stop))
        start = stop
    return out


def bars_frame(bars: Sequence[Bar]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [as_utc(bar.ts) for bar in bars],
            "open": [float(bar.open) for bar in bars],
            "high": [float(bar.high) for bar in bars],
            "low": [float(bar.low) for bar in bars],
            "close": [float(bar.close) for bar in bars],
            "volume": [int(bar.volume) for bar in bars],
        },
        schema=BAR_SCHEMA,
    )


async def update_instrument(
    broker: Any,
    instrument: Instrument,
    store: BarStore,
    *,
    now: datetime,
    since: datetime | None = None,
    source: str = "broker",
    on_chunk: Callable[[int, int], None] | None = None,
) -> UpdateResult:
    """Fill ``instrument`` from its last stored bar (or ``since``) to the last complete minute."""
    code = instrument.code
    end = TimeFrame.M1.floor(now)  # bars starting before this minute are complete
    last = store.last_ts(code)
    if last is not None:
        begin = last + timedelta(minutes=1)
    elif since is not None:
        begin = as_utc(since)
    else:
        begin = TimeFrame.D.floor(now) - timedelta(days=DEFAULT_DAYS)
    if since is not None and last is not None:
        begin = min(begin, as_utc(since))
    windows = chunks(begin, end, WINDOWS[TimeFrame.M1])
    pending: list[Bar] = []
    fetched = added = invalid = 0
    uid = instrument.uid or store.uid(code)
    for number, (lo, hi) in enumerate(windows, 1):
        bars = await broker.candles(instrument, TimeFrame.M1, lo, hi)
        for bar in bars:
            ts = as_utc(bar.ts)
            if not (lo <= ts < hi) or ts >= end:
                continue  # outside the window, or the minute is still in progress
            if bar.validate() is not None or ts.second or ts.microsecond:
                invalid += 1
                continue
            pending.append(bar)
        fetched += len(bars)
        if on_chunk is not None:
            on_chunk(number, len(windows))
        if number % FLUSH_CHUNKS == 0 or number == len(windows):
            if pending:
                added += store.merge(code, uid, bars_frame(pending), source).added
            pending = []
    return UpdateResult(code, begin, end, len(windows), fetched, added, invalid)


async def update_async(
    queries: Sequence[str],
    *,
    broker: Any,
    store: BarStore | None = None,
    cache: InstrumentCache | None = None,
    now: datetime | None = None,
    since: datetime | None = None,
    source: str | None = None,
    on_chunk: Callable[[str, int, int], None] | None = None,
) -> list[UpdateResult]:
    """Update the named instruments (all stored ones when ``queries`` is empty)."""
    store = store if store is not None else BarStore()
    cache = cache if cache is not None else InstrumentCache()
    moment = as_utc(now) if now is not None else datetime.now(UTC)
    label = source or f"broker:{getattr(broker, 'name', 'unknown')}"
    targets = list(queries) or store.codes()
    results = []
    for query in targets:
        try:
            instrument = await _find(broker, cache, query)
            code = instrument.code

            def progress(done: int, total: int, code: str = code) -> None:
                if on_chunk is not None:
                    on_chunk(code, done, total)

            results.append(
                await update_instrument(
                    broker,
                    instrument,
                    store,
                    now=moment,
                    since=since,
                    source=label,
                    on_chunk=progress,
                )
            )
        except (DataError, UnknownInstrumentError) as exc:
            results.append(UpdateResult(query.upper(), None, None, error=exc.describe()))
        except Exception as exc:  # a broker failure: keep going with the other instruments
            message = getattr(exc, "describe", None)
            text = message() if callable(message) else f"{exc.__class__.__name__}: {exc}"
            results.append(UpdateResult(query.upper(), None, None, error=str(text)))
    return results


async def _find(broker: Any, cache: InstrumentCache, query: str) -> Instrument:
    """The broker's instrument (its uid is what candles need), else the cached one."""
    try:
        found = await broker.find_instrument(query)
    except Exception:
        found = None
    if isinstance(found, Instrument):
        return found
    return cache.find(query)


def update(queries: Sequence[str], **kwargs: Any) -> list[UpdateResult]:
    """Synchronous :func:`update_async` (runs its own event loop)."""
    return asyncio.run(update_async(queries, **kwargs))
