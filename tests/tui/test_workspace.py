"""The workspace: one versioned record in the state store, written debounced and at quit, restored
after a quit, a SIGKILL and an upgrade; a damaged or foreign record means defaults and one notice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

from avin_tui.app import AvinApp
from avin_tui.layout import VERSION, TableState, UiState, Workspace, legacy_path, parse
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.chart_view import ChartView
from avin_tui.widgets.log_pane import LogPane
from avin_tui.widgets.orders import OrdersTable
from engine.model import TimeFrame
from engine.paths import homes
from engine.state.embedded import DiskcacheStore
from engine.state.workspace import KIND, read_workspace

from .conftest import FakeEngine, make_snapshot, wait_for


def store() -> DiskcacheStore:
    return DiskcacheStore(homes().ensure().state)


def full_state() -> UiState:
    return UiState(
        screen="backtests",
        focused="chart",
        maximized="log",
        theme="light",
        columns=[1, 3],
        rows=[2, 1, 1],
        instrument="MOEX_SHARE_GAZP",
        timeframe="1H",
        terms=[1, 5],
        zoom=4,
        scroll=30,
        tables={"orders": TableState("bbbbbbbb-2222", "price", True)},
        log={"level": "WARNING", "search": "fill", "regex": False},
    )


def test_the_record_round_trips_in_the_store_and_says_what_it_is() -> None:
    s = store()
    ws = Workspace(s)
    assert ws.load() == (UiState(), None)  # nothing saved: defaults, no notice
    ws.save(full_state())
    assert ws.load() == (full_state(), None)
    raw = json.loads(s.get_text("workspace") or "")
    assert raw["kind"] == KIND and raw["version"] == VERSION and raw["saved_ts"]
    assert read_workspace(s).data == full_state().to_json()


def test_damaged_foreign_and_unknown_records_mean_defaults_and_a_reason() -> None:
    s = store()
    ws = Workspace(s)
    bad = {
        "damaged": "{not json",
        "foreign": json.dumps({"panes": ["chart"], "sizes": [3, 1]}),
        "newer": json.dumps({"kind": KIND, "version": 99, "data": {}}),
        "no data": json.dumps({"kind": KIND, "version": VERSION, "data": 3}),
    }
    for what, text in bad.items():
        s._cache.set("value:workspace", text)
        state, problem = ws.load()
        assert state == UiState(), what
        assert problem is not None and "default layout" in problem, what
    assert not s.damage  # a bad workspace is not damage of the trading state


def test_values_that_make_no_sense_any_more_fall_back_one_by_one() -> None:
    state = parse(
        {
            "focused": "nope",
            "instrument": "MOEX_SHARE_SBER",
            "timeframe": "7X",
            "terms": [2, 9],
            "zoom": 3,
            "columns": [0, 99],
            "tables": {"orders": {"cursor": 5, "sort": "status"}, "ghost": {}},
            "log": {"level": "LOUD"},
        }
    )
    assert state.focused == "strategies" and state.instrument == "MOEX_SHARE_SBER"
    assert state.timeframe == TimeFrame.M1.code and state.terms == [2] and state.zoom == 1
    assert state.columns == [1, 1] and state.log_level == "INFO"
    assert state.tables == {"orders": TableState(None, "status", False)}


def test_an_upgrade_reads_the_old_ui_json_once_and_then_the_record_replaces_it() -> None:
    path = legacy_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    old = {"version": 1, "focused": "log", "instrument": "MOEX_SHARE_GAZP", "timeframe": "1H"}
    path.write_text(json.dumps({**old, "terms": [4], "log_level": "ERROR"}))
    ws = Workspace(store())
    state, problem = ws.load()
    assert problem is None
    assert (state.focused, state.instrument, state.timeframe) == ("log", "MOEX_SHARE_GAZP", "1H")
    assert state.terms == [4] and state.log_level == "ERROR"
    ws.save(state)
    assert not path.exists()  # one place
    assert ws.load() == (state, None)


async def test_everything_the_user_set_up_comes_back_after_a_quit() -> None:
    app = AvinApp(FakeEngine(store=store()), poll_interval=0.05, layout_debounce=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: chart.instrument is not None)
        await pilot.press("n", "right_square_bracket", "right_square_bracket", "4")
        await pilot.press("c", "minus", "left")  # chart: zoomed out, scrolled back
        await pilot.press("o", "down", "comma", "comma")  # orders: cursor, sort descending
        await pilot.press("c", "greater_than_sign", "T")  # chart grown, light theme
        await pilot.press("t")  # chart: the order book instead of candles
        await pilot.press("l", "v")  # log: focused, level WARNING
        await pilot.press("z")  # log maximised
        saved = app.current_layout()
        keeper = app.layout_keeper
        await wait_for(pilot, lambda: keeper.workspace.saves > 0 and keeper.timer is None)
    assert saved.instrument == "MOEX_SHARE_GAZP" and saved.timeframe == TimeFrame.M10.code
    assert saved.zoom == 2 and saved.scroll > 0 and 4 in saved.terms
    assert saved.tables["orders"].sort == "instrument" and saved.tables["orders"].descending
    assert saved.tables["orders"].cursor is not None
    assert saved.focused == "log" and saved.maximized == "log" and saved.theme == "light"
    assert saved.columns == [1, 2] and saved.rows == [2, 2, 1]
    assert saved.log_level == "WARNING"
    assert saved.panes["chart"]["mode"] == "depth"
    state, problem = Workspace(store()).load()
    assert problem is None and state == saved

    app = AvinApp(FakeEngine(store=store()), poll_interval=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        chart = app.screen.query_one(ChartPane)
        orders = app.screen.query_one(OrdersTable)
        await wait_for(pilot, lambda: chart.depth.enabled and orders.row_count > 0)
        assert chart.instrument == "MOEX_SHARE_GAZP" and chart.timeframe is TimeFrame.M10
        assert 4 in chart.terms and chart.view == ChartView(saved.scroll, 2)
        assert (orders.sort_column, orders.sort_descending) == ("instrument", True)
        assert orders.selected_key() == saved.tables["orders"].cursor
        assert app.focused is not None and app.focused.id == "log"
        assert app.screen.maximized is app.screen.query_one(LogPane)
        assert app.theme == "textual-light"
        sizes = app.layout_keeper.pane_sizes
        assert sizes.columns == [1, 2] and sizes.rows == [2, 2, 1]
        assert app.screen.query_one(LogPane).get_state()["level"] == "WARNING"
        assert chart.depth.enabled
        assert app.current_layout() == saved
        assert not app._notifications  # all was well: no notice


async def test_a_restored_cursor_waits_for_its_row() -> None:
    """Orders known only after recovery: the saved cursor row is kept (and saved again as it is)
    until the row comes, then the cursor is on it."""
    Workspace(store()).save(UiState(tables={"orders": TableState("late-0001", None, False)}))
    engine = FakeEngine(make_snapshot(), store=store())
    app = AvinApp(engine, poll_interval=0.05, layout_debounce=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        orders = app.screen.query_one(OrdersTable)
        await wait_for(pilot, lambda: orders.row_count == 2)
        assert orders.selected_key() != "late-0001"
        assert app.current_layout().tables["orders"].cursor == "late-0001"
        late = replace(engine.snap.orders[0], key="late-0001")
        engine.set(orders=(*engine.snap.orders, late))
        await wait_for(pilot, lambda: orders.row_count == 3)
        assert orders.selected_key() == "late-0001"


async def test_the_saved_instrument_outlives_a_start_up_that_lists_instruments_one_by_one() -> None:
    """While history loads the engine lists only the instruments loaded so far: the saved chart
    instrument is kept until start-up is over, and replaced only if it is not traded any more."""
    Workspace(store()).save(UiState(instrument="MOEX_SHARE_GAZP"))
    engine = FakeEngine(
        make_snapshot(instruments=("MOEX_SHARE_SBER",), started=False), store=store()
    )
    app = AvinApp(engine, poll_interval=0.05, layout_debounce=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: app.feed.applied_count >= 1)  # the partial list, applied
        assert chart.instrument == "MOEX_SHARE_GAZP"
        engine.set(instruments=("MOEX_SHARE_SBER", "MOEX_SHARE_GAZP"), started=True)
        await wait_for(pilot, lambda: app.feed.applied_version == engine.snap.version)
        assert chart.instrument == "MOEX_SHARE_GAZP"

    Workspace(store()).save(UiState(instrument="MOEX_SHARE_XXXX"))  # no longer traded
    engine = FakeEngine(make_snapshot(instruments=("MOEX_SHARE_SBER",)), store=store())
    app = AvinApp(engine, poll_interval=0.05, layout_debounce=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: chart.instrument == "MOEX_SHARE_SBER")


async def test_the_open_screen_comes_back() -> None:
    app = AvinApp(FakeEngine(store=store()), poll_interval=0.05, layout_debounce=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.panes_ready)
        await pilot.press("b")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "BacktestsScreen")
        await wait_for(pilot, lambda: Workspace(store()).load()[0].screen == "backtests")
    app = AvinApp(FakeEngine(store=store()), poll_interval=0.05, layout_debounce=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: type(app.screen).__name__ == "BacktestsScreen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: Workspace(store()).load()[0].screen == "main")


async def test_writes_are_debounced_and_a_bad_record_gives_one_notice_once() -> None:
    s = store()
    s._cache.set("value:workspace", "{damaged")
    app = AvinApp(FakeEngine(store=s), poll_interval=0.05, layout_debounce=2.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.panes_ready)
        notices = [n for n in app._notifications if n.title == "workspace"]
        assert len(notices) == 1 and "default layout" in notices[0].message
        assert app.screen.query_one(ChartPane).timeframe is TimeFrame.M1
        keeper = app.layout_keeper
        assert keeper.workspace.saves == 1  # the defaults were written over the bad record
        await wait_for(pilot, lambda: keeper.timer is None, timeout=15)  # (focus: one more)
        saves = keeper.workspace.saves
        for _ in range(5):  # a burst of changes: one write, after the last one
            await pilot.press("right_square_bracket")
        assert keeper.workspace.saves == saves and keeper.timer is not None
        await wait_for(pilot, lambda: keeper.workspace.saves > saves, timeout=15)
        assert keeper.workspace.saves == saves + 1 and keeper.timer is None
        assert Workspace(s).load()[0].timeframe == app.current_layout().timeframe
    app = AvinApp(FakeEngine(store=store()), poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.panes_ready)
        assert not [n for n in app._notifications if n.title == "workspace"]  # once only


def test_a_sigkill_loses_at_most_the_last_second() -> None:
    """A separate process changes the layout, waits for the debounced write and is SIGKILLed:
    the record in the store has the change."""
    script = textwrap.dedent(
        """
        import asyncio, os, signal, sys
        sys.path.insert(0, sys.argv[1])
        from tui.conftest import FakeEngine, wait_for
        from avin_tui.app import AvinApp
        from engine.paths import homes
        from engine.state.embedded import DiskcacheStore

        async def main():
            store = DiskcacheStore(homes().ensure().state)
            app = AvinApp(FakeEngine(store=store), poll_interval=0.05)
            async with app.run_test(size=(100, 30)) as pilot:
                await wait_for(pilot, lambda: app.panes_ready)
                await pilot.press("right_square_bracket", "c")
                await wait_for(pilot, lambda: app.layout_keeper.workspace.saves > 0, timeout=5)
                os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    tests_dir = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run(
        [sys.executable, "-c", script, tests_dir],
        env={**os.environ, "PYTHONPATH": str(Path(tests_dir).parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    state, problem = Workspace(store()).load()
    assert problem is None
    assert state.timeframe == TimeFrame.M5.code and state.focused == "chart"
