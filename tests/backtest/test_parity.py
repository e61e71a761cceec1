"""Parity: a strategy on the simulated market (Engine + SimBroker) and replayed in the backtester
over the same bars gives the same orders and fills."""

from __future__ import annotations

import asyncio
import inspect
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from engine.backtest import Backtester
from engine.broker.sim import SIM_INSTRUMENTS, generate_bars
from engine.model import Bar, OrderStatus, Side
from engine.runtime.engine import Engine
from engine.runtime.startup import weekdays_back
from engine.runtime.worklist import StrategySpec
from engine.strategy import StrategyContext, build
from engine.strategy.light import LightStrategy
from tests.runtime.simkit import START, Driver

MINUTES = 150
SBER = next(i for i in SIM_INSTRUMENTS if i.ticker == "SBER")


class BracketEvery(LightStrategy):
    """Every ``every`` bars when flat: a bracket (tight stop and take), alternating sides."""

    name: ClassVar[str] = "parity_bracket"
    default_params: ClassVar[dict[str, Any]] = {"every": 4, "pct": 0.08}

    def on_start(self, ctx: StrategyContext) -> None:
        self.count = 0

    def on_1M(self, ctx: StrategyContext, bar: Bar) -> None:
        self.count += 1
        if self.count % self.params["every"] or ctx.position or ctx.orders:
            return
        side = Side.BUY if (self.count // self.params["every"]) % 2 else Side.SELL
        pct = self.params["pct"]
        self.bracket(ctx, side, 2, stop_p=pct, take_p=pct * 1.5)


class LimitLadder(LightStrategy):
    """A limit buy a little under the close, cancelled after 3 bars if unfilled; then flat out."""

    name: ClassVar[str] = "parity_limit"

    def on_start(self, ctx: StrategyContext) -> None:
        self.count = 0

    def on_1M(self, ctx: StrategyContext, bar: Bar) -> None:
        self.count += 1
        if ctx.position > 0 and self.count % 5 == 0:
            ctx.close_position()
        if self.count % 3 == 0:
            for order in ctx.orders:
                ctx.cancel(order)
            if ctx.position == 0:
                ctx.buy(1, price=bar.close * 0.9995)


def _key(order: Any) -> tuple:
    status = order.status
    if status in (OrderStatus.ACCEPTED, OrderStatus.EXPIRED):
        status = "working at the end"
    return (
        order.type,
        order.side,
        order.lots,
        order.price,
        order.stop_price,
        status,
        order.filled_lots,
        order.avg_fill_price,
    )


def _fill(fill: Any) -> tuple:
    return (fill.side, fill.lots, fill.price, fill.commission, fill.ts.replace(second=0))


def _engine_kw() -> dict[str, Any]:
    """The engine's own risk gate off (its order-rate limits count wall-clock minutes, and a
    test replays hours of market in seconds); the backtester models the market, not the gate."""
    if "risk" not in inspect.signature(Engine).parameters:
        return {}
    from engine.config import RiskSettings

    return {
        "risk": RiskSettings(
            orders_per_minute_strategy=1_000_000,
            orders_per_minute_account=1_000_000,
            prevent_self_trade=False,
            price_collar=1.0,
        )
    }


async def _live(name: str, params: dict[str, Any]) -> tuple[list, list]:
    spec = StrategySpec(name, "SBER", params=params)
    async with Driver([spec], **_engine_kw()) as d:
        await d.minutes(MINUTES)
        slot = d.engine.slots[0]
        assert slot.error == ""
        orders = sorted(d.engine.book.orders.values(), key=lambda o: o.created_ts or START)
        return [_key(o) for o in orders], [_fill(f) for f in d.engine.book.fills]


def _replay(name: str, params: dict[str, Any]) -> tuple[list, list]:
    begin = weekdays_back(START, 3)
    end = START + timedelta(minutes=MINUTES)
    bars = generate_bars(SBER, begin, end, seed=7)
    result = Backtester(build(name, params), SBER).run(bars, start=START)
    orders = sorted(result.orders, key=lambda o: o.created_ts or START)
    return [_key(o) for o in orders], [_fill(f) for f in result.fills]


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("sma_cross", {"fast": 3, "slow": 8, "lots": 2}),
        ("tests.backtest.test_parity:BracketEvery", {}),
        ("tests.backtest.test_parity:LimitLadder", {}),
    ],
)
def test_live_and_backtest_give_the_same_orders_and_fills(name: str, params: dict) -> None:
    live_orders, live_fills = asyncio.run(_live(name, params))
    bt_orders, bt_fills = _replay(name, params)
    assert len(live_fills) >= 4, "the scenario should trade"
    assert bt_fills == live_fills
    assert bt_orders == live_orders


def test_replayed_bars_are_the_ones_the_live_market_played() -> None:
    bars = generate_bars(SBER, START, START + timedelta(minutes=2), seed=7)
    assert bars.height == 2 and isinstance(bars["ts"][0], datetime)
    assert Decimal(str(bars["open"][0])) > 0
