"""A pause by hand stays (issue 13, defect 5); a strategy resumed while HALTED is shown held by the
halt, not running (defect 12)."""

from __future__ import annotations

from pathlib import Path

from engine.model.snapshot import StrategyState, TradingState
from engine.runtime.engine import EngineOptions
from engine.runtime.keeper import REARM
from engine.runtime.worklist import StrategySpec
from engine.state.embedded import DiskcacheStore

from .simkit import Driver

OPTIONS = EngineOptions(snapshot_interval=60, persist_min_gap=0, history_days=1)
SBER = StrategySpec("sma_cross", "SBER")
GAZP = StrategySpec("sma_cross", "GAZP")
SBER_ID, GAZP_ID = "sma_cross:SBER:sim-1", "sma_cross:GAZP:sim-1"


def states(d: Driver) -> dict[str, str]:
    return {row.id: row.state_text for row in d.engine.snapshot().strategies}


async def test_resume_after_a_kill_leaves_a_strategy_paused_by_hand_paused() -> None:
    async with Driver([SBER, GAZP]) as d:
        d.engine.pause_strategy(SBER_ID)
        d.engine.kill("test")
        assert states(d) == {SBER_ID: "paused", GAZP_ID: "held (halt)"}
        d.engine.resume_trading("test")
        assert d.engine.trading_state is TradingState.ACTIVE
        assert states(d) == {SBER_ID: "paused", GAZP_ID: "running"}


async def test_a_pause_by_hand_stays_across_a_restart_and_the_resume(tmp_path: Path) -> None:
    store = DiskcacheStore(tmp_path / "state")
    async with Driver([SBER, GAZP], OPTIONS, store=store) as d:
        d.engine.pause_strategy(SBER_ID)
        d.engine.kill("test")
    async with Driver([SBER, GAZP], OPTIONS, store=store) as d:
        assert d.engine.trading_state is TradingState.HALTED  # latched
        assert states(d) == {SBER_ID: "paused", GAZP_ID: "held (halt)"}
        d.engine.resume_trading("R")
        assert states(d) == {SBER_ID: "paused", GAZP_ID: "running"}
    async with Driver([SBER, GAZP], OPTIONS, store=store) as d:
        assert states(d) == {SBER_ID: "paused", GAZP_ID: "running"}
    store.close()


async def test_avin_resume_while_no_engine_ran_leaves_the_manual_pause(tmp_path: Path) -> None:
    store = DiskcacheStore(tmp_path / "state")
    async with Driver([SBER, GAZP], OPTIONS, store=store) as d:
        d.engine.pause_strategy(SBER_ID)
        d.engine.kill("test")
    store.save_trading_state(TradingState.ACTIVE, "")  # what `avin resume` does with no engine
    store.put(REARM, True)
    async with Driver([SBER, GAZP], OPTIONS, store=store) as d:
        assert d.engine.trading_state is TradingState.ACTIVE
        assert states(d) == {SBER_ID: "paused", GAZP_ID: "running"}
    store.close()


async def test_space_while_halted_shows_held_and_the_strategy_runs_after_the_resume() -> None:
    async with Driver([SBER]) as d:
        d.engine.pause_strategy(SBER_ID)
        d.engine.kill("test")
        d.engine.resume_strategy(SBER_ID)  # space on the paused row
        slot = d.engine.strategy(SBER_ID)
        assert slot is not None and slot.state is StrategyState.HELD
        (row,) = d.engine.snapshot().strategies
        assert row.state == "held" and row.held_by == "halt"
        assert row.state_text == "held (halt)"
        assert d.engine.snapshot().to_json()["strategies"][0]["held_by"] == "halt"
        await d.minutes(30)  # held: no signal, so no order (every one would be rejected)
        assert d.engine.book.orders == {}
        d.engine.pause_strategy(SBER_ID)  # space on the held row pauses it by hand
        assert states(d) == {SBER_ID: "paused"}
        d.engine.resume_strategy(SBER_ID)
        d.engine.resume_trading("R")
        assert states(d) == {SBER_ID: "running"}
