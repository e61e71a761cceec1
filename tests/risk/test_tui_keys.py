"""Pilot: the kill-switch keys (halt, flatten), the reset confirmation, the banner, and the
Strategies pane's worklist keys (add form, remove confirmation, stop)."""

from __future__ import annotations

from typing import Any

from avin_tui.app import AvinApp
from avin_tui.screens.add_strategy import AddStrategyScreen
from avin_tui.screens.confirm import ConfirmScreen
from avin_tui.widgets.banner import Banner
from avin_tui.widgets.strategies import StrategiesTable
from engine.runtime.snapshot import TradingState
from engine.runtime.worklist import StrategySpec
from tests.tui.conftest import FakeEngine, wait_for


class RiskEngine(FakeEngine):
    def flatten(self, reason: str = "manual") -> None:
        self.calls.append(("flatten", reason))
        self.set(trading_state=TradingState.REDUCING, halt_reason=f"flatten: {reason}")

    def resume_trading(self, reason: str = "") -> None:
        self.calls.append(("resume_trading", reason))
        self.set(trading_state=TradingState.ACTIVE, halt_reason="")

    def add_strategy(self, spec: StrategySpec) -> str:
        self.calls.append(("add", spec))
        return "x"

    def remove_strategy(self, sid: str) -> None:
        self.calls.append(("remove", sid))

    def stop_strategy(self, sid: str) -> None:
        self.calls.append(("stop_strategy", sid))


def names(engine: RiskEngine) -> list[str]:
    return [c[0] for c in engine.calls if c[0] not in ("chart", "stop")]


def app_for(engine: Any) -> AvinApp:
    return AvinApp(engine, poll_interval=0.05, persist_layout=False)


async def test_halt_flatten_banner_and_confirmed_reset() -> None:
    engine = RiskEngine()
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        banner = app.screen.query_one(Banner)
        await pilot.press("F")
        assert names(engine) == ["flatten"]
        await wait_for(pilot, lambda: "REDUCING" in banner.text and banner.shown)
        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: "HALTED" in banner.text)
        # the reset asks; Enter (the default button) and n do not resume
        await pilot.press("R")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        assert not isinstance(app.screen, ConfirmScreen) and "resume_trading" not in names(engine)
        await pilot.press("R")
        await pilot.press("n")
        assert "resume_trading" not in names(engine)
        await pilot.press("R")
        await pilot.press("y")
        await wait_for(pilot, lambda: "resume_trading" in names(engine))
        await wait_for(pilot, lambda: not banner.shown)
        assert engine.snap.trading_state is TradingState.ACTIVE


async def test_trigger_reason_shows_in_the_banner() -> None:
    engine = RiskEngine()
    app = app_for(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        engine.set(
            trading_state=TradingState.HALTED,
            halt_reason="drawdown: drawdown 200,000.00 RUB from the peak",
        )
        banner = app.screen.query_one(Banner)
        await wait_for(pilot, lambda: "drawdown 200,000.00 RUB" in banner.text and banner.shown)


async def test_strategies_pane_add_remove_stop() -> None:
    engine = RiskEngine()
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(StrategiesTable)
        await wait_for(pilot, lambda: table.row_count > 0)
        table.focus()
        sid = table.selected_key()
        await pilot.press("S")
        await wait_for(pilot, lambda: ("stop_strategy", sid) in engine.calls)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: ("remove", sid) in engine.calls)
        await pilot.press("a")
        assert isinstance(app.screen, AddStrategyScreen)
        app.screen.query_one("#add-instrument").value = "ROSN"  # type: ignore[attr-defined]
        app.screen.query_one("#add-budget").value = "25000"  # type: ignore[attr-defined]
        await pilot.click("#add")
        await wait_for(pilot, lambda: "add" in names(engine))
        (spec,) = [c[1] for c in engine.calls if c[0] == "add"]
        assert spec.instrument == "ROSN" and spec.budget == 25000 and spec.name == "sma_cross"
