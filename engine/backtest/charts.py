"""The engine's charts, fed with bars of any base timeframe (1M, or e.g. daily bars from a file).

:class:`FrameChart` is the engine's :class:`~engine.runtime.chart.Chart` with two changes: a bar
of the base timeframe closes as soon as it is fed and a coarser frame closes with its last base
bar (or when a bar of a later frame arrives) -- with a 1M base that is exactly the engine's rule --
and reading the newest ``count`` bars costs O(count), not O(depth).
"""

from __future__ import annotations

from datetime import datetime
from itertools import islice

from engine.model import Bar, TimeFrame
from engine.runtime.chart import DEFAULT_DEPTH, Chart, InstrumentCharts


class FrameChart(Chart):
    """A :class:`Chart` fed with bars of ``base`` instead of minutes."""

    __slots__ = ("base",)

    def __init__(
        self, instrument: str, timeframe: TimeFrame, base: TimeFrame, depth: int = DEFAULT_DEPTH
    ) -> None:
        super().__init__(instrument, timeframe, depth)
        self.base = base

    def _is_frame_end(self, minute_ts: datetime) -> bool:
        return self.timeframe.next(minute_ts) == self.base.next(minute_ts)

    def update(self, bar: Bar, closed: bool) -> list[Bar]:
        if self.timeframe is not self.base or not closed:
            return super().update(bar, closed)
        last = self._last_closed_ts
        if last is not None and bar.ts <= last:
            return []  # an older bar: the aggregator would ignore it too
        self.version += 1
        self._closed.append(bar)  # a base bar is its own frame: it closes at once
        self._last_closed_ts = bar.ts
        return [bar]

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


def make_charts(instrument: str, base: TimeFrame, depth: int = DEFAULT_DEPTH) -> InstrumentCharts:
    return BaseCharts(instrument, base, depth)

