"""ZigZag breakout: buy when a close breaks above the last confirmed T``term`` swing high.

On the main timeframe (default 1H): when flat, if the previous close was at or below the last
confirmed Max of term ``term`` (1) and this close is above it, buy ``lots`` with a stop at the last
confirmed Min (or ``stop_p`` percent if that is not below the entry) and a take-profit ``rr``
times the risk. Only confirmed pivots are used, as they were when the bar closed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from engine.analysis.types import Kind
from engine.model import Bar, Side, TimeFrame
from engine.strategy.context import StrategyContext
from engine.strategy.light import LightStrategy


class ZigZagBreakout(LightStrategy):
    name: ClassVar[str] = "zigzag_breakout"
    timeframes = (TimeFrame.H1,)
    default_params: ClassVar[dict[str, Any]] = {"lots": 1, "term": 1, "stop_p": 1.0, "rr": 2.0}

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        if timeframe is not self.timeframe:
            return
        view = ctx.analysis.frame(timeframe)  # keep the ZigZag fed on every bar
        if ctx.position != 0 or ctx.orders:
            return
        p = self.params
        confirmed = view.confirmed(p["term"])
        highs = [pv for pv in confirmed if pv.kind is Kind.MAX]
        lows = [pv for pv in confirmed if pv.kind is Kind.MIN]
        before = ctx.chart(timeframe).bar(2)
        if not highs or before is None:
            return
        level = highs[-1].price
        if not before.close <= level < bar.close:
            return
        stop = lows[-1].price if lows and lows[-1].price < bar.close else None
        if stop is None:
            stop = bar.close * (1 - p["stop_p"] / 100)
        take = bar.close + (bar.close - stop) * p["rr"]
        self.bracket(ctx, Side.BUY, p["lots"], stop_price=stop, take_price=take)
