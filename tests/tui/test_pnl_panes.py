"""One P&L, net of fees, in both panes (issue 13, defect 3), and ``held (halt)`` in the
Strategies pane (defect 12): the panes fed with a real engine's snapshot."""

from __future__ import annotations

from textual.app import App, ComposeResult

from avin_tui.widgets._format import pnl_summary
from avin_tui.widgets.positions import PositionsTable
from avin_tui.widgets.strategies import StrategiesTable
from engine.model.snapshot import EngineSnapshot
from engine.runtime.worklist import StrategySpec
from tests.runtime.simkit import Driver

LONG = StrategySpec("test_script", "SBER", params={"plan": {"2": 2, "5": -1}})
SHORT = StrategySpec("test_script", "GAZP", params={"plan": {"3": -1}})


class Panes(App[None]):
    def compose(self) -> ComposeResult:
        yield StrategiesTable(id="strategies")
        yield PositionsTable(id="positions")

    def show(self, snap: EngineSnapshot) -> None:
        self.query_one(StrategiesTable).update_rows(snap.strategies)
        self.query_one(PositionsTable).update_rows(snap.positions)


async def test_both_panes_show_the_same_net_pnl_and_the_fees() -> None:
    async with Driver([LONG, SHORT]) as d:
        await d.minutes(7)
        snap = d.engine.snapshot()
        assert snap.commission > 0
        d.engine.kill("test")
        held = d.engine.snapshot()
    gross = sum((p.realized + p.unrealized for p in snap.positions), start=snap.pnl * 0)
    assert snap.pnl == gross - snap.commission  # net of fees, not the gross of before
    assert sum(r.pnl for r in snap.strategies) == snap.pnl
    app = Panes()
    async with app.run_test(size=(160, 20)) as pilot:
        app.show(snap)
        await pilot.pause()
        strategies = str(app.query_one(StrategiesTable).border_subtitle)
        positions = str(app.query_one(PositionsTable).border_subtitle)
        assert positions.endswith(pnl_summary(snap.pnl, snap.commission)), positions
        assert strategies.endswith(pnl_summary(snap.pnl)), strategies  # the same number
        assert pnl_summary(snap.pnl) in positions
        table = app.query_one(StrategiesTable)
        header = table.render_line(0).text
        assert "P&L" in header and "Comm" in header
        app.show(held)
        await pilot.pause()
        cells = [table.shown_rows[r.id][1].plain for r in held.strategies]
        assert cells == ["held (halt)", "held (halt)"]
        assert "held (halt)" in table.render_line(1).text
