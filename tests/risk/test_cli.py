"""``avin kill --flatten/--reduce`` and ``avin resume`` (confirmation, --yes), offline and live."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest

from avin_tui.cli import main
from avin_tui.cli.kill import resume_command
from engine.model.snapshot import TradingState
from engine.paths import homes
from engine.runtime.engine import EngineOptions
from engine.runtime.worklist import StrategySpec
from engine.state.status_store import StatusStore
from tests.runtime.simkit import Driver


def _status(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    main(["status", "--json"])
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_offline_states_show_in_status_json(
    avin_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with StatusStore(homes().ensure().state) as store:
        store.save_snapshot({"mode": "sim", "trading_state": "ACTIVE"})
    assert main(["kill", "--reduce", "--reason", "ops reduce"]) == 0
    data = _status(capsys)
    assert data["trading_state"] == "REDUCING" and data["halt_reason"] == "ops reduce"
    assert main(["kill"]) == 0 and _status(capsys)["trading_state"] == "HALTED"
    assert main(["kill", "--flatten"]) == 0  # HALTED stays HALTED: flatten needs a running engine
    assert _status(capsys)["trading_state"] == "HALTED"
    assert main(["resume"]) == 1  # not a terminal and no --yes: refused
    assert _status(capsys)["trading_state"] == "HALTED"
    assert main(["resume", "--yes"]) == 0 and _status(capsys)["trading_state"] == "ACTIVE"


def test_resume_asks() -> None:
    args = argparse.Namespace(yes=False, reason="r", wait=0.1)
    assert resume_command(args, ask=lambda q: "no", interactive=True) == 1
    with StatusStore(homes().ensure().state) as store:
        store.save_trading_state(TradingState.HALTED, "x")
        assert resume_command(args, ask=lambda q: "yes", interactive=True) == 0
        assert store.trading_state()[0] is TradingState.ACTIVE


async def test_flatten_and_reduce_against_the_running_engine(avin_home: Path) -> None:
    store = StatusStore(homes().ensure().state)
    options = EngineOptions(heartbeat_interval=0.05, persist_min_gap=0.01, history_days=1)
    plan = {"plan": {"1": 2}}
    worklist = [
        StrategySpec("test_script", "SBER", params=plan),
        StrategySpec("test_resting", "GAZP"),
    ]
    async with Driver(worklist, options, store=store) as d:
        await d.minutes(2)
        assert d.engine.book.position("sim-1", "MOEX_SHARE_SBER").lots == 2
        assert await asyncio.to_thread(main, ["kill", "--reduce"]) == 0
        assert d.engine.trading_state is TradingState.REDUCING
        assert await asyncio.to_thread(main, ["kill", "--flatten", "--reason", "eod"]) == 0
        # already REDUCING, so the command confirms at once: wait until the engine took it
        for _ in range(200):
            if "eod" in d.engine.halt_reason:
                break
            await asyncio.sleep(0.05)
        for _ in range(200):
            await d.minutes(1)
            if not d.engine.book.position("sim-1", "MOEX_SHARE_SBER").lots:
                break
        assert d.engine.book.position("sim-1", "MOEX_SHARE_SBER").lots == 0
        assert not d.engine.book.open_orders()  # the resting GAZP order was cancelled
        assert d.engine.trading_state is TradingState.REDUCING
        assert "eod" in d.engine.halt_reason
        strat = d.engine.book.strategy_positions[d.engine.slots[0].id]
        assert strat.lots == 0  # closed by an order of its own strategy (netting rule)
    store.close()
