"""Tiny bar series and scripted strategies for backtest tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import polars as pl

from engine.model import Bar, Fill, Instrument, Order, OrderType, Side, TimeFrame
from engine.strategy import Strategy, StrategyContext

T0 = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)
INST = Instrument("MOEX", "SHARE", "TEST", "uid-test", "", "TQBR", 1, Decimal("0.01"))
LOT10 = Instrument("MOEX", "SHARE", "TEN", "uid-ten", "", "TQBR", 10, Decimal("0.5"))


def bars(
    rows: Sequence[tuple[float, float, float, float]],
    *,
    start: datetime = T0,
    breaks: Sequence[int] = (),
    step: timedelta = timedelta(minutes=1),
) -> pl.DataFrame:
    """OHLC rows one ``step`` apart; a row index in ``breaks`` starts after a one-hour break."""
    ts = []
    t = start
    for i in range(len(rows)):
        if i and i in breaks:
            t += timedelta(hours=1)
        ts.append(t)
        t += step
    return pl.DataFrame(
        {
            "ts": pl.Series(ts, dtype=pl.Datetime("ns", "UTC")),
            "open": [float(r[0]) for r in rows],
            "high": [float(r[1]) for r in rows],
            "low": [float(r[2]) for r in rows],
            "close": [float(r[3]) for r in rows],
            "volume": [100] * len(rows),
        }
    )


def flat(prices: Sequence[float]) -> list[tuple[float, float, float, float]]:
    """Bars opening at the previous close and closing at each price."""
    out = []
    prev = prices[0]
    for p in prices:
        out.append((prev, max(prev, p), min(prev, p), p))
        prev = p
    return out


class Plan(Strategy):
    """Places orders from ``plan``: {closed bar number (1-based): [order spec, ...]}.

    A spec is a dict: side ('buy'/'sell'), lots, type ('market', 'limit', 'stop', 'take_profit'),
    price, stop_price; or {'cancel': 'all'}.
    """

    name: ClassVar[str] = "test_plan"
    timeframes = (TimeFrame.M1,)

    def __init__(self, params: dict[str, Any] | None = None, timeframe: Any = None) -> None:
        super().__init__(params, timeframe)
        self.count = 0
        self.seen: list[tuple[str, Any]] = []
        self.placed: list[Order] = []

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        self.count += 1
        self.seen.append(("bar", bar.ts))
        for spec in self.params.get("plan", {}).get(self.count, []):
            if spec.get("cancel"):
                for order in ctx.orders:
                    ctx.cancel(order)
                continue
            side = Side(spec["side"])
            kind = OrderType(spec.get("type", "market"))
            order = ctx.place(
                side,
                spec.get("lots", 1),
                kind,
                price=spec.get("price"),
                stop_price=spec.get("stop_price"),
            )
            self.placed.append(order)

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        self.seen.append(("fill", fill.ts))
