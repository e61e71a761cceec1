"""PinBar (domain.md), long on the daily chart: a strong bear bar followed by a hammer -> buy.

Strong bear bar: ``(open - close) / open * 100 >= body_p`` (0.7). Hammer: a range, a small body
(``|close - open| <= body_share * range``, 0.3) and a long lower shadow
(``min(open, close) - low >= shadow_share * range``, 0.6). Stop -1%, take +2%.
"""

from __future__ import annotations

from typing import Any, ClassVar

from engine.model import Bar, Side, TimeFrame
from engine.strategy.context import StrategyContext
from engine.strategy.light import LightStrategy


def is_strong_bear(bar: Bar, body_p: float) -> bool:
    return bar.open > 0 and (bar.open - bar.close) / bar.open * 100 >= body_p


def is_hammer(bar: Bar, body_share: float, shadow_share: float) -> bool:
    span = bar.high - bar.low
    if span <= 0:
        return False
    body = abs(bar.close - bar.open)
    lower = min(bar.open, bar.close) - bar.low
    return body <= body_share * span and lower >= shadow_share * span


class PinBar(LightStrategy):
    name: ClassVar[str] = "pin_bar"
    timeframes = (TimeFrame.D,)
    default_params: ClassVar[dict[str, Any]] = {
        "lots": 1,
        "body_p": 0.7,
        "body_share": 0.3,
        "shadow_share": 0.6,
        "stop_p": 1.0,
        "take_p": 2.0,
    }

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        if timeframe is not self.timeframe or ctx.position != 0 or ctx.orders:
            return
        p = self.params
        before = ctx.chart(timeframe).bar(2)
        if before is None or not is_strong_bear(before, p["body_p"]):
            return
        if not is_hammer(bar, p["body_share"], p["shadow_share"]):
            return
        self.bracket(ctx, Side.BUY, p["lots"], stop_p=p["stop_p"], take_p=p["take_p"])
