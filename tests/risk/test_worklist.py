"""The worklist: accounts and rows from the config, runtime add/stop/start/remove, persistence."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine.config import load_settings
from engine.model.budget import Budget
from engine.model.snapshot import StrategyState
from engine.runtime.engine import EngineOptions
from engine.runtime.worklist import StrategySpec, initial_worklist, worklist_from_rows
from engine.state.status_store import StatusStore
from tests.runtime.simkit import Driver

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "worklist.example.toml"
OPTIONS = EngineOptions(history_days=1)


def test_the_example_worklist_loads_with_accounts_budgets_and_risk_overrides() -> None:
    settings = load_settings(EXAMPLE)
    assert {a.id for a in settings.accounts} >= {"sim-1"}
    specs = worklist_from_rows(settings.strategies)
    assert all(s.account in {a.id for a in settings.accounts} for s in specs)
    assert any(s.budget is not None for s in specs)
    assert settings.risk.accounts and settings.risk.strategies


async def test_rows_change_at_runtime_and_come_back_after_a_restart(tmp_path: Path) -> None:
    store = StatusStore(tmp_path)
    configured = [StrategySpec("sma_cross", "SBER")]
    async with Driver(initial_worklist(_rows(configured), store), OPTIONS, store=store) as d:
        engine = d.engine
        new_id = engine.add_strategy(
            StrategySpec("test_resting", "GAZP", params={}, budget=Decimal(50_000))
        )
        await d.settle()
        for _ in range(100):
            if engine.book.open_orders(strategy=new_id):
                break
            await d.settle()
        (order,) = engine.book.open_orders(strategy=new_id)  # it started: on_start placed it
        assert "MOEX_SHARE_GAZP" in engine.charts
        engine.stop_strategy(new_id)
        await d.settle()
        assert engine.strategy(new_id).state is StrategyState.STOPPED  # type: ignore[union-attr]
        assert not order.is_open
        engine.pause_strategy("sma_cross:SBER:sim-1")
        assert {r.id: r.state for r in engine.snapshot().strategies} == {
            "sma_cross:SBER:sim-1": "paused",
            new_id: "stopped",
        }
    # the restart brings the changed worklist back, states included
    specs = initial_worklist(_rows(configured), store)
    assert [s.instrument for s in specs] == ["SBER", "GAZP"] and specs[1].budget == Budget(
        amount=Decimal(50_000)
    )
    async with Driver(specs, OPTIONS, store=store) as d:
        states = {r.id: r.state for r in d.engine.snapshot().strategies}
        assert states == {"sma_cross:SBER:sim-1": "paused", new_id: "stopped"}
        d.engine.start_strategy(new_id)
        await d.settle()
        assert d.engine.strategy(new_id).state is StrategyState.RUNNING  # type: ignore[union-attr]
        for _ in range(100):
            if d.engine.book.open_orders(strategy=new_id):
                break
            await d.settle()
        with pytest.raises(KeyError):
            d.engine.remove_strategy("nope")
        d.engine.remove_strategy(new_id)
        await d.settle()
        assert [r.id for r in d.engine.snapshot().strategies] == ["sma_cross:SBER:sim-1"]
        assert not d.engine.book.open_orders(strategy=new_id)
    assert [s.instrument for s in initial_worklist(_rows(configured), store)] == ["SBER"]
    # a changed configuration wins over the saved worklist
    other = [StrategySpec("sma_cross", "LKOH")]
    assert [s.instrument for s in initial_worklist(_rows(other), store)] == ["LKOH"]
    store.close()


async def test_removing_a_row_with_a_position_is_refused() -> None:
    plan = {"plan": {"1": 1}}
    async with Driver([StrategySpec("test_script", "SBER", params=plan)], OPTIONS) as d:
        await d.minutes(2)
        sid = d.engine.slots[0].id
        with pytest.raises(ValueError, match="holds"):
            d.engine.remove_strategy(sid)


def _rows(specs: list[StrategySpec]) -> list[object]:
    from engine.config import StrategyRowSettings

    return [
        StrategyRowSettings(
            name=s.name, instrument=s.instrument, account=s.account, params=s.params
        )
        for s in specs
    ]
