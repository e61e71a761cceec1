"""The rejections trigger watches the broker: only orders the broker rejected count.

A refusal by the engine's own rules (``self_trade``, any pre-trade check, the trading or strategy
state) is local policy: counted per rule in the snapshot counters, never towards
``risk.reject_limit``.
"""

from __future__ import annotations

from typing import Any

from engine.config import RiskSettings
from engine.model import Bar, OrderStatus, TimeFrame
from engine.model.snapshot import TradingState
from engine.runtime.engine import EngineOptions
from engine.runtime.worklist import StrategySpec
from engine.strategy import Strategy, StrategyContext, register
from tests.runtime.simkit import Driver

OPTIONS = EngineOptions(heartbeat_interval=0.05, persist_min_gap=0.0, history_days=1)
QUIET: dict[str, Any] = dict(  # every trigger but the rejections off
    daily_loss_limit=None,
    max_drawdown=None,
    disconnect_limit=0,
    stale_data_seconds=0,
    clock_skew_limit=0,
)


class Burst(Strategy):
    """On its first closed bar: ``count`` market orders of ``lots`` on ``side``."""

    name = "test_burst"

    def on_start(self, ctx: StrategyContext) -> None:
        self.done = False

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        if self.done:
            return
        self.done = True
        for _ in range(int(self.params["count"])):
            if self.params["side"] == "buy":
                ctx.buy(int(self.params["lots"]))
            else:
                ctx.sell(int(self.params["lots"]))


register(Burst)


def _rejected(d: Driver) -> int:
    return sum(1 for o in d.engine.book.orders.values() if o.status is OrderStatus.REJECTED)


async def test_self_trade_refusals_do_not_trip_the_rejections_trigger() -> None:
    # a limit buy far below the market rests; 25 market sells of another row would cross it
    worklist = [
        StrategySpec("test_resting", "SBER"),
        StrategySpec("test_burst", "SBER", params={"count": 25, "side": "sell", "lots": 1}),
    ]
    async with Driver(worklist, OPTIONS, risk=RiskSettings(**QUIET, reject_limit=20)) as d:
        await d.minutes(3)
        assert d.engine.risk.gate.rejections == {"self_trade": 25}
        assert _rejected(d) == 25
        assert d.engine.trading_state is TradingState.ACTIVE
        assert d.engine.risk.triggers.fired == set()


async def test_twenty_broker_rejections_still_trip_it() -> None:
    # 400 lots of SBER cost more than the simulated account's cash: the broker rejects each
    burst = StrategySpec("test_burst", "SBER", params={"count": 20, "side": "buy", "lots": 400})
    async with Driver([burst], OPTIONS, risk=RiskSettings(**QUIET, reject_limit=20)) as d:
        await d.minutes(3)
        assert d.engine.risk.gate.rejections == {}  # the pre-trade rules let them all go
        rejected = [o for o in d.engine.book.orders.values() if o.status is OrderStatus.REJECTED]
        assert len(rejected) >= 20 and all("not enough cash" in o.reason for o in rejected)
        assert d.engine.trading_state is TradingState.HALTED
        assert "rejections" in d.engine.halt_reason
