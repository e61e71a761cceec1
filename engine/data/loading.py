"""``load_bars``: bars of any timeframe for a time range, from the store.

Loading reads only the year files that overlap the range (whole frames: for W and M the 1-minute
bars from the start of the first frame to the end of the last one), derives the timeframe with
:mod:`engine.data.timeframes` and keeps the bars whose frame start lies in ``[begin, end)``.
Decoded year files are kept in a small in-process LRU cache keyed by path, size and mtime, so a
chart that reloads or switches timeframes does not read the disk again; a changed file is re-read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from engine.data.errors import MissingDataError, UnknownInstrumentError
from engine.data.instruments import InstrumentCache
from engine.data.schema import BAR_SCHEMA, empty_bars
from engine.data.store import BarStore, read_bars_file
from engine.data.timeframes import derive, derive_all
from engine.model import Instrument, TimeFrame, as_utc, parse_code

CACHE_FILES = 8

_cache: OrderedDict[tuple[str, int, int, int], pl.DataFrame] = OrderedDict()
_lock = threading.Lock()

TimeLike = datetime | date


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def resolve_code(
    instrument: Instrument | str,
    *,
    store: BarStore | None = None,
    cache: InstrumentCache | None = None,
) -> str:
    """The store code of an Instrument, a code, a ticker, a uid or a figi."""
    if isinstance(instrument, Instrument):
        return instrument.code
    store = store if store is not None else BarStore()
    text = instrument.strip()
    try:
        exchange, category, ticker = parse_code(text)
        code = f"{exchange}_{category}_{ticker}"
    except ValueError:
        code = ""
    if code and store.has(code):
        return code
    found = (cache if cache is not None else InstrumentCache()).get(text)
    if found is not None:
        return found.code
    if code:
        return code
    raise UnknownInstrumentError(
        f"unknown instrument {instrument!r}",
        "Use a code like MOEX_SHARE_SBER or a ticker like SBER; "
        "`avin data instruments` lists the known ones.",
    )


def to_utc(value: TimeLike) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _read_cached(path: Path) -> pl.DataFrame:
    stat = path.stat()
    key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _lock:
        frame = _cache.get(key)
        if frame is not None:
            _cache.move_to_end(key)
            return frame
    frame = read_bars_file(path)
    with _lock:
        _cache[key] = frame
        while len(_cache) > CACHE_FILES:
            _cache.popitem(last=False)
    return frame


def read_minutes(code: str, begin: datetime, end: datetime, store: BarStore) -> pl.DataFrame:
    """Stored 1-minute bars of ``code`` with ``begin <= ts < end``."""
    years = range(begin.year, (end - timedelta(microseconds=1)).year + 1)
    frames = [_read_cached(path) for path in store.files(code, years)]
    if not frames:
        return empty_bars()
    frame = frames[0] if len(frames) == 1 else pl.concat(frames)
    first, last = frame["ts"][0], frame["ts"][-1]
    if first >= begin and last < end:
        return frame
    return frame.filter((pl.col("ts") >= begin) & (pl.col("ts") < end))


def _span(timeframe: TimeFrame, begin: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The 1-minute range that covers every ``timeframe`` frame starting in [begin, end)."""
    return timeframe.floor(begin), timeframe.next(end - timedelta(microseconds=1))


def load_bars(
    instrument: Instrument | str,
    timeframe: TimeFrame | str,
    begin: TimeLike,
    end: TimeLike,
    *,
    store: BarStore | None = None,
) -> pl.DataFrame:
    """Bars of ``timeframe`` whose frame start is in ``[begin, end)`` (columns ts, open, high,
    low, close, volume; ``ts`` UTC ns). Raises :class:`MissingDataError` when there are none."""
    tf = timeframe if isinstance(timeframe, TimeFrame) else TimeFrame.from_code(timeframe)
    return load_timeframes(instrument, [tf], begin, end, store=store)[tf]


def load_timeframes(
    instrument: Instrument | str,
    timeframes: list[TimeFrame] | None,
    begin: TimeLike,
    end: TimeLike,
    *,
    store: BarStore | None = None,
) -> dict[TimeFrame, pl.DataFrame]:
    """Several timeframes (all by default) over one read of the 1-minute bars."""
    store = store if store is not None else BarStore()
    code = resolve_code(instrument, store=store)
    wanted = list(TimeFrame) if timeframes is None else list(timeframes)
    start, stop = to_utc(begin), to_utc(end)
    if stop <= start:
        raise ValueError(f"empty range: begin {start:%Y-%m-%d %H:%M} is not before end {stop}")
    coarsest = max(wanted, key=_frame_length)
    lo, hi = _span(coarsest, start, stop)
    minutes = read_minutes(code, lo, hi, store)
    if len(wanted) == 1:
        frames = {wanted[0]: derive(minutes, wanted[0])}
    else:
        frames = derive_all(minutes, wanted)
    result: dict[TimeFrame, pl.DataFrame] = {}
    for tf in wanted:
        frame = frames[tf]
        if frame.height and (frame["ts"][0] < start or frame["ts"][-1] >= stop):
            frame = frame.filter((pl.col("ts") >= start) & (pl.col("ts") < stop))
        if frame.is_empty():
            raise missing_error(code, tf, start, stop, store)
        result[tf] = frame
    return result


def _frame_length(tf: TimeFrame) -> timedelta:
    return tf.step or timedelta(days=31)


def missing_error(
    code: str, timeframe: TimeFrame, begin: datetime, end: datetime, store: BarStore
) -> MissingDataError:
    ticker = code.rsplit("_", 1)[-1]
    bounds = store.bounds(code)
    if bounds is None:
        stored = "nothing is stored for it"
    else:
        stored = f"the store holds {bounds[0]:%Y-%m-%d %H:%M} .. {bounds[1]:%Y-%m-%d %H:%M} UTC"
    return MissingDataError(
        f"no {timeframe.code} bars of {code} in [{begin:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M}) "
        f"UTC: {stored}",
        f"Fetch them with `avin data download {ticker} --from-year {begin.year}` "
        f"(history archives) or `avin data update {ticker}` (recent bars from the broker).",
    )


__all__ = [
    "BAR_SCHEMA",
    "clear_cache",
    "load_bars",
    "load_timeframes",
    "missing_error",
    "read_minutes",
    "resolve_code",
]
