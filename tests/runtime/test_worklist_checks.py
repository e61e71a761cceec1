"""A new worklist row is checked before it is added (strategy, instrument, account, duplicates),
and one row's position can be closed on its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from avin_tui.cli import main
from engine.model import OrderType, Side
from engine.model.snapshot import StrategyState, TradingState
from engine.runtime.engine import EngineOptions
from engine.runtime.worklist import StrategySpec, duplicate_problems, spec_problems
from tests.runtime.simkit import Driver

OPTIONS = EngineOptions(history_days=1)
SMA = StrategySpec("sma_cross", "SBER", params={"fast": 5, "slow": 20, "lots": 1})


async def test_an_identical_row_is_refused_and_names_the_existing_one() -> None:
    async with Driver([SMA], OPTIONS) as d:
        with pytest.raises(ValueError, match="duplicate: sma_cross:SBER:sim-1 already runs"):
            d.engine.add_strategy(SMA)
        # the code form of the same instrument is the same row
        with pytest.raises(ValueError, match="duplicate"):
            d.engine.add_strategy(StrategySpec("sma_cross", "MOEX_SHARE_SBER", params=SMA.params))
        assert len(d.engine.slots) == 1


async def test_an_unknown_instrument_is_refused_before_anything_is_added() -> None:
    async with Driver([SMA], OPTIONS) as d:
        with pytest.raises(ValueError, match="'XXXXSBER' is not known to the broker"):
            d.engine.add_strategy(StrategySpec("sma_cross", "XXXXSBER"))
        assert [s.id for s in d.engine.slots] == ["sma_cross:SBER:sim-1"]


async def test_bad_parameters_and_unknown_strategies_are_refused() -> None:
    async with Driver([SMA], OPTIONS) as d:
        with pytest.raises(ValueError, match="must be shorter"):
            d.engine.add_strategy(StrategySpec("sma_cross", "GAZP", params={"fast": 30}))
        with pytest.raises(ValueError, match="unknown strategy"):
            d.engine.add_strategy(StrategySpec("no_such", "GAZP"))
        assert len(d.engine.slots) == 1


async def test_check_from_another_thread_asks_the_broker_and_warns_on_a_similar_row() -> None:
    async with Driver([SMA], OPTIONS) as d:
        unknown = await asyncio.to_thread(
            d.engine.check_strategy, StrategySpec("sma_cross", "XXXXSBER")
        )
        assert not unknown.ok and "not known to the broker" in unknown.errors[0]
        account = await asyncio.to_thread(
            d.engine.check_strategy, StrategySpec("sma_cross", "GAZP", account="acc-9")
        )
        assert any("account 'acc-9' is not at the broker" in e for e in account.errors)
        similar = StrategySpec("sma_cross", "SBER", params={"fast": 3, "slow": 10, "lots": 1})
        checked = await asyncio.to_thread(d.engine.check_strategy, similar)
        assert checked.ok and checked.warnings and "already runs" in checked.warnings[0]
        # a warning does not refuse the row: both trade their own position
        new_id = await asyncio.to_thread(d.engine.add_strategy, similar)
        assert new_id == "sma_cross:SBER:sim-1#2"


def test_offline_checks_name_the_problem() -> None:
    assert spec_problems(StrategySpec("", "SBER")) == ["strategy: required (e.g. sma_cross)"]
    errors, warnings = duplicate_problems(SMA, [("a", SMA, "")])
    assert errors and not warnings
    other = StrategySpec("sma_cross", "SBER", account="acc-2", params=SMA.params)
    assert duplicate_problems(other, [("a", SMA, "")]) == ([], [])


def test_config_check_refuses_repeated_rows(avin_home: Path, capsys: pytest.CaptureFixture) -> None:
    config = avin_home / "dup.toml"
    row = '[[strategies]]\nname = "sma_cross"\ninstrument = "SBER"\n'
    config.write_text(row + "\n" + row.replace('"SBER"', '"MOEX_SHARE_SBER"'))
    assert main(["config", "check", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "strategies #2" in err and "duplicate" in err and "remove one of the rows" in err


async def test_close_position_pauses_the_row_and_closes_only_its_lots() -> None:
    plan = {"plan": {"1": 2}}
    rows = [StrategySpec("test_script", "SBER", params=plan), SMA]
    async with Driver(rows, OPTIONS) as d:
        await d.minutes(2)
        sid = "test_script:SBER:sim-1"
        assert d.engine.book.strategy_positions[sid].lots == 2
        with pytest.raises(ValueError, match="holds no position"):
            d.engine.close_strategy_position("sma_cross:SBER:sim-1")
        assert d.engine.close_strategy_position(sid) == 2
        assert d.engine.strategy(sid).state is StrategyState.PAUSED  # type: ignore[union-attr]
        for _ in range(20):
            await d.minutes(1)
            if d.engine.book.strategy_positions[sid].lots == 0:
                break
        assert d.engine.book.strategy_positions[sid].lots == 0
        closing = [o for o in d.engine.book.orders.values() if o.strategy == sid][-1]
        assert (closing.side, closing.type, closing.lots) == (Side.SELL, OrderType.MARKET, 2)
        assert d.engine.trading_state is TradingState.ACTIVE


async def test_close_position_while_halted_says_what_to_do() -> None:
    async with Driver([StrategySpec("test_script", "SBER", params={"plan": {"1": 1}})]) as d:
        await d.minutes(2)
        d.engine.kill("test")
        with pytest.raises(ValueError, match=r"HALTED.*R resumes"):
            d.engine.close_strategy_position("test_script:SBER:sim-1")


def test_config_check_refuses_an_instrument_the_simulated_market_lacks(
    avin_home: Path, capsys: pytest.CaptureFixture
) -> None:
    config = avin_home / "bad.toml"
    config.write_text('[[strategies]]\nname = "sma_cross"\ninstrument = "XXXXSBER"\n')
    assert main(["config", "check", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "strategies #1.instrument" in err and "'XXXXSBER' is not traded" in err
    assert "use one of GAZP, GMKN, LKOH, ROSN, SBER, YDEX" in err
    config.write_text('[[strategies]]\nname = "sma_cross"\ninstrument = "MOEX_SHARE_GAZP"\n')
    assert main(["config", "check", "--config", str(config)]) == 0
