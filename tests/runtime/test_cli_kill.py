"""``avin kill`` / ``avin resume``: the out-of-band kill switch through the status store."""

import asyncio
from pathlib import Path

from avin_tui.cli import main
from engine.model.snapshot import StrategyState, TradingState
from engine.paths import homes
from engine.runtime.engine import EngineOptions
from engine.runtime.worklist import StrategySpec
from engine.state.status_store import StatusStore

from .simkit import Driver


async def test_kill_and_resume_from_the_command_line(avin_home: Path) -> None:
    store = StatusStore(homes().ensure().state)
    options = EngineOptions(heartbeat_interval=0.05, persist_min_gap=0.01)
    async with Driver([StrategySpec("test_resting", "SBER")], options, store=store) as d:
        (order,) = d.engine.book.open_orders()
        assert await asyncio.to_thread(main, ["kill", "--reason", "ops"]) == 0
        assert d.engine.trading_state is TradingState.HALTED and d.engine.halt_reason == "ops"
        await d.settle()
        assert not order.is_open
        assert await asyncio.to_thread(main, ["resume", "--yes"]) == 0
        assert d.engine.trading_state is TradingState.ACTIVE
        assert d.engine.slots[0].state is StrategyState.RUNNING
    assert main(["kill", "--reason", "offline"]) == 0  # nothing runs: latched for the next run
    assert store.trading_state() == (TradingState.HALTED, "offline")
    assert main(["resume", "--yes"]) == 0 and store.trading_state()[0] is TradingState.ACTIVE
    store.close()
