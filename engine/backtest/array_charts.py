"""Charts over a whole bars frame, read at a cursor: what the backtest charts hold, built lazily.

The bar-by-bar backtest feeds every bar to :class:`~engine.backtest.charts.FrameChart` s. The sparse
backtest (:mod:`engine.backtest.sparse`) visits only some bars, so it cannot feed them; instead it
aggregates each timeframe once (:func:`engine.data.timeframes.derive` semantics) and moves a cursor:
:meth:`ArrayCharts.seek` to base bar ``i`` shows exactly what the fed charts show after bar ``i``
-- the same closed bars (a frame closes with its last base bar, or when a bar of a later frame
arrives), the same in-progress bar, the same depth -- and builds :class:`Bar` objects only for the
bars a strategy reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import overload

import numpy as np

from engine.data.timeframes import frame_starts
from engine.model import Bar, TimeFrame
from engine.strategy.chart import DEFAULT_DEPTH, Chart, InstrumentCharts

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NEVER = np.iinfo(np.int64).max


@lru_cache(maxsize=4096)  # a visited bar's end is the next bar's start: asked for twice
def ns_to_datetime(ns: int) -> datetime:
    return _EPOCH + timedelta(0, ns // 1_000_000_000, ns // 1000 % 1_000_000)  # positional: fast


def frame_ends(starts: np.ndarray, timeframe: TimeFrame) -> np.ndarray:
    """The end (= the next frame's start, ns) of frames starting at ``starts``."""
    if timeframe is TimeFrame.MONTH:
        months = starts.astype("datetime64[ns]").astype("datetime64[M]") + 1
        return months.astype("datetime64[ns]").astype(np.int64)
    if timeframe is TimeFrame.W:
        return starts + 7 * 86_400 * 1_000_000_000
    step = timeframe.step
    assert step is not None
    return starts + int(step.total_seconds()) * 1_000_000_000


@dataclass(frozen=True, slots=True)
class BaseColumns:
    """The base bars of a run as NumPy columns (read one value with ``.item(i)``: a Python
    scalar) plus their ns timestamps."""

    base: TimeFrame
    ts: np.ndarray  # int64 ns, strictly increasing
    open: np.ndarray  # float64
    high: np.ndarray  # float64
    low: np.ndarray  # float64
    close: np.ndarray  # float64
    volume: np.ndarray  # int64
    ends: np.ndarray  # int64 ns: the end of each base bar's frame

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True, slots=True)
class FrameLayout:
    """One timeframe over the base bars: its bars and when each closes."""

    timeframe: TimeFrame
    ts: np.ndarray  # int64 ns frame starts
    open: np.ndarray  # float64
    high: np.ndarray  # float64
    low: np.ndarray  # float64
    close: np.ndarray  # float64
    volume: np.ndarray  # int64
    first: np.ndarray  # index of each frame's first base bar
    close_at: np.ndarray  # base index at which each frame closes (huge: never, the last one)
    group: np.ndarray  # per base bar: the index of its frame
    is_base: bool  # the base timeframe itself: frame m is base bar m and closes with it

    def __len__(self) -> int:
        return len(self.ts)

    def bar(self, m: int) -> Bar:
        return Bar(
            ns_to_datetime(self.ts.item(m)),
            self.open.item(m),
            self.high.item(m),
            self.low.item(m),
            self.close.item(m),
            self.volume.item(m),
        )

    def closed_count(self, at: int) -> int:
        """How many frames have closed once base bar ``at`` is in (``at`` >= 0)."""
        if self.is_base:
            return min(at + 1, len(self.ts))
        return int(np.searchsorted(self.close_at, at, side="right"))


def layout(cols: BaseColumns, timeframe: TimeFrame) -> FrameLayout:
    """``timeframe`` bars from the base bars, and the base index at which each closes."""
    n = len(cols)
    if timeframe is cols.base:
        index = np.arange(n, dtype=np.int64)
        return FrameLayout(
            timeframe,
            cols.ts,
            cols.open,
            cols.high,
            cols.low,
            cols.close,
            cols.volume,
            index,
            index,
            index,
            True,
        )
    starts_ns = frame_starts(cols.ts, timeframe)
    first = np.flatnonzero(np.diff(starts_ns, prepend=starts_ns[:1] - 1) != 0) if n else starts_ns
    last = np.empty_like(first)
    if n:
        last[:-1] = first[1:] - 1
        last[-1] = n - 1
    frame_ts = starts_ns[first]
    complete = cols.ends[last] == frame_ends(frame_ts, timeframe)
    close_at = np.where(complete, last, np.append(first[1:], _NEVER) if n else first)
    group = np.repeat(np.arange(len(first), dtype=np.int64), np.diff(np.append(first, n)))
    empty = np.empty(0, dtype=np.float64)
    return FrameLayout(
        timeframe,
        frame_ts,
        cols.open[first],
        np.maximum.reduceat(cols.high, first) if n else empty,
        np.minimum.reduceat(cols.low, first) if n else empty,
        cols.close[last],
        np.add.reduceat(cols.volume, first) if n else np.empty(0, dtype=np.int64),
        first,
        close_at.astype(np.int64),
        group,
        False,
    )


class _Window(Sequence[Bar]):
    """Bars ``lo..hi-1`` of a layout, built on access (what the chart's deque would hold)."""

    def __init__(self, frames: FrameLayout, lo: int, hi: int) -> None:
        self._frames, self._lo, self._hi = frames, lo, hi

    def __len__(self) -> int:
        return self._hi - self._lo

    @overload
    def __getitem__(self, index: int) -> Bar: ...
    @overload
    def __getitem__(self, index: slice) -> list[Bar]: ...
    def __getitem__(self, index: int | slice) -> Bar | list[Bar]:
        if isinstance(index, slice):
            return [self._frames.bar(self._lo + k) for k in range(*index.indices(len(self)))]
        size = len(self)
        k = index + size if index < 0 else index
        if not 0 <= k < size:
            raise IndexError(index)
        return self._frames.bar(self._lo + k)

    def __iter__(self) -> Iterator[Bar]:
        return (self._frames.bar(m) for m in range(self._lo, self._hi))

    def __reversed__(self) -> Iterator[Bar]:
        return (self._frames.bar(m) for m in range(self._hi - 1, self._lo - 1, -1))


class ArrayChart(Chart):
    """A read-only :class:`Chart` of one timeframe at the cursor of its :class:`ArrayCharts`."""

    def __init__(self, owner: ArrayCharts, frames: FrameLayout, depth: int) -> None:
        super().__init__(owner.instrument, frames.timeframe, depth)
        self._owner = owner
        self._frames = frames
        self._depth = depth
        self._at = -2  # the base index the closed count was computed for
        self._count = 0

    def update(self, bar: Bar, closed: bool) -> list[Bar]:
        raise TypeError("an ArrayChart is read at a cursor, not fed")

    def _closed_count(self) -> int:
        at = self._owner.cursor
        if at != self._at:
            self._at = at
            self._count = self._frames.closed_count(at) if at >= 0 else 0
        return self._count

    def _window(self) -> tuple[int, int]:
        hi = self._closed_count()
        return max(0, hi - self._depth), hi

    @property
    def now(self) -> Bar | None:
        at = self._owner.cursor
        if at < 0:
            return None
        frames = self._frames
        m = frames.group.item(at)
        if frames.close_at.item(m) <= at:
            return None
        a = frames.first.item(m)
        cols = self._owner.columns
        return Bar(
            ns_to_datetime(frames.ts.item(m)),
            cols.open.item(a),
            max(cols.high[a : at + 1].tolist()),
            min(cols.low[a : at + 1].tolist()),
            cols.close.item(at),
            sum(cols.volume[a : at + 1].tolist()),
        )

    @property
    def last(self) -> Bar | None:
        lo, hi = self._window()
        return self._frames.bar(hi - 1) if hi > lo else None

    def bar(self, n: int) -> Bar | None:
        if n < 0:
            return None
        if n == 0:
            return self.now
        lo, hi = self._window()
        return self._frames.bar(hi - n) if n <= hi - lo else None

    def __len__(self) -> int:
        lo, hi = self._window()
        return hi - lo

    def closes(self, count: int | None = None) -> list[float]:
        lo, hi = self._window()
        if count is not None:
            if count <= 0:
                return []
            lo = max(lo, hi - count)
        return self._frames.close[lo:hi].tolist()

    def closed_bars(self, count: int | None = None) -> list[Bar]:
        lo, hi = self._window()
        if count is not None:
            if count <= 0:
                return []
            lo = max(lo, hi - count)
        return list(_Window(self._frames, lo, hi))

    @property
    def version(self) -> int:
        return self._owner.cursor + 1

    @version.setter
    def version(self, value: int) -> None:
        pass  # Chart.__init__ sets it; the cursor is the version here


class ArrayCharts(InstrumentCharts):
    """Every timeframe of one instrument over ``columns``, shown as of base bar :attr:`cursor`."""

    def __init__(self, instrument: str, columns: BaseColumns, depth: int = DEFAULT_DEPTH) -> None:
        super().__init__(instrument, depth)
        self.columns = columns
        self.base = columns.base
        self.cursor = -1  # nothing seen yet
        self._layouts: dict[TimeFrame, FrameLayout] = {}
        self._charts = {}
        self.get(self.base)

    def layout(self, timeframe: TimeFrame) -> FrameLayout:
        frames = self._layouts.get(timeframe)
        if frames is None:
            if list(TimeFrame).index(timeframe) < list(TimeFrame).index(self.base):
                raise ValueError(
                    f"no {timeframe.value} chart from {self.base.value} bars (finer than the data)"
                )
            frames = self._layouts[timeframe] = layout(self.columns, timeframe)
        return frames

    def _get_locked(self, timeframe: TimeFrame) -> Chart:
        chart = self._charts.get(timeframe)
        if chart is None:
            chart = self._charts[timeframe] = ArrayChart(self, self.layout(timeframe), self.depth)
        return chart

    def seek(self, index: int) -> None:
        """Show the charts as they are after base bar ``index`` (-1: before the first)."""
        self.cursor = index
        self.last_price = self.columns.close.item(index) if index >= 0 else None

    def update(self, bar: Bar, closed: bool) -> list[tuple[TimeFrame, Bar]]:
        raise TypeError("ArrayCharts are read at a cursor (seek), not fed")
