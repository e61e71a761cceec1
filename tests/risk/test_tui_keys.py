"""Pilot: the kill-switch keys (halt instantly, flatten after a yes), the reset confirmation, the
banner, and the Strategies pane's worklist keys (add form with the engine's checks, remove
refused before asking while a position is held, close one row's position, stop)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from avin_tui.app import AvinApp
from avin_tui.screens.add_strategy import AddStrategyScreen
from avin_tui.screens.confirm import ConfirmScreen
from avin_tui.widgets.banner import Banner
from avin_tui.widgets.strategies import StrategiesTable
from engine.model.budget import Budget
from engine.model.snapshot import TradingState
from engine.runtime.worklist import SpecCheck, StrategySpec
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

    def check_strategy(self, spec: StrategySpec) -> SpecCheck:
        self.calls.append(("check", spec))
        if spec.instrument == "XXXXSBER":
            return SpecCheck(spec, errors=("instrument 'XXXXSBER' is not known to the broker",))
        if spec.instrument == "SBER":
            return SpecCheck(spec, warnings=("s1 already runs sma_cross on SBER (sim-1)",))
        return SpecCheck(spec)

    def close_strategy_position(self, sid: str) -> int:
        self.calls.append(("close", sid))
        return 2

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
        # F asks first: n, Enter and escape do not flatten
        for no in ("n", "enter", "escape"):
            await pilot.press("F")
            assert isinstance(app.screen, ConfirmScreen)
            assert "Flatten everything?" in str(app.screen.question)
            await pilot.press(no)
            assert not isinstance(app.screen, ConfirmScreen)
        assert "flatten" not in names(engine)
        await pilot.press("F")
        await pilot.press("y")
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
        await pilot.press("down")  # s2: no position
        sid = table.selected_key()
        assert sid == "s2"
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
        assert not isinstance(app.screen, AddStrategyScreen)
        (spec,) = [c[1] for c in engine.calls if c[0] == "add"]
        assert (
            spec.instrument == "ROSN"
            and spec.budget == Budget(amount=Decimal(25000))
            and spec.name == "sma_cross"
        )


def _toasts(app: AvinApp) -> str:
    return " ".join(str(n.message) for n in app._notifications)


async def test_remove_with_a_position_is_refused_before_asking_and_c_closes_it() -> None:
    engine = RiskEngine()
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(StrategiesTable)
        await wait_for(pilot, lambda: table.row_count > 0)
        table.focus()
        assert table.selected_key() == "s1"  # holds +2 lots
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert "s1 holds +2 lot(s): close its position first (C closes" in _toasts(app)
        assert "remove" not in names(engine)
        # C asks, n keeps the position, y closes it
        await pilot.press("C")
        assert isinstance(app.screen, ConfirmScreen)
        assert "holds +2 lot(s)" in str(app.screen.question) and "sell 2" in app.screen.question
        await pilot.press("n")
        assert "close" not in names(engine)
        await pilot.press("C")
        await pilot.press("y")
        await wait_for(pilot, lambda: ("close", "s1") in engine.calls)
        # a row without a position: nothing to close, no question
        await pilot.press("down")
        await pilot.press("C")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert "s2 holds no position" in _toasts(app)
        assert names(engine).count("close") == 1
        # while HALTED nothing can go out: refused before asking, with what to do
        await pilot.press("up")
        await pilot.press("ctrl+k")
        await pilot.press("C")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert "trading is HALTED: no order can go out. R resumes" in _toasts(app)
        assert names(engine).count("close") == 1


async def test_add_form_shows_the_engines_refusal_and_asks_again_on_a_warning() -> None:
    engine = RiskEngine()
    app = app_for(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(StrategiesTable)
        await wait_for(pilot, lambda: table.row_count > 0)
        table.focus()
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, AddStrategyScreen)
        form.query_one("#add-instrument").value = "XXXXSBER"  # type: ignore[attr-defined]
        form.submit()
        error = form.query_one("#add-error")
        await wait_for(pilot, lambda: "not known to the broker" in str(error.render()))
        assert app.screen is form and "add" not in names(engine)
        # a similar row: warned, added only on the second Add
        form.query_one("#add-instrument").value = "SBER"  # type: ignore[attr-defined]
        form.submit()
        warning = form.query_one("#add-warning")
        await wait_for(pilot, lambda: "Add again" in str(warning.render()))
        assert app.screen is form and "add" not in names(engine)
        form.submit()
        await wait_for(pilot, lambda: "add" in names(engine))
        await wait_for(pilot, lambda: app.screen is not form)
        await wait_for(pilot, lambda: "x added" in _toasts(app))


async def test_f_r_k_typed_into_the_add_form_are_letters() -> None:
    engine = RiskEngine()
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(StrategiesTable)
        await wait_for(pilot, lambda: table.row_count > 0)
        table.focus()
        engine.set(trading_state=TradingState.REDUCING)  # R would ask to resume
        await pilot.pause(0.2)
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, AddStrategyScreen)
        field = form.query_one("#add-instrument")
        field.value = ""  # type: ignore[attr-defined]
        field.focus()
        await pilot.press("F", "R", "K", "E")
        assert field.value == "FRKE"  # type: ignore[attr-defined]
        assert app.screen is form
        assert not {"flatten", "resume_trading", "kill"} & set(names(engine))
