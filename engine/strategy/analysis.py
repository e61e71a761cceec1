"""ZigZags and trend statistics for strategies, built from their own charts' closed bars.

``ctx.analysis.frame(tf)`` is an :class:`~engine.analysis.mtf.FrameView` of the closed bars of the
strategy's ``tf`` chart (the same bars ``on_bar`` sees; nothing from the future): pivots of
T1..T5, ``trend(term, n)`` (n = 0 the real-time trend), and ``trend_stats(term)``. The statistics
(the empirical CDF of abs_p, len, speed_p, vol) come from ``ctx.analysis.stats`` when the runner
gives history computed beforehand, else from the trends confirmed so far (causal, never the
future). ``cdf``/``size`` read them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import numpy as np

from engine.analysis.mtf import FrameData, FrameView
from engine.analysis.stats import METRICS, TrendStats, size_of_percent
from engine.analysis.trends import trends_of
from engine.analysis.types import Trend
from engine.analysis.zigzag import MAX_TERMS
from engine.model import TimeFrame
from engine.strategy.chart import Chart, InstrumentCharts

StatsMap = Mapping[tuple[TimeFrame, int], TrendStats]


class StrategyAnalysis:
    """Per timeframe: the closed bars of the chart fed, once each, to a ZigZag."""

    def __init__(
        self,
        charts: InstrumentCharts,
        chart: Callable[[TimeFrame | None], Chart] | None = None,
        *,
        terms: int = MAX_TERMS,
        stats: StatsMap | None = None,
    ) -> None:
        self._charts = charts
        self._chart = chart or (lambda tf: charts.get(tf or TimeFrame.M1))
        self.terms = terms
        self.stats: dict[tuple[TimeFrame, int], TrendStats] = dict(stats or {})
        self._data: dict[TimeFrame, FrameData] = {}
        self._fed: dict[TimeFrame, datetime] = {}
        self._causal: dict[tuple[TimeFrame, int], tuple[int, TrendStats]] = {}

    def frame(self, timeframe: TimeFrame | None = None) -> FrameView:
        """The ZigZag view of ``timeframe``'s closed bars (default: the main timeframe)."""
        chart = self._chart(timeframe)
        tf = chart.timeframe
        data = self._data.get(tf)
        if data is None:
            data = self._data[tf] = FrameData(tf, self.terms, None)
        last = self._fed.get(tf)
        fresh = []
        n = 1
        while True:
            bar = chart.bar(n)
            if bar is None or (last is not None and bar.ts <= last):
                break
            fresh.append(bar)
            n += 1
        for bar in reversed(fresh):
            data.push(bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume)
        if fresh:
            self._fed[tf] = fresh[0].ts
        return data.view(self._stats_for(tf, data))

    def trend(self, timeframe: TimeFrame, term: int, n: int = 0) -> Trend | None:
        return self.frame(timeframe).trend(term, n)

    def trend_stats(self, timeframe: TimeFrame, term: int) -> TrendStats | None:
        self.frame(timeframe)
        return self._stats_for(timeframe, self._data[timeframe]).get((timeframe, term))

    def cdf(self, timeframe: TimeFrame, term: int, metric: str, value: float) -> float | None:
        """The CDF of ``value`` among the history of ``metric`` (None without history)."""
        stats = self.trend_stats(timeframe, term)
        if stats is None or stats.count == 0:
            return None
        return stats.cdf(metric, value)

    def size(self, timeframe: TimeFrame, term: int, metric: str, value: float) -> int | None:
        """The size class -7..+7 of ``value`` (domain.md), None without history."""
        cdf = self.cdf(timeframe, term, metric, value)
        return None if cdf is None else size_of_percent(cdf * 100)

    def _stats_for(self, tf: TimeFrame, data: FrameData) -> StatsMap:
        if any(key[0] is tf for key in self.stats):
            return self.stats
        out: dict[tuple[TimeFrame, int], TrendStats] = {}
        for term in range(1, self.terms + 1):
            confirmed = data.zigzag.confirmed[term - 1]
            cached = self._causal.get((tf, term))
            if cached is None or cached[0] != len(confirmed):
                trends = trends_of(term, confirmed, data.cumvol)
                values = {
                    "abs_p": np.sort(np.array([t.abs_p for t in trends], dtype=np.float64)),
                    "len": np.sort(np.array([t.len for t in trends], dtype=np.float64)),
                    "speed_p": np.sort(np.array([t.speed_p for t in trends], dtype=np.float64)),
                    "vol": np.sort(np.array([t.vol for t in trends], dtype=np.float64)),
                }
                cached = (len(confirmed), TrendStats({m: values[m] for m in METRICS}))
                self._causal[(tf, term)] = cached
            out[(tf, term)] = cached[1]
        return out
