"""The app against a test double of the engine: layout, keys, commands, quit, crash, themes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.widgets import Label

from avin_tui.app import AvinApp, theme_path
from avin_tui.screens.confirm_quit import ConfirmQuitScreen
from avin_tui.screens.help import HelpScreen
from avin_tui.widgets.banner import Banner
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.log_pane import LogPane
from avin_tui.widgets.orders import OrdersTable
from avin_tui.widgets.positions import PositionsTable
from avin_tui.widgets.status_bar import StatusBar
from avin_tui.widgets.strategies import StrategiesTable
from engine.model import TimeFrame
from engine.model.snapshot import TradingState

from .conftest import SIZES, FakeEngine, make_snapshot, wait_for

ROOT = Path(__file__).resolve().parents[2]


def chart_text(app: AvinApp) -> str:
    return "".join(strip.text for strip in app.screen.query_one(ChartPane).rendered_strips)


@pytest.mark.parametrize("size", SIZES)
async def test_all_five_panes_show_data(fake_engine: FakeEngine, size: tuple[int, int]) -> None:
    app = AvinApp(fake_engine, poll_interval=0.05)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(ChartPane).showing_bars)
        screen = app.screen
        assert screen.query_one(StrategiesTable).row_count == 2
        assert screen.query_one(OrdersTable).row_count == 2
        assert screen.query_one(PositionsTable).row_count == 1
        assert screen.query_one(LogPane).line_count == 3  # INFO and up by default
        text = chart_text(app)
        assert any(ch in text for ch in "█▀▄│"), "no candles drawn"
        assert any(0x2800 < ord(ch) <= 0x28FF for ch in text), "no ZigZag drawn"
        # every pane is on screen and big enough to show a header and some rows
        for pane in ("strategies", "orders", "positions", "log", "chart"):
            region = screen.query_one(f"#{pane}").region
            assert region.width >= 30 and region.height >= 5, (pane, region)
            assert region.right <= size[0] and region.bottom <= size[1]
        status = screen.query_one(StatusBar)
        assert status.text_of("st-mode") == "SIM"
        assert status.text_of("st-state") == "ACTIVE"
        assert status.text_of("st-clock").endswith("MSK")


async def test_pane_focus_keys(fake_engine: FakeEngine) -> None:
    app = AvinApp(fake_engine, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        for key, pane in [("o", "orders"), ("p", "positions"), ("l", "log"), ("c", "chart")]:
            await pilot.press(key)
            assert app.focused is not None and app.focused.id == pane
        await pilot.press("s")
        assert app.focused is not None and app.focused.id == "strategies"


async def test_chart_timeframe_instrument_and_terms(fake_engine: FakeEngine) -> None:
    app = AvinApp(fake_engine, poll_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: chart.builds > 0)
        assert chart.instrument == "MOEX_SHARE_SBER" and chart.timeframe is TimeFrame.M1
        await pilot.press("right_square_bracket")
        assert chart.timeframe is TimeFrame.M5
        assert ("chart", ("MOEX_SHARE_SBER", TimeFrame.M5)) in fake_engine.calls
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert chart.timeframe is TimeFrame.MONTH  # wraps around
        await pilot.press("n")
        assert chart.instrument == "MOEX_SHARE_GAZP"
        await pilot.press("n")
        assert chart.instrument == "MOEX_SHARE_SBER"
        before = set(chart.terms)
        await pilot.press("1")
        assert chart.terms == before ^ {1}
        await pilot.press("5")
        assert 5 in chart.terms
        assert "T1" in str(chart.border_subtitle) and "T5" in str(chart.border_subtitle)
        want = ("MOEX_SHARE_SBER", TimeFrame.MONTH, tuple(sorted(chart.terms)))
        await wait_for(pilot, lambda: chart.built_for == want)


async def test_pause_resume_and_cancel_call_the_engine(fake_engine: FakeEngine) -> None:
    app = AvinApp(fake_engine, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(OrdersTable).row_count == 2)
        await pilot.press("s", "space")  # s1 is running
        await pilot.press("down", "space")  # s2 is paused
        assert ("pause", "s1") in fake_engine.calls
        assert ("resume", "s2") in fake_engine.calls
        await pilot.press("o", "x")  # the open order comes first
        assert ("cancel", "aaaaaaaa-1111") in fake_engine.calls
        await pilot.press("down", "delete")  # a filled order: nothing to cancel
        assert [c for c in fake_engine.calls if c[0] == "cancel"] == [("cancel", "aaaaaaaa-1111")]


@pytest.mark.parametrize("key", ["ctrl+k", "K"])
async def test_kill_switch_signals_engine_and_shows_banner(
    fake_engine: FakeEngine, key: str
) -> None:
    app = AvinApp(fake_engine, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("question_mark")  # even over a modal screen
        assert isinstance(app.screen, HelpScreen)
        await pilot.press(key)
        assert ("kill", "manual: keyboard") in fake_engine.calls
        banner = app.get_screen_main().query_one(Banner)  # type: ignore[union-attr]
        assert banner.shown and "HALTED" in banner.text
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.feed.applied_version == fake_engine.snap.version)
        state = app.screen.query_one("#st-state", Label)
        assert state.has_class("-halted")
        assert app.screen.query_one(StatusBar).text_of("st-state") == "HALTED"


async def test_quit_asks_when_orders_are_open(fake_engine: FakeEngine) -> None:
    app = AvinApp(fake_engine, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmQuitScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmQuitScreen)
        assert ("stop", None) not in fake_engine.calls
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmQuitScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: ("stop", None) in fake_engine.calls)
    assert app.return_code == 0


async def test_quit_with_open_positions_asks_too() -> None:
    engine = FakeEngine(make_snapshot(orders=()))  # no orders; SBER +2 lots held
    app = AvinApp(engine, poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmQuitScreen)
        question = str(app.screen.query_one("#quit-question").render())
        assert "1 open position(s)" in question and "order" not in question.split(".")[0]
        assert not app.screen.query("#kill")  # nothing to cancel: no kill+quit
        await pilot.press("k")  # does nothing here
        assert isinstance(app.screen, ConfirmQuitScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmQuitScreen)
        assert ("stop", None) not in engine.calls
        await pilot.press("q", "y")
        await wait_for(pilot, lambda: ("stop", None) in engine.calls)
    assert app.return_code == 0


async def test_quit_without_open_orders_or_positions_exits_at_once() -> None:
    engine = FakeEngine(make_snapshot(orders=(), positions=()))
    app = AvinApp(engine, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("q")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmQuitScreen)
    assert ("stop", None) in engine.calls
    assert app.return_code == 0


async def test_engine_crash_is_shown_not_fatal() -> None:
    engine = FakeEngine(fail=True)
    app = AvinApp(engine, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        banner = app.screen.query_one(Banner)
        await wait_for(pilot, lambda: banner.shown and app.feed.applied_count > 0)
        assert "ENGINE CRASHED" in banner.text and "boom" in banner.text
        await pilot.press("o")  # still alive and responsive
        assert app.focused is not None and app.focused.id == "orders"
        assert app.is_running


async def test_snapshot_applied_only_when_version_moves(fake_engine: FakeEngine) -> None:
    app = AvinApp(fake_engine, poll_interval=0.02)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        assert app.feed.applied_count == 1
        table = app.screen.query_one(OrdersTable)
        touched = table.cell_updates
        order = replace(fake_engine.snap.orders[0], status="partially_filled", filled=1)
        fake_engine.set(orders=(order, fake_engine.snap.orders[1]))
        await wait_for(pilot, lambda: app.feed.applied_count == 2)
        assert table.cell_updates - touched == 2  # lots and status, nothing else
        assert table.row_count == 2


async def test_tables_diff_rows_and_keep_the_cursor(fake_engine: FakeEngine) -> None:
    app = AvinApp(fake_engine, poll_interval=0.02)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(StrategiesTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        await pilot.press("s", "down")
        assert table.selected_key() == "s2"
        s1, s2 = fake_engine.snap.strategies
        s3 = replace(s1, id="s3", instrument="MOEX_SHARE_LKOH")
        fake_engine.set(strategies=(s2, s3))  # s1 removed, s3 added
        await wait_for(pilot, lambda: table.row_count == 2 and "s3" in table.shown_rows)
        assert table.selected_key() == "s2"
        assert set(table.shown_rows) == {"s2", "s3"}


async def test_help_screen(fake_engine: FakeEngine) -> None:
    app = AvinApp(fake_engine, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert not isinstance(app.screen, HelpScreen)


async def test_log_level_filter_and_batches(fake_engine: FakeEngine) -> None:
    app = AvinApp(fake_engine, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.screen.query_one(LogPane)
        await wait_for(pilot, lambda: log.line_count == 3)
        await pilot.press("l", "v")  # >= WARNING
        assert log.line_count == 2
        await pilot.press("v", "v")  # ERROR, then back to DEBUG
        assert log.line_count == 4
        assert "WARN" in log.lines[1] and "message 1" in log.lines[1]


async def test_light_theme_from_settings(fake_engine: FakeEngine) -> None:
    settings = SimpleNamespace(ui=SimpleNamespace(theme="light", refresh_hz=10.0))
    app = AvinApp(fake_engine, settings)
    assert app.poll_interval == pytest.approx(0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert app.theme == "textual-light"
        assert theme_path("light").name == "light.tcss"


def test_one_theme_folder_shipped_as_package_data() -> None:
    """The themes live in the top-level themes/ (the project's layout); avin_tui/themes is a
    link to it, so the wheel (package data) and the binary (the spec) carry the same files."""
    import tomllib

    link = ROOT / "avin_tui" / "themes"
    assert link.is_symlink() and link.resolve() == (ROOT / "themes").resolve()
    assert sorted(p.name for p in (ROOT / "themes").glob("*.tcss")) == ["dark.tcss", "light.tcss"]
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "themes/*.tcss" in data["package-data"]["avin_tui"]
    assert '"themes"' in (ROOT / "packaging" / "avin.spec").read_text()
    for name in ("dark", "light"):
        assert theme_path(name).resolve() == (ROOT / "themes" / f"{name}.tcss").resolve()
    assert theme_path("sepia").name == "dark.tcss"  # an unknown name: the default


async def test_stale_heartbeat_and_disconnected_broker_are_flagged() -> None:
    from datetime import UTC, datetime, timedelta

    old = datetime.now(UTC) - timedelta(seconds=30)
    engine = FakeEngine(make_snapshot(heartbeat_ts=old, connected=False))
    app = AvinApp(engine, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        assert app.screen.query_one("#st-hb", Label).has_class("-stale")
        assert app.screen.query_one("#st-conn", Label).has_class("-bad")
        engine.set(trading_state=TradingState.REDUCING)
        await pilot.pause(0.2)
        assert app.screen.query_one("#st-state", Label).has_class("-reducing")


async def test_kill_key_acts_on_the_terminal_input_thread(fake_engine: FakeEngine) -> None:
    """The real driver's reader thread kills before the key joins the UI queue; once only."""
    import threading

    from textual import events
    from textual.drivers.headless_driver import HeadlessDriver

    from avin_tui.kill_switch import with_kill_fast_path

    app = AvinApp(fake_engine, poll_interval=0.05)
    assert app.get_driver_class().__name__.startswith("KillSwitch")
    killed_on: list[int] = []
    real_kill = fake_engine.kill

    def kill(reason: str = "manual") -> None:
        killed_on.append(threading.get_ident())
        real_kill(reason)

    fake_engine.kill = kill  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        driver = with_kill_fast_path(HeadlessDriver)(app, debug=False, mouse=False, size=(80, 24))
        reader = threading.Thread(target=driver.process_message, args=(events.Key("ctrl+k", None),))
        reader.start()
        reader.join(5)
        assert killed_on == [reader.ident]  # acted on in the reader thread itself
        banner = app.screen.query_one(Banner)
        await wait_for(pilot, lambda: banner.shown)
        assert killed_on == [reader.ident]  # the binding saw the same key and did not repeat
        assert app.kill_switch.fast_kills == 0
        # a key that did not come through the reader (Pilot): acted on as the App receives it,
        # before its queue, on the UI thread; its binding then only shows the banner
        await pilot.press("ctrl+k")
        assert killed_on[1:] == [threading.get_ident()]
        assert app.kill_switch.fast_kills == 0


async def test_moving_the_cursor_to_a_row_selects_its_instrument(fake_engine: FakeEngine) -> None:
    app = AvinApp(fake_engine, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: chart.instrument == "MOEX_SHARE_SBER")
        await pilot.pause(0.2)
        assert chart.instrument == "MOEX_SHARE_SBER"  # rows filling in do not move the chart
        await pilot.press("s", "down")
        assert chart.instrument == "MOEX_SHARE_GAZP"
        await pilot.press("up")
        assert chart.instrument == "MOEX_SHARE_SBER"
