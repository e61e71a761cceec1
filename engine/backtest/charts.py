"""The engine's charts, fed with bars of any base timeframe (1M, or e.g. daily bars from a file).

:class:`FrameChart` is the engine's :class:`~engine.strategy.chart.Chart` with two changes: a bar
of the base timeframe closes as soon as it is fed and a coarser frame closes with its last base
bar (or when a bar of a later frame arrives) -- with a 1M base that is exactly the engine's rule --
and reading the newest ``count`` bars costs O(count), not O(depth).
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice

from engine.model import Bar, TimeFrame
from engine.strategy.chart import DEFAULT_DEPTH, Chart, InstrumentCharts

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONDAY = datetime(1970, 1, 5, tzinfo=UTC)


class FrameChart(Chart):
    """A :class:`Chart` fed with closed bars of ``base`` instead of minutes."""

    __slots__ = ("_base_step", "_cur", "_last_in", "_origin", "_step", "base")

    def __init__(
        self, instrument: str, timeframe: TimeFrame, base: TimeFrame, depth: int = DEFAULT_DEPTH
    ) -> None:
        super().__init__(instrument, timeframe, depth)
        self.base = base
        self._step = timeframe.step
        self._base_step = base.step
        self._origin = _MONDAY if timeframe is TimeFrame.W else _EPOCH
        self._cur: Bar | None = None
        self._last_in: datetime | None = None

    def _is_frame_end(self, minute_ts: datetime) -> bool:
        return self.timeframe.next(minute_ts) == self.base.next(minute_ts)

    @property
    def now(self) -> Bar | None:
        if self._step is None or self._base_step is None:
            return super().now
        cur = self._cur
        if cur is None or (self._last_closed_ts is not None and cur.ts <= self._last_closed_ts):
            return None
        return cur

    def update(self, bar: Bar, closed: bool) -> list[Bar]:
        """Feed one closed bar of the base timeframe; the bars it closed (as ``Chart.update``)."""
        step, base_step = self._step, self._base_step
        if step is None or base_step is None:
            return super().update(bar, closed)  # calendar months: the engine's own path
        if not closed:
            raise ValueError("a backtest chart takes closed bars only")
        ts = bar.ts
        last_in = self._last_in
        if last_in is not None and ts <= last_in:
            return []  # older (or the same) input: ignored, as by the aggregator
        done: list[Bar] = []
        if step == base_step:  # a base bar is its own frame: it closes at once
            self._last_in = ts
            self.version += 1
            self._closed.append(bar)
            self._last_closed_ts = ts
            done.append(bar)
            return done
        start = ts - (ts - self._origin) % step
        cur = self._cur
        self._last_in = ts
        self.version += 1
        if cur is None or start > cur.ts:
            if cur is not None:
                self._close(cur, done)
            cur = Bar(start, bar.open, bar.high, bar.low, bar.close, bar.volume)
        else:
            cur = cur.merge(bar)
        self._cur = cur
        if ts + base_step == start + step:
            self._close(cur, done)
        return done

    def closed_bars(self, count: int | None = None) -> list[Bar]:
        closed = self._closed
        if count is None or count >= len(closed):
            return list(closed)
        if count <= 0:
            return []
        out = list(islice(reversed(closed), count))
        out.reverse()
        return out


class BaseCharts(InstrumentCharts):
    """:class:`InstrumentCharts` whose base chart is ``base`` (not 1M)."""

    def __init__(self, instrument: str, base: TimeFrame, depth: int = DEFAULT_DEPTH) -> None:
        super().__init__(instrument, depth)
        self.base = base
        self._charts = {base: FrameChart(instrument, base, base, depth)}

    def _get_locked(self, timeframe: TimeFrame) -> Chart:
        chart = self._charts.get(timeframe)
        if chart is None:
            chart = FrameChart(self.instrument, timeframe, self.base, self.depth)
            for bar in self._charts[self.base].closed_bars():
                chart.update(bar, True)
            self._charts[timeframe] = chart
        return chart

    def update(self, bar: Bar, closed: bool) -> list[tuple[TimeFrame, Bar]]:
        """Feed one bar to every chart (no lock: a backtest is single-threaded)."""
        self.last_price = bar.close
        out: list[tuple[TimeFrame, Bar]] = []
        for timeframe, chart in self._charts.items():
            for done in chart.update(bar, closed):
                out.append((timeframe, done))
        return out


def make_charts(instrument: str, base: TimeFrame, depth: int = DEFAULT_DEPTH) -> InstrumentCharts:
    return BaseCharts(instrument, base, depth)
