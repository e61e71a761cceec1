"""The Add form against the real engine on the simulated market: an unknown instrument and an
identical row are refused in the form itself, nothing is added; a good row is added and runs."""

from __future__ import annotations

from avin_tui.app import AvinApp
from avin_tui.screens.add_strategy import AddStrategyScreen
from avin_tui.widgets.strategies import StrategiesTable
from engine.runtime.engine import Engine

from .conftest import wait_for


def _form_text(form: AddStrategyScreen) -> str:
    return " ".join(str(form.query_one(f"#add-{w}").render()) for w in ("error", "warning"))


async def test_add_form_refuses_unknown_instrument_and_duplicate_in_the_form(
    sim_engine: Engine,
) -> None:
    app = AvinApp(sim_engine, poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: sim_engine.started, timeout=20)
        table = app.screen.query_one(StrategiesTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        before = [s.id for s in sim_engine.slots]
        table.focus()
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, AddStrategyScreen)
        form.query_one("#add-instrument").value = "XXXXSBER"  # type: ignore[attr-defined]
        form.submit()
        await wait_for(pilot, lambda: "not known to the broker" in _form_text(form))
        assert "The simulated market trades" in _form_text(form)  # what to do
        assert app.screen is form and [s.id for s in sim_engine.slots] == before
        # the demo row sma_cross:SBER:sim-1 runs the default parameters, which the form's
        # default parameters spell out: the same row, a duplicate
        form.query_one("#add-instrument").value = "SBER"  # type: ignore[attr-defined]
        form.submit()
        await wait_for(pilot, lambda: "duplicate" in _form_text(form))
        assert app.screen is form and [s.id for s in sim_engine.slots] == before
        # a new instrument: added, the form closes, the row shows up
        form.query_one("#add-instrument").value = "ROSN"  # type: ignore[attr-defined]
        form.submit()
        await wait_for(pilot, lambda: app.screen is not form)
        await wait_for(pilot, lambda: "sma_cross:ROSN:sim-1" in table.shown_rows)


def test_a_second_row_of_the_same_strategy_is_told_apart() -> None:
    from decimal import Decimal

    from avin_tui.widgets.strategies import strategy_cells
    from engine.model.snapshot import StrategyRow

    def row(sid: str) -> StrategyRow:
        return StrategyRow(sid, "sma_cross", "MOEX_SHARE_SBER", "sim-1", "running", 0, Decimal(0))

    first = strategy_cells(row("sma_cross:SBER:sim-1"))
    second = strategy_cells(row("sma_cross:SBER:sim-1#2"))
    assert "sma_cross" in first and "sma_cross #2" in second
    assert first != second
