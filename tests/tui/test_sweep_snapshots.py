"""Snapshots of a saved sweep opened from the backtests screen (``b``, enter), sorted by net P&L
with ``s``: its table and heatmap at 80x24 and 120x40 (dark), 120x40 light and 80x24 NO_COLOR.
After a deliberate change of the screen, look at the report and run
``pytest tests/tui/test_sweep_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import DataTable

from avin_tui.screens.backtests import BacktestsScreen
from avin_tui.screens.sweep import SweepScreen
from engine.backtest.sweep_storage import save_sweep, sweeps_home

from .snapshots import _until, settle, snapshot_app

HEADER = ["fast", "slow", "trades", "net_pnl", "max_drawdown", "sharpe", "win_rate"]
ROWS = [
    ["3", "20", "207", "-37.845", "40.44", "-27.93281638", "21.256039"],
    ["3", "40", "145", "-34.575", "34.67", "-28.3010368", "15.862069"],
    ["6", "20", "175", "-38.305", "41.02", "-29.39610135", "24"],
    ["6", "40", "108", "-32.575", "32.99", "-26.56995074", "18.518519"],
    ["9", "20", "149", "-32.345", "34.62", "-26.17818335", "26.845638"],
    ["9", "40", "92", "-27.045", "27.44", "", "22.826087"],
]
META = {
    "strategy": "sma_cross",
    "grid": {"fast": [3, 6, 9], "slow": [20, 40]},
    "params": {},
    "metrics": HEADER[2:],
    "source": {"data": "bars.csv"},
    "instruments": ["FILE_BARS_BARS"],
    "workers": 2,
    "combinations": 6,
    "complete": True,
}


async def open_sweep(pilot: Any) -> None:
    await settle(pilot)
    app = pilot.app
    await pilot.press("b")
    await _until(pilot, lambda: isinstance(app.screen, BacktestsScreen))
    await _until(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
    await pilot.press("enter")
    await _until(
        pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.frame is not None
    )
    await pilot.press("right", "right", "right", "s")
    await _until(pilot, lambda: app.screen.sorted_by == ("net_pnl", True))
    await pilot.pause(0.3)


@pytest.mark.parametrize(
    ("look", "size"),
    [("dark", (80, 24)), ("dark", (120, 40)), ("light", (120, 40)), ("no_color", (80, 24))],
    ids=["dark-80x24", "dark-120x40", "light-120x40", "no_color-80x24"],
)
def test_sweep_screen(
    snap_compare: Any, monkeypatch: pytest.MonkeyPatch, look: str, size: tuple[int, int]
) -> None:
    save_sweep(HEADER, ROWS, META, sweeps_home(), "20260101T120000000000-sma-cross")
    theme = "light" if look == "light" else "dark"
    app = snapshot_app(monkeypatch, theme=theme, no_color=look == "no_color")
    assert snap_compare(app, terminal_size=size, run_before=open_sweep)
