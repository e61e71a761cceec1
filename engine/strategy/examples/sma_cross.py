"""SMA cross: long when the fast average of closes crosses above the slow one, short below.

Averages are simple moving averages of the close over *closed* bars of the main timeframe. A cross
up means fast < slow on the previous closed bar and fast > slow on this one (strictly below, then
strictly above: a bar with equal averages is neither, so below -> equal -> above is no cross); the strategy then
closes any short and goes long ``lots`` (one market order for the difference); a cross down is the
mirror. After the first cross it is always in the market.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import polars as pl

from engine.model import Bar, TimeFrame
from engine.strategy.base import Strategy, StrategyParamError
from engine.strategy.context import StrategyContext


def _means(values: np.ndarray, length: int) -> np.ndarray:
    """Window means (NaN before the first full window), summed left to right like ``signal``."""
    n = values.shape[0]
    out = np.full(n, np.nan)
    if n >= length:
        total = values[: n - length + 1].copy()
        for k in range(1, length):
            total += values[k : n - length + 1 + k]
        out[length - 1 :] = total / length
    return out


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
        n = len(closes)
        if n < slow + 1:
            return 0
        # sma(closes[:-1], k) and sma(closes, k) without copying the list first
        before = sum(closes[n - 1 - fast : n - 1]) / fast - sum(closes[n - 1 - slow : n - 1]) / slow
        now = sum(closes[n - fast :]) / fast - sum(closes[n - slow :]) / slow
        if before < 0 < now:
            return 1
        if before > 0 > now:
            return -1
        return 0

    def wake(self, bars: pl.DataFrame) -> np.ndarray:
        """The bars where the averages' difference may change sign (with a float tolerance)."""
        closes = bars["close"].cast(pl.Float64).to_numpy()
        diff = _means(closes, self.params["fast"]) - _means(closes, self.params["slow"])
        scale = float(np.nanmax(np.abs(closes))) if closes.size else 0.0
        eps = 1e-9 * max(scale, 1.0)  # far above the summation error, far below a price step
        before = np.concatenate(([np.nan], diff[:-1]))
        up = (before < eps) & (diff > -eps)
        down = (before > -eps) & (diff < eps)
        return up | down  # NaN (too few bars) compares False: no wake

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        if timeframe is not self.timeframe:
            return
        closes = ctx.chart(timeframe).closes(self.params["slow"] + 1)
        direction = self.signal(closes)
        if direction == 0:
            return
        lots = self.params["lots"]
        order = ctx.order_target(direction * lots)
        if order is not None and ctx.log.isEnabledFor(logging.INFO):
            ctx.log.info(
                "%s cross at %s close %s: %s %d lots",
                "up" if direction > 0 else "down",
                bar.ts,
                bar.close,
                order.side.value,
                order.lots,
            )
