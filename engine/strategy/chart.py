"""Live charts: one instrument, several timeframes, built from its 1-minute bar stream.

Each :class:`Chart` wraps one :class:`~engine.model.aggregation.BarAggregator` and keeps the
closed bars in a bounded deque. A frame closes either when the broker reports the frame's last
minute as closed (so a 5M bar closes with its fifth minute, not when the sixth one starts) or when
a bar of a later frame arrives (a gap in the data). Indexing follows domain.md: ``bar(0)`` /
``now`` is the in-progress bar, ``bar(1)`` / ``last`` the last closed one, ``bar(n)`` the n-th
back; out of range is None.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

from engine.model import Bar, TimeFrame
from engine.model.aggregation import BarAggregator

MINUTE = timedelta(minutes=1)
DEFAULT_DEPTH = 5_000


class Chart:
    """Bars of one timeframe; fed with 1-minute bars."""

    def __init__(self, instrument: str, timeframe: TimeFrame, depth: int = DEFAULT_DEPTH) -> None:
        self.instrument = instrument
        self.timeframe = timeframe
        self._agg = BarAggregator(timeframe)
        self._closed: deque[Bar] = deque(maxlen=depth)
        self._last_closed_ts: datetime | None = None
        self.version = 0  # moves with every accepted input

    # --- feeding ------------------------------------------------------------------------------

    def update(self, bar: Bar, closed: bool) -> list[Bar]:
        """Feed one 1-minute bar (``closed`` when that minute is complete); the bars it closed."""
        done: list[Bar] = []
        result = self._agg.update(bar)
        if not result.accepted:
            return done
        self.version += 1
        if result.closed is not None:
            self._close(result.closed, done)
        current = result.current
        if closed and current is not None and self._is_frame_end(bar.ts):
            self._close(current, done)
        return done

    def _is_frame_end(self, minute_ts: datetime) -> bool:
        return self.timeframe.next(minute_ts) == minute_ts + MINUTE

    def _close(self, bar: Bar, done: list[Bar]) -> None:
        if self._last_closed_ts is not None and bar.ts <= self._last_closed_ts:
            return  # closed already (at its last minute); the aggregator reports it again later
        self._closed.append(bar)
        self._last_closed_ts = bar.ts
        done.append(bar)

    # --- reading ------------------------------------------------------------------------------

    @property
    def now(self) -> Bar | None:
        """The in-progress bar, or None right after a close."""
        current = self._agg.current
        if current is None:
            return None
        if self._last_closed_ts is not None and current.ts <= self._last_closed_ts:
            return None
        return current

    @property
    def last(self) -> Bar | None:
        return self._closed[-1] if self._closed else None

    def bar(self, n: int) -> Bar | None:
        """``bar(0)`` in progress, ``bar(1)`` last closed, ``bar(n)`` n-th back; else None."""
        if n < 0:
            return None
        if n == 0:
            return self.now
        if n > len(self._closed):
            return None
        return self._closed[-n]

    def __len__(self) -> int:
        """The number of closed bars held."""
        return len(self._closed)

    def closes(self, count: int | None = None) -> list[float]:
        """Close prices of the closed bars, oldest first (the newest ``count`` when given)."""
        bars = self.closed_bars(count)
        return [b.close for b in bars]

    def closed_bars(self, count: int | None = None) -> list[Bar]:
        if count is None or count >= len(self._closed):
            return list(self._closed)
        if count <= 0:
            return []
        return list(self._closed)[-count:]

    def bars(self, count: int) -> list[Bar]:
        """The newest ``count`` bars, oldest first; the last one may be in progress."""
        now = self.now
        closed_count = count - 1 if now is not None else count
        out = self.closed_bars(max(closed_count, 0))
        if now is not None and count > 0:
            out.append(now)
        return out


class InstrumentCharts:
    """All charts of one instrument; a 1-minute chart is always kept (it feeds new timeframes)."""

    def __init__(self, instrument: str, depth: int = DEFAULT_DEPTH) -> None:
        self.instrument = instrument
        self.depth = depth
        self._charts: dict[TimeFrame, Chart] = {
            TimeFrame.M1: Chart(instrument, TimeFrame.M1, depth)
        }
        self.last_price: float | None = None
        self._lock = threading.Lock()  # the engine feeds, a UI thread may read

    @property
    def timeframes(self) -> tuple[TimeFrame, ...]:
        return tuple(self._charts)

    def get(self, timeframe: TimeFrame) -> Chart:
        """The chart of ``timeframe``, created on first use from the 1-minute history held."""
        chart = self._charts.get(timeframe)
        if chart is not None:
            return chart
        with self._lock:
            return self._get_locked(timeframe)

    def read(self, timeframe: TimeFrame, count: int) -> list[Bar]:
        """A copy of the newest ``count`` bars (safe from any thread)."""
        with self._lock:
            return self._get_locked(timeframe).bars(count)

    def _get_locked(self, timeframe: TimeFrame) -> Chart:
        chart = self._charts.get(timeframe)
        if chart is None:
            chart = Chart(self.instrument, timeframe, self.depth)
            base = self._charts[TimeFrame.M1]
            for minute in base.closed_bars():
                chart.update(minute, True)
            now = base.now
            if now is not None:
                chart.update(now, False)
            self._charts[timeframe] = chart
        return chart

    def update(self, bar: Bar, closed: bool) -> list[tuple[TimeFrame, Bar]]:
        """Feed one 1-minute bar to every chart; the (timeframe, bar) pairs it closed."""
        self.last_price = bar.close
        closed_bars: list[tuple[TimeFrame, Bar]] = []
        with self._lock:
            for timeframe, chart in self._charts.items():
                for done in chart.update(bar, closed):
                    closed_bars.append((timeframe, done))
        return closed_bars
