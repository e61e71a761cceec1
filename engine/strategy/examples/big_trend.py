"""BigTrend (domain.md): trade the continuation (long) or the exhaustion (short) of big trends.

- ``big_trend_short``: on the 1-hour chart, when the real-time T1 trend is bull, its abs_p CDF is
  in [cdf_min, cdf_max] (default [0.70, 0.90]) and it is at least ``min_len`` bars long (5), sell
  ``lots``; stop-loss +1%, take-profit -2%.
- ``big_trend_long``: when the 10-minute T3 trend is bull with size ``size`` (+3) and the 1-hour
  T1 trend is bull, buy; stop -2%, take +4%.

Statistics: the CDF of abs_p among the confirmed trends so far (or the history the runner gives
through ``ctx.analysis.stats``). One bracket at a time.
"""

from __future__ import annotations

from typing import Any, ClassVar

from engine.model import Bar, Side, TimeFrame
from engine.strategy.context import StrategyContext
from engine.strategy.light import LightStrategy


def _idle(ctx: StrategyContext) -> bool:
    return ctx.position == 0 and not ctx.orders


class BigTrendShort(LightStrategy):
    name: ClassVar[str] = "big_trend_short"
    timeframes = (TimeFrame.H1,)
    default_params: ClassVar[dict[str, Any]] = {
        "lots": 1,
        "cdf_min": 0.70,
        "cdf_max": 0.90,
        "min_len": 5,
        "stop_p": 1.0,
        "take_p": 2.0,
    }

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        if timeframe is not self.timeframe or not _idle(ctx):
            return
        p = self.params
        tf = self.timeframe
        trend = ctx.analysis.trend(tf, 1, 0)
        if trend is None or trend.kind != "bull" or trend.len < p["min_len"]:
            return
        cdf = ctx.analysis.cdf(tf, 1, "abs_p", trend.abs_p)
        if cdf is None or not p["cdf_min"] <= cdf <= p["cdf_max"]:
            return
        self.bracket(ctx, Side.SELL, p["lots"], stop_p=p["stop_p"], take_p=p["take_p"])


class BigTrendLong(LightStrategy):
    name: ClassVar[str] = "big_trend_long"
    timeframes = (TimeFrame.M10, TimeFrame.H1)
    default_params: ClassVar[dict[str, Any]] = {
        "lots": 1,
        "size": 3,
        "stop_p": 2.0,
        "take_p": 4.0,
    }

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        if timeframe is not self.timeframe or not _idle(ctx):
            return
        p = self.params
        t3 = ctx.analysis.trend(self.timeframe, 3, 0)
        if t3 is None or t3.kind != "bull":
            return
        if ctx.analysis.size(self.timeframe, 3, "abs_p", t3.abs_p) != p["size"]:
            return
        t1 = ctx.analysis.trend(TimeFrame.H1, 1, 0)
        if t1 is None or t1.kind != "bull":
            return
        self.bracket(ctx, Side.BUY, p["lots"], stop_p=p["stop_p"], take_p=p["take_p"])
