"""Download bars and trades of any :class:`DataSource` into the stores.

Bars: the UTC days from ``since`` to ``until`` (inclusive) are cut into chunks of
``source.chunk_days(tf)`` days; each chunk is one :meth:`DataSource.bars` call (many ISS pages)
and is merged into the store only once every page of it arrived, so a failure leaves the store
as it was before that chunk: whole days or nothing. Bars of a frame that has not ended yet (the
minute, or the day, in progress) are not stored.

Resume: the days a source delivered whole are recorded in
``downloads/<CODE>/<source>-<TF>.json`` (``{"from": ..., "through": ...}``, one contiguous run;
``<source>`` is the source's ``coverage_key`` when it has one, e.g. ``moex-iss-TQBR``);
a rerun skips them. Today is never recorded (it is still growing). ``update`` instead starts at
the day of the last stored bar (that day is fetched again: the merge is idempotent).

1-minute bars go to the store every load derives from (``bars/<CODE>/1M``); other timeframes a
source serves go beside it (``bars/<CODE>/<TF>``), same schema.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from engine.data.atomic import write_text_atomic
from engine.data.errors import DataError
from engine.data.sources.protocol import DataSource
from engine.data.store import BarStore
from engine.data.ticks import TickStore
from engine.model import TimeFrame, as_utc
from engine.paths import homes

DEFAULT_DAYS = 30
ChunkHook = Callable[[str, int, int], None]  # (code, chunks done, chunks in all)


@dataclass(slots=True)
class FetchResult:
    """One instrument's download: the range, what came and what was stored."""

    code: str
    timeframe: TimeFrame
    since: date | None = None
    until: date | None = None
    chunks: int = 0  # chunks fetched and stored
    skipped_days: int = 0  # days recorded as complete by an earlier run
    bars: int = 0  # bars received (complete frames)
    added: int = 0  # rows new to the store
    invalid: int = 0  # rows the source sent that are not valid bars
    remainders: int = 0  # volumes that were not a whole number of lots
    error: str = ""
    seconds: float = 0.0


@dataclass(slots=True)
class TradesResult:
    code: str
    days: list[date] = field(default_factory=list)
    trades: int = 0
    added: int = 0
    invalid: int = 0
    remainders: int = 0
    error: str = ""


class Coverage:
    """The contiguous run of whole days a source delivered for one instrument and timeframe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.first: date | None = None
        self.through: date | None = None
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self.first = date.fromisoformat(data["from"])
                self.through = date.fromisoformat(data["through"])
            except (OSError, ValueError, KeyError, TypeError):
                self.first = self.through = None  # a damaged record only costs a re-download

    def covers(self, day: date) -> bool:
        return (
            self.first is not None
            and self.through is not None
            and (self.first <= day <= self.through)
        )

    def extend(self, first: date, through: date) -> None:
        """Record ``[first, through]`` as whole; kept only when it touches the recorded run."""
        if self.first is None or self.through is None:
            self.first, self.through = first, through
        elif first <= self.through + timedelta(days=1) and through >= self.first - timedelta(
            days=1
        ):
            self.first, self.through = min(self.first, first), max(self.through, through)
        else:
            self.first, self.through = first, through  # a new run replaces an unconnected one
        text = json.dumps({"from": self.first.isoformat(), "through": self.through.isoformat()})
        write_text_atomic(self.path, text)


def downloads_dir() -> Path:
    return homes().data / "downloads"


def bar_store(timeframe: TimeFrame, root: Path | None = None) -> BarStore:
    return BarStore(root, timeframe=timeframe.code)


def day_chunks(days: Sequence[date], size: int) -> list[tuple[date, date]]:
    """Consecutive runs of ``days`` (sorted) cut into chunks of at most ``size`` days."""
    out: list[tuple[date, date]] = []
    for day in days:
        if out and day == out[-1][1] + timedelta(days=1) and (day - out[-1][0]).days < size:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _complete(frame: pl.DataFrame, timeframe: TimeFrame, now: datetime) -> pl.DataFrame:
    """Only bars whose frame has ended by ``now``."""
    if frame.is_empty():
        return frame
    if timeframe.step is not None:
        return frame.filter(pl.col("ts") + timeframe.step <= now)
    keep = [timeframe.next(ts) <= now for ts in frame["ts"].to_list()]
    return frame.filter(pl.Series(keep, dtype=pl.Boolean))


async def fetch_bars(
    source: DataSource,
    queries: Sequence[str],
    *,
    timeframe: TimeFrame = TimeFrame.M1,
    since: date | None = None,
    until: date | None = None,
    continue_from_store: bool = False,
    root: Path | None = None,
    folder: Path | None = None,
    now: datetime | None = None,
    on_chunk: ChunkHook | None = None,
) -> list[FetchResult]:
    """Download bars of each query into the store; one result per query (see the module doc).

    ``continue_from_store``: start at the day of the last stored bar (``avin data update``);
    ``since`` is then the start when nothing is stored (default: 30 days back).
    """
    if timeframe not in source.timeframes:
        served = " ".join(tf.code for tf in source.timeframes)
        raise DataError(
            f"the {source.name} source has no {timeframe.code} bars",
            f"Use --tf with one of: {served}",
        )
    moment = as_utc(now) if now is not None else datetime.now(UTC)
    today = moment.date()
    last_day = min(until, today) if until is not None else today
    store = bar_store(timeframe, root)
    folder = folder if folder is not None else downloads_dir()
    results = []
    for query in queries:
        result = FetchResult(query.upper(), timeframe)
        results.append(result)
        started = time.perf_counter()
        try:
            await _fetch_one(
                source, query, result, store, folder, timeframe, since, last_day, today,
                continue_from_store, moment, on_chunk,
            )  # fmt: skip
        except DataError as exc:
            result.error = exc.describe()
        except Exception as exc:  # a broker failure: keep going with the other instruments
            describe = getattr(exc, "describe", None)
            result.error = describe() if callable(describe) else f"{type(exc).__name__}: {exc}"
        result.seconds = time.perf_counter() - started
        notes = getattr(source, "notes", {}).get(result.code)
        if notes is not None:
            result.invalid, result.remainders = notes.invalid, notes.remainders
    return results


async def _fetch_one(
    source: DataSource,
    query: str,
    result: FetchResult,
    store: BarStore,
    folder: Path,
    timeframe: TimeFrame,
    since: date | None,
    last_day: date,
    today: date,
    continue_from_store: bool,
    moment: datetime,
    on_chunk: ChunkHook | None,
) -> None:
    instrument = await source.instrument(query)
    code = result.code = instrument.code
    first = since
    if continue_from_store:
        last = store.last_ts(code)
        if last is not None:
            first = as_utc(last).date()
    if first is None:
        first = today - timedelta(days=DEFAULT_DAYS)
    result.since, result.until = first, last_day
    key = getattr(source, "coverage_key", source.name)  # optional: a source's own scope
    coverage = Coverage(folder / code / f"{key}-{timeframe.code}.json")
    days = []
    day = first
    while day <= last_day:
        if coverage.covers(day) and day < today:
            result.skipped_days += 1
        else:
            days.append(day)
        day += timedelta(days=1)
    chunks = day_chunks(days, source.chunk_days(timeframe))
    uid = instrument.uid or store.uid(code)
    for number, (lo, hi) in enumerate(chunks, 1):
        frame = await source.bars(instrument, timeframe, _midnight(lo), _midnight(hi) + _DAY)
        frame = _complete(frame, timeframe, moment)
        if not frame.is_empty():
            result.added += store.merge(code, uid, frame, source.name).added
        result.bars += frame.height
        result.chunks += 1
        whole_through = min(hi, today - _DAY)
        if whole_through >= lo:
            coverage.extend(lo, whole_through)
        if on_chunk is not None:
            on_chunk(code, number, len(chunks))


_DAY = timedelta(days=1)


async def fetch_trades(
    source: DataSource,
    queries: Sequence[str],
    *,
    day: date | None = None,
    store: TickStore | None = None,
) -> list[TradesResult]:
    """One day's trades of each query into the tick store (one merge per instrument: a failed
    page stores nothing)."""
    store = store if store is not None else TickStore()
    results = []
    for query in queries:
        result = TradesResult(query.upper())
        results.append(result)
        try:
            instrument = await source.instrument(query)
            result.code = instrument.code
            frame = await source.trades(instrument, day)
            result.trades = frame.height
            if not frame.is_empty():
                merged = store.merge(instrument.code, instrument.uid, frame, source.name)
                result.added = merged.added
                result.days = sorted(set(frame["ts"].dt.date().to_list()))
        except DataError as exc:
            result.error = exc.describe()
        except Exception as exc:
            describe = getattr(exc, "describe", None)
            result.error = describe() if callable(describe) else f"{type(exc).__name__}: {exc}"
        notes = getattr(source, "notes", {}).get(result.code)
        if notes is not None:
            result.invalid, result.remainders = notes.invalid, notes.remainders
    return results
