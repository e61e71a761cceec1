"""The per-minute order-rate limits count in market time on a market with its own clock.

The simulated market replays its own time (``--speed 3000``: 3000 market minutes per wall
minute); its orders per minute are market minutes. Against a broker without a market clock
(T-Invest) the limits stay on the wall (monotonic) clock. The test steps the market by hand, so
a few market minutes pass within a fraction of a wall second: the same order sequence is inside
the limit in market time and over it in wall time.
"""

from __future__ import annotations

from typing import Any

from engine.config import RiskSettings
from engine.model import OrderStatus
from engine.runtime.engine import EngineOptions
from engine.runtime.worklist import StrategySpec
from tests.runtime.simkit import Driver

OPTIONS = EngineOptions(heartbeat_interval=0.05, persist_min_gap=0.0, history_days=1)
QUIET: dict[str, Any] = dict(  # no trigger: a refusal must show as a refusal, not a halt
    daily_loss_limit=None,
    max_drawdown=None,
    reject_limit=0,
    disconnect_limit=0,
    stale_data_seconds=0,
    clock_skew_limit=0,
)
# one order on each of five consecutive 1-minute bars: never more than 2 in a market minute
PLAN = StrategySpec(
    "test_script", "SBER", params={"plan": {"1": 1, "2": -1, "3": 1, "4": -1, "5": 1}}
)


async def _run(*, market_clock: bool, **limits: int) -> tuple[int, dict[str, int]]:
    settings = RiskSettings(**{**QUIET, **limits})
    async with Driver([PLAN], OPTIONS, risk=settings) as d:
        if not market_clock:
            d.engine._market_clock = lambda: None  # type: ignore[method-assign]  # like T-Invest
        await d.minutes(7)
        orders = d.engine.book.orders.values()
        filled = sum(1 for o in orders if o.status is OrderStatus.FILLED)
        return filled, dict(d.engine.risk.gate.rejections)


async def test_strategy_rate_counts_market_minutes_on_the_simulated_market() -> None:
    filled, rejections = await _run(market_clock=True, orders_per_minute_strategy=2)
    assert rejections == {}
    assert filled == 5


async def test_account_rate_counts_market_minutes_on_the_simulated_market() -> None:
    filled, rejections = await _run(market_clock=True, orders_per_minute_account=2)
    assert rejections == {}
    assert filled == 5


async def test_without_a_market_clock_the_rates_count_wall_minutes() -> None:
    # the same five orders within a fraction of a wall second: the third is over the limit
    filled, rejections = await _run(market_clock=False, orders_per_minute_strategy=2)
    assert rejections == {"orders_per_minute_strategy": 3}
    assert filled == 2
    filled, rejections = await _run(market_clock=False, orders_per_minute_account=2)
    assert rejections == {"orders_per_minute_account": 3}
    assert filled == 2
