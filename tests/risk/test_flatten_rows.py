"""After a flatten the Strategies rows show flat positions (issue 13, defect 11), also when one net
order had to close the account position (strategies on opposite sides of one instrument), and the
strategies' P&L still adds up to the account's (defect 3)."""

from __future__ import annotations

import asyncio

from engine.config import RiskSettings
from engine.runtime.engine import EngineOptions
from engine.runtime.worklist import StrategySpec
from tests.runtime.simkit import Driver

LONG = StrategySpec("test_script", "SBER", params={"plan": {"2": 2}})
SHORT = StrategySpec("test_script", "SBER", params={"plan": {"4": -1}})
RISK = RiskSettings(flatten_cancel_timeout=0.5)


async def flatten(d: Driver) -> None:
    d.engine.flatten("test")
    for _ in range(200):  # the flatten task: cancels, then its market orders; then they fill
        await d.minutes(1)
        if not d.engine.risk.flattening and not d.engine.book.open_orders():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the flatten did not finish")


async def test_a_net_flatten_closes_the_strategies_rows_too() -> None:
    async with Driver([LONG, SHORT], EngineOptions(), risk=RISK) as d:
        await d.minutes(6)
        snap = d.engine.snapshot()
        assert [r.position for r in snap.strategies] == [2, -1]
        assert [p.lots for p in snap.positions] == [1]
        await flatten(d)
        snap = d.engine.snapshot()
        assert [p.lots for p in snap.positions] == [0]
        assert [r.position for r in snap.strategies] == [0, 0]
        # one P&L: the strategies' net P&L and commission add up to the positions'
        assert sum(r.pnl for r in snap.strategies) == snap.pnl
        assert sum(r.commission for r in snap.strategies) == snap.commission
        assert snap.commission > 0 and snap.pnl == snap.positions[0].pnl


async def test_a_per_strategy_flatten_leaves_every_row_flat() -> None:
    demo = [StrategySpec("test_script", c, params={"plan": {"2": 1}}) for c in ("SBER", "GAZP")]
    async with Driver(demo, EngineOptions(), risk=RISK) as d:
        await d.minutes(4)
        assert [r.position for r in d.engine.snapshot().strategies] == [1, 1]
        await flatten(d)
        snap = d.engine.snapshot()
        assert [r.position for r in snap.strategies] == [0, 0]
        assert sum(r.pnl for r in snap.strategies) == snap.pnl
