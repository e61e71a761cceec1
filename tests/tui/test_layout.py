"""UI state persistence: saved debounced and atomically, restored on start, bad records ignored."""

from __future__ import annotations

import json
from pathlib import Path

from avin_tui.app import AvinApp
from avin_tui.layout import UiState, load_ui_state, save_ui_state, ui_state_path
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.log_pane import LogPane
from engine.model import TimeFrame

from .conftest import FakeEngine, wait_for


def test_round_trip_and_bad_records(avin_home: Path) -> None:
    path = ui_state_path()
    assert load_ui_state() == (UiState(), None)
    state = UiState(focused="chart", instrument="MOEX_SHARE_GAZP", timeframe="1H", terms=[1, 5])
    save_ui_state(state)
    assert load_ui_state() == (state, None)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".ui.")]  # no temp left
    for bad in ("{", json.dumps({"version": 99}), json.dumps({"version": 1, "focused": "nope"})):
        path.write_text(bad)
        loaded, problem = load_ui_state()
        assert loaded == UiState() and problem is not None and "default" in problem


async def test_layout_is_saved_and_restored() -> None:
    app = AvinApp(FakeEngine(), poll_interval=0.05, layout_debounce=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: chart.instrument is not None)
        await pilot.press("n", "right_square_bracket", "right_square_bracket", "4", "l", "v")
        await wait_for(pilot, lambda: ui_state_path().exists())
        await pilot.pause(0.3)
    saved, problem = load_ui_state()
    assert problem is None
    assert saved.instrument == "MOEX_SHARE_GAZP"
    assert saved.timeframe == TimeFrame.M10.code
    assert 4 in saved.terms
    assert saved.focused == "log" and saved.log_level == "WARNING"

    app = AvinApp(FakeEngine(), poll_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: chart.showing_bars)
        assert chart.instrument == "MOEX_SHARE_GAZP"
        assert chart.timeframe is TimeFrame.M10
        assert 4 in chart.terms
        assert app.focused is not None and app.focused.id == "log"
        assert app.screen.query_one(LogPane).min_level == "WARNING"


async def test_a_bad_layout_file_falls_back_and_says_so() -> None:
    ui_state_path().parent.mkdir(parents=True, exist_ok=True)
    ui_state_path().write_text("not json")
    app = AvinApp(FakeEngine(), poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        assert any("default layout" in str(n.message) for n in app._notifications)
        assert app.screen.query_one(ChartPane).timeframe is TimeFrame.M1
