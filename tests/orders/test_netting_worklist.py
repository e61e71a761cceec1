"""The issue's user check, in process and deterministic: 30 sma_cross rows (five parameter sets on
each of the six simulated shares, one account, the default risk limits) trade a simulated
session on the simulated market stepped minute by minute: trading stays ACTIVE and no order is
refused as a self-trade (without netting some are: opposite market orders of rows on one share
in one bar). The 180-row run of the CLI is measured by hand (docs/risk.md)."""

from __future__ import annotations

import pytest

from engine.config import RiskSettings
from engine.model import OrderStatus
from engine.model.snapshot import TradingState
from engine.runtime.engine import EngineOptions
from engine.runtime.worklist import StrategySpec
from tests.runtime.simkit import Driver

TICKERS = ("SBER", "GAZP", "LKOH", "ROSN", "GMKN", "YDEX")
SETS = ((3, 10), (3, 15), (3, 20), (3, 25), (3, 30))
OPTIONS = EngineOptions(snapshot_interval=60, persist_min_gap=0, history_days=1)
SESSION_MINUTES = 8 * 60 + 40  # 07:00 to 15:40 UTC, the main session


@pytest.mark.slow
async def test_thirty_rows_trade_a_session_without_a_self_trade_refusal() -> None:
    rows = [
        StrategySpec("sma_cross", t, params={"fast": f, "slow": s, "lots": 1})
        for t in TICKERS
        for f, s in SETS
    ]
    async with Driver(rows, OPTIONS, risk=RiskSettings()) as d:
        await d.minutes(SESSION_MINUTES)
        engine = d.engine
        assert engine.trading_state is TradingState.ACTIVE, engine.halt_reason
        assert engine.risk.gate.rejections.get("self_trade", 0) == 0
        rejected = [o for o in engine.book.orders.values() if o.status is OrderStatus.REJECTED]
        # only the bar that closes with the session: its orders meet a closed market
        assert all(o.reason.startswith("session:") for o in rejected), rejected
        assert engine.counters.get("crossed_lots", 0) > 0  # rows did trade against each other
        book = engine.book
        for code in {s.instrument_code for s in engine.slots}:
            rows_lots = sum(
                book.strategy_position(s.id).lots for s in engine.slots if s.instrument_code == code
            )
            assert book.position("sim-1", code).lots == rows_lots, code
        theirs = {p.instrument: p.lots for p in await d.broker.positions("sim-1") if p.lots}
        ours = {c: p.lots for (_a, c), p in book.positions.items() if p.lots}
        assert ours == theirs
