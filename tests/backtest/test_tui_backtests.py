"""The TUI screen of saved backtests: the list, and equity / drawdown drawn in braille."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from textual.app import App
from textual.widgets import DataTable, Static

from avin_tui.screens.backtests import BacktestsScreen, braille_plot
from engine.backtest import Backtester, BacktestOptions
from engine.backtest.report import build_report
from engine.backtest.storage import list_backtests, save_report
from tests.backtest.helpers import INST, Plan, bars


def test_braille_plot_draws_a_rising_line_bottom_left_to_top_right() -> None:
    rows = braille_plot([0, 1, 2, 3, 4, 5, 6, 7], 4, 2)
    assert len(rows) == 2 and all(len(r) == 4 for r in rows)
    assert rows[0][0] == "\u2800" and rows[1][-1] == "\u2800"  # empty corners
    assert rows[1][0] != "\u2800" and rows[0][-1] != "\u2800"
    assert braille_plot([], 3, 1) == ["\u2800" * 3]
    flat = braille_plot([5, 5, 5], 3, 1)
    assert all(ch != "\u2800" for ch in flat[0])


def _save(home: Path) -> None:
    prices = [100, 101, 104, 106, 108, 107]
    plan = {
        1: [{"side": "buy"}],
        2: [{"side": "sell"}],
        3: [{"side": "sell"}],
        4: [{"side": "buy"}],
    }
    result = Backtester(Plan({"plan": plan}), INST, BacktestOptions(commission=Decimal(0))).run(
        bars([(p, p, p, p) for p in prices])
    )
    save_report(build_report("test_plan", {}, [result]), home)


async def test_the_screen_lists_saved_backtests_and_draws_their_curves(tmp_path: Path) -> None:
    _save(tmp_path)
    _save(tmp_path)
    assert len(list_backtests(tmp_path)) == 2

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(BacktestsScreen(tmp_path))

    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()  # the list is read in a worker
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        text = str(app.screen.query_one("#curves", Static).render())
        assert "test_plan" in text and "drawdown" in text
        assert any("\u2800" < ch <= "\u28ff" for ch in text)
        await pilot.press("escape")
        assert not isinstance(app.screen, BacktestsScreen)
