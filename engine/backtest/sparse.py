"""The sparse backtest: the bar-by-bar run, visiting only the bars where something can happen.

A strategy may declare, through :meth:`~engine.strategy.base.Strategy.wake`, the bars of its main
timeframe on which ``on_bar`` can act (place or cancel an order, change its state) -- computed once,
vectorised, over the whole history. Everywhere else a bar-by-bar run does only bookkeeping that
does not depend on the strategy: charts fed, the position marked, the position series recorded.
The sparse run does that bookkeeping in bulk and visits a base bar ``i`` only when

- the strategy wakes on a main-timeframe bar that closes at ``i``, or
- an order is working and bar ``i`` may fill it: the next bar for a market order; for a limit,
  stop, take-profit or stop-limit the first later bar whose range comes within one price step of
  its level (a vectorised search; the step covers the rounding of path prices).

A visited bar runs the very code of :class:`~engine.backtest.runner.Backtester`: the same matching
along the bar path, the same marks, the same hooks and the same clock, with the charts shown as of
that bar (:class:`~engine.backtest.array_charts.ArrayCharts`). So, as long as the mask is honest,
orders, fills, trades and the equity curve are identical to the bar-by-bar run -- tests pin it, and
``BacktestOptions(verify_wake=True)`` runs bar by bar and fails on the first bar where a strategy
acts although its mask said it would not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

import numpy as np
import polars as pl

from engine.backtest.array_charts import (
    ArrayCharts,
    BaseColumns,
    FrameLayout,
    frame_ends,
    ns_to_datetime,
)
from engine.backtest.book import BarMatching, path_offsets
from engine.backtest.options import BacktestOptions, Progress
from engine.broker.sim.matching import price_path
from engine.data.timeframes import frame_starts
from engine.model import Bar, Instrument, OrderType, Position, Side, TimeFrame
from engine.strategy.base import Strategy

_FIRST_CHUNK = 64


class BarRunner(Protocol):
    """What a pass over the bars drives (:class:`~engine.backtest.runner.Backtester`)."""

    strategy: Strategy
    instrument: Instrument
    base: TimeFrame
    options: BacktestOptions
    matching: BarMatching
    position: Position
    now: datetime | None  # the market clock the strategy sees
    bar: int  # the bar being run, counted from the first traded bar
    last_close: float  # the close of the last closed base bar
    marks: Callable[[float], Decimal]  # the position's mark of a close
    rounded: Callable[[float], Decimal]  # a path price rounded to the step
    on_bar: Callable[[TimeFrame, Bar], bool]

    def start(self, now: datetime | None) -> None: ...

    def match(
        self, ts: datetime, path: list[float], gap: bool, offsets: list[timedelta]
    ) -> None: ...


def base_columns(frame: pl.DataFrame, base: TimeFrame) -> BaseColumns:
    """The run's bars (sorted by ``ts``) as columns."""
    ts = frame["ts"].cast(pl.Datetime("ns", "UTC")).cast(pl.Int64).to_numpy()
    step = base.step
    if step is None:
        ends = frame_ends(frame_starts(ts, base), base)
    else:
        ends = ts + int(step.total_seconds() * 1_000_000_000)
    return BaseColumns(
        base,
        ts,
        _column(frame, "open", pl.Float64),
        _column(frame, "high", pl.Float64),
        _column(frame, "low", pl.Float64),
        _column(frame, "close", pl.Float64),
        _column(frame, "volume", pl.Int64),
        ends,
    )


def _column(frame: pl.DataFrame, name: str, dtype: type[pl.DataType]) -> np.ndarray:
    """A column as a contiguous NumPy array of ``dtype`` (nulls are rejected earlier)."""
    return np.ascontiguousarray(frame[name].cast(dtype).to_numpy())


def layout_frame(frames: FrameLayout) -> pl.DataFrame:
    """The bars of a layout as a DataFrame (what :meth:`Strategy.wake` receives)."""
    return pl.DataFrame(
        {
            "ts": pl.Series("ts", frames.ts, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")),
            "open": frames.open,
            "high": frames.high,
            "low": frames.low,
            "close": frames.close,
            "volume": pl.Series("volume", frames.volume, dtype=pl.Int64),
        }
    )


class SparseRun:
    """One sparse pass of ``tester`` over ``charts`` (see the module doc)."""

    def __init__(self, tester: BarRunner, charts: ArrayCharts, wake: np.ndarray) -> None:
        self.t = tester
        self.charts = charts
        self.cols = charts.columns
        main = charts.layout(tester.strategy.timeframe)
        self.main = main
        close_at = main.close_at
        woken = np.flatnonzero(wake & (close_at < len(self.cols)))
        self.wake_at = close_at[woken].tolist()  # base index of each wake, in order
        self.wake_bar = woken.tolist()  # the main-timeframe bar of each wake
        self.high = self.cols.high
        self.low = self.cols.low
        self.step = float(tester.instrument.step)

    def run(self, first: int, progress: Progress | None) -> np.ndarray:
        """Visit the bars from ``first`` on; the position (lots) at each bar's close."""
        t, cols, charts = self.t, self.cols, self.charts
        n = len(cols)
        total = n - first
        position = t.position
        matching = t.matching
        code = t.instrument.code
        round_price = t.rounded
        step = t.base.step  # None: calendar frames, whose ends are looked up
        always = t.options.gaps == "always" or step is None or step.days >= 1
        offsets = path_offsets(step)
        timeframe = t.strategy.timeframe
        wake_at, wake_bar = self.wake_at, self.wake_bar
        wakes = len(wake_at)
        w = 0
        while w < wakes and wake_at[w] < first:
            w += 1
        changes: list[tuple[int, int]] = [(0, position.lots)]
        marks = t.marks
        every = max(1, total // 200)
        report = 0
        ts_ns = cols.ts.item  # one Python int / float at a time: no list of every bar
        ends = cols.ends.item
        closes = cols.close.item
        opens, highs, lows, volumes = (
            cols.open.item,
            cols.high.item,
            cols.low.item,
            cols.volume.item,
        )
        main_bar = None if self.main.is_base else self.main.bar
        on_bar = t.on_bar
        match = t.match
        next_touch = self.next_touch
        charts.seek(first - 1)
        seen = first - 1  # the base bar the charts (and the position's mark) are at
        if first > 0:
            t.last_close = closes(first - 1)
        t.start(ns_to_datetime(ts_ns(first)) if first < n else None)
        changes[0] = (0, position.lots)
        end_ns = -1  # the end of the last visited bar (often the next one's start)...
        end = ns_to_datetime(0)  # ... and as a datetime
        working = matching.live
        i = first
        while i < n:
            next_wake = wake_at[w] if w < wakes else n
            busy = bool(working)
            j, priced = next_touch(i, next_wake) if busy else (next_wake, False)
            if j >= n:
                break
            t.bar = j - first
            start_ns = ts_ns(j)
            start = end if start_ns == end_ns else ns_to_datetime(start_ns)
            close = closes(j)
            if busy:
                before = closes(j - 1) if j > 0 else 0.0
                if seen != j - 1:
                    if position.lots and j - 1 >= first:
                        position.last_price = marks(before)
                    charts.seek(j - 1)
                gap = always or j == 0 or ends(j - 1) != start_ns
                if j > 0:
                    t.last_close = before
                if priced and not gap:  # a market order's fill does not depend on the last price
                    matching.mark(code, round_price(before))
                match(start, price_path(opens(j), highs(j), lows(j), close), gap, offsets)
            end_ns = ends(j)
            end = ns_to_datetime(end_ns) if step is None else start + step
            t.now = end
            charts.seek(j)
            seen = j
            t.last_close = close
            if position.lots:
                position.last_price = marks(close)
            while w < wakes and wake_at[w] == j:
                if main_bar is None:  # the main timeframe is the base: its bar is bar j
                    bar = Bar(start, opens(j), highs(j), lows(j), close, volumes(j))
                else:
                    bar = main_bar(wake_bar[w])
                on_bar(timeframe, bar)
                w += 1
            if position.lots != changes[-1][1]:
                changes.append((j - first, position.lots))
            if progress is not None and j - first >= report:
                progress(j - first, total)
                report = j - first + every
            i = j + 1
        if n > first:
            t.now = ns_to_datetime(ends(n - 1))
            charts.seek(n - 1)
            t.last_close = closes(n - 1)
            if position.lots:
                position.last_price = marks(t.last_close)
        return _expand(changes, total)

    def next_touch(self, start: int, stop: int) -> tuple[int, bool]:
        """The first bar in ``start..stop-1`` that may fill a working order, else ``stop``; and
        whether some working order has a price level (is not a market order)."""
        levels: list[tuple[float, bool]] = []  # (level, True: the low reaches down to it)
        market = False
        for working in self.t.matching.working():
            order = working.order
            kind = order.type
            buy = order.side is Side.BUY
            if kind is OrderType.MARKET:
                market = True
                continue
            if kind is OrderType.LIMIT or (kind is OrderType.STOP_LIMIT and working.triggered):
                assert order.price is not None
                levels.append((float(order.price), buy))
            elif kind is OrderType.TAKE_PROFIT:
                assert order.stop_price is not None
                levels.append((float(order.stop_price), buy))
            else:  # STOP, or a STOP_LIMIT not triggered yet
                assert order.stop_price is not None
                levels.append((float(order.stop_price), not buy))
        if market:
            return start, bool(levels)
        step = self.step
        size = _FIRST_CHUNK
        pos = start
        while pos < stop:
            end = min(stop, pos + size)
            hit = np.zeros(end - pos, dtype=bool)
            for level, down in levels:
                if down:
                    hit |= self.low[pos:end] <= level + step
                else:
                    hit |= self.high[pos:end] >= level - step
            found = np.flatnonzero(hit)
            if found.size:
                return pos + int(found[0]), True
            pos = end
            size *= 4
        return stop, True


def _expand(changes: list[tuple[int, int]], total: int) -> np.ndarray:
    """Lots at each bar from (first bar, lots) change points."""
    starts = np.array([start for start, _ in changes] + [total], dtype=np.int64)
    lots = np.array([lots for _, lots in changes], dtype=np.int64)
    return np.repeat(lots, np.diff(starts))
