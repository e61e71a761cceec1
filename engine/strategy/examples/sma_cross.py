"""SMA cross: long when the fast average of closes crosses above the slow one, short below.

Averages are simple moving averages of the close over *closed* bars of the main timeframe. A cross
up means fast < slow on the previous closed bar and fast > slow on this one (strictly below, then
strictly above: a bar with equal averages is neither, so below -> equal -> above is no cross); the strategy then
closes any short and goes long ``lots`` (one market order for the difference); a cross down is the
mirror. After the first cross it is always in the market.
"""

from __future__ import annotations

from typing import Any, ClassVar

from engine.model import Bar, TimeFrame
from engine.strategy.base import Strategy, StrategyParamError
from engine.strategy.context import StrategyContext


def sma(values: list[float], length: int) -> float:
    return sum(values[-length:]) / length


class SmaCross(Strategy):
    name: ClassVar[str] = "sma_cross"
    timeframes = (TimeFrame.M1,)
    default_params: ClassVar[dict[str, Any]] = {"fast": 5, "slow": 20, "lots": 1}

    def validate(self) -> None:
        p = self.params
        for key in ("fast", "slow", "lots"):
            value = p[key]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise StrategyParamError(
                    f"sma_cross: {key} must be a positive integer, got {value!r}"
                )
        if p["fast"] >= p["slow"]:
            raise StrategyParamError(
                f"sma_cross: fast ({p['fast']}) must be shorter than slow ({p['slow']})"
            )

    def signal(self, closes: list[float]) -> int:
        """+1 on a cross up at the last close, -1 on a cross down, else 0."""
        fast, slow = self.params["fast"], self.params["slow"]
        if len(closes) < slow + 1:
            return 0
        prev = closes[:-1]
        before = sma(prev, fast) - sma(prev, slow)
        now = sma(closes, fast) - sma(closes, slow)
        if before < 0 < now:
            return 1
        if before > 0 > now:
            return -1
        return 0

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        if timeframe is not self.timeframe:
            return
        closes = ctx.chart(timeframe).closes(self.params["slow"] + 1)
        direction = self.signal(closes)
        if direction == 0:
            return
        lots = self.params["lots"]
        order = ctx.order_target(direction * lots)
        if order is not None:
            ctx.log.info(
                "%s cross at %s close %s: %s %d lots",
                "up" if direction > 0 else "down",
                bar.ts.isoformat(),
                bar.close,
                order.side.value,
                order.lots,
            )
