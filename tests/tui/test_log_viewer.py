"""The Log pane and the full-screen log viewer: every key, on a pane and on files (Pilot)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Label

from avin_tui.screens.log_viewer import LogViewerScreen
from avin_tui.widgets.log_dialogs import EntryScreen, PickerScreen, PromptScreen
from avin_tui.widgets.log_pane import LogPane
from avin_tui.widgets.log_view import LogView
from engine.runtime.logbook import RUN_START, LogBook, setup_logging

from .conftest import wait_for

PREVIOUS = f"""\
2026-12-03T10:00:00.000Z INFO    avin: {RUN_START} (pid 1) ---
2026-12-03T10:00:01.000Z INFO    avin.engine: connecting to sim (sim)
2026-12-03T10:00:02.000Z WARNING avin.orders: update for an unknown order 1a2b3c4d (filled)
2026-12-03T10:00:03.000Z ERROR   avin.engine: the engine failed on BarEvent: boom
Traceback (most recent call last):
  File "x.py", line 1, in <module>
ZeroDivisionError: boom
2026-12-03T10:00:04.000Z INFO    avin.strategy.sma:SBER:sim-1: signal MOEX_SHARE_SBER buy {"x" * 150} end
2026-12-03T10:00:05.000Z INFO    avin.engine: previous run stopped
"""
OLDER = "2026-12-01T09:00:00.000Z INFO    avin.engine: a line from an older run\n"
INCIDENT = '{"ts": "2026-12-03T10:00:03Z", "what": "engine crashed", "order": "1a2b3c4d"}\n'


def screen_text(app: App[Any]) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    (d / "avin.log").write_text(PREVIOUS)
    (d / "avin.log.1").write_text(OLDER)
    (d / "incidents.log").write_text(INCIDENT)
    return d


@pytest.fixture
def book(logs: Path) -> Any:
    book = setup_logging(logs, "debug")  # this run: after the previous one in avin.log
    log = logging.getLogger("avin.engine")
    log.info("connecting to sim (sim)")
    log.warning("no history for MOEX_SHARE_GAZP: none stored")
    try:
        raise ValueError("bad bar")
    except ValueError:
        log.error("strategy sma:GAZP:sim-1 cannot start: bad bar", exc_info=True)
    log.info("order 9f8e7d6c filled: MOEX_SHARE_SBER buy 1/1 lot(s) @ 300.10")
    yield book
    for handler in list(logging.getLogger("avin").handlers):
        if handler in (book,) or isinstance(handler, logging.FileHandler):
            logging.getLogger("avin").removeHandler(handler)
            handler.close()


class PaneApp(App[None]):
    """The Log pane as the main app has it: fed from the engine's log book."""

    def __init__(self, book: LogBook) -> None:
        super().__init__()
        self.engine = SimpleNamespace(logbook=book)
        self.saved = 0

    def compose(self) -> ComposeResult:
        yield LogPane(id="log")

    def on_mount(self) -> None:
        pane = self.query_one(LogPane)
        pane.add_entries(self.engine.logbook.entries_since(0))
        pane.focus()

    def layout_changed(self) -> None:
        self.saved += 1

    def on_log_view_open_file(self, message: LogView.OpenFile) -> None:
        """As the main app does: the file full screen."""
        self.push_screen(LogViewerScreen(message.path, state=message.state))


class ViewerApp(App[None]):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def on_mount(self) -> None:
        self.push_screen(LogViewerScreen(self.path))


def pane(app: App[Any]) -> LogPane:
    return app.query_one(LogPane)


def viewer(app: App[Any]) -> LogView:
    assert isinstance(app.screen, LogViewerScreen)
    return app.screen.view


async def test_pane_starts_with_the_previous_runs_end_and_a_separator(book: Any) -> None:
    app = PaneApp(book)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        rows = pane(app).rows_text()
        assert rows[0].startswith("10:00:00Z INFO  avin: --- avin started (pid 1)")
        assert any("previous run stopped" in row for row in rows)
        start = next(i for i, row in enumerate(rows) if "previous run stopped" in row) + 1
        assert RUN_START in rows[start]  # this run's first line
        await wait_for(pilot, lambda: "\n".join(screen_text(app)).count("run started") == 2)
        text = "\n".join(screen_text(app))  # drawn as separators, not as log lines
        assert "─ run started 10:00:00Z (pid 1)" in text


async def test_pane_time_is_the_files_utc_time(book: Any, logs: Path) -> None:
    """Defect 16: the pane showed Moscow time and the file UTC; now both show UTC with Z."""
    app = PaneApp(book)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        row = next(r for r in pane(app).rows_text() if "no history for" in r)
        stamp = row.split()[0]
        assert re.fullmatch(r"\d\d:\d\d:\d\dZ", stamp), row
        file_line = next(
            line for line in (logs / "avin.log").read_text().splitlines() if "no history" in line
        )
        assert f"T{stamp[:-1]}." in file_line and file_line.split()[0].endswith("Z")
        assert row.endswith(file_line.split("avin.", 1)[1])  # the rest reads the same


async def test_search_highlights_and_n_N_move_between_matches(book: Any) -> None:
    app = PaneApp(book)
    async with app.run_test(size=(120, 30)) as pilot:
        log = pane(app)
        log.set_level("DEBUG")
        await pilot.press("slash")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"sim", "enter")
        assert log.search_query.text == "sim"
        assert log.match_count == sum("sim" in r for r in log.rows_text()) == 4
        assert "sim" in log.rows_text()[log.cursor_row]
        first = log.cursor_row
        await pilot.press("n")
        second = log.cursor_row
        assert second > first and "sim" in log.rows_text()[second]
        await pilot.press("N")
        assert log.cursor_row == first
        await pilot.press("N")  # before the first: wraps to the last
        assert "wrapped" in log.note
        # the matches are drawn with the match style
        strip = log.render_line(log.cursor_row - int(log.scroll_offset.y))
        match_style = log.get_component_rich_style("logview--match")
        assert any(
            seg.text.lower() == "sim" and seg.style and seg.style.bgcolor == match_style.bgcolor
            for seg in strip
        )
        # a regex: ctrl+r in the prompt
        await pilot.press("slash", "ctrl+a", "ctrl+k", "ctrl+r", *r"order [0-9a-f]{8}", "enter")
        assert log.search_query.regex and log.match_count == 2
        await pilot.press("slash", *"(", "enter")  # the prompt remembers: still a regex
        assert "regular expression" in log.note and log.match_count == 0


async def test_filters_by_level_source_and_text_and_clear(book: Any) -> None:
    app = PaneApp(book)
    async with app.run_test(size=(120, 30)) as pilot:
        log = pane(app)
        everything = log.row_count
        await pilot.press("v")  # INFO -> WARNING
        assert log.level == "WARNING"
        warnings = log.row_count
        assert 0 < warnings < everything
        assert all(("WARN" in r or "ERROR" in r or not r[:1].isdigit()) for r in log.rows_text())
        assert any("Traceback" in r for r in log.rows_text())  # the previous run's traceback
        await pilot.press("S")
        assert "orders" in app.screen.query_one("#prompt-label", Label).content  # a hint
        await pilot.press(*"orders", "enter")
        assert [r.split()[2] for r in log.rows_text()] == ["orders:"]
        await pilot.press("x")
        await pilot.press("f", *"boom", "enter")
        assert log.rows_text() and all("boom" in r for r in log.rows_text())
        await pilot.press("f", *"no such text", "enter")
        await wait_for(pilot, lambda: "no line matches" in "\n".join(screen_text(app)))
        await pilot.press("x")  # the search and the source and text filters go, the level stays
        assert log.level == "WARNING" and log.row_count == warnings
        assert not log.source_filter and not log.text_filter
        await pilot.press("v", "v")  # ERROR, then DEBUG: everything
        assert log.level == "DEBUG" and log.row_count == everything
        assert app.saved > 0  # the workspace hears of each change


async def test_enter_shows_the_whole_entry(book: Any) -> None:
    app = PaneApp(book)
    async with app.run_test(size=(120, 40)) as pilot:
        log = pane(app)
        await pilot.press("slash", *"cannot start", "enter", "enter")
        assert isinstance(app.screen, EntryScreen)
        text = app.screen.describe().plain
        assert "ValueError: bad bar" in text and "Traceback" in text
        assert re.search(r"strategy\s+sma:GAZP:sim-1", text)
        assert re.search(r"level\s+ERROR", text)
        await pilot.press("escape")
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"order 9f8e", "enter", "enter")
        text = app.screen.describe().plain  # type: ignore[attr-defined]
        assert re.search(r"order\s+9f8e7d6c", text) and re.search(
            r"instrument\s+MOEX_SHARE_SBER", text
        )
        await pilot.press("escape")
        assert app.screen.query_one(LogPane) is log


async def test_wrap_shows_a_long_line_on_several_screen_lines(book: Any) -> None:
    app = PaneApp(book)
    async with app.run_test(size=(80, 24)) as pilot:
        log = pane(app)
        assert not any(" end" in line for line in screen_text(app))  # cut at the right edge
        await pilot.press("w")
        assert log.wrap
        await pilot.press("slash", *"signal", "enter")
        await wait_for(
            pilot, lambda: any(line.rstrip(" │").endswith("end") for line in screen_text(app))
        )
        await pilot.press("w")
        assert not log.wrap


async def test_e_and_E_jump_to_warnings_and_errors(book: Any) -> None:
    app = PaneApp(book)
    async with app.run_test(size=(120, 30)) as pilot:
        log = pane(app)
        await pilot.press("home")
        await pilot.press("e")
        assert "update for an unknown order" in log.rows_text()[log.cursor_row]
        await pilot.press("e")
        assert "the engine failed" in log.rows_text()[log.cursor_row]
        await pilot.press("e")
        assert "no history for" in log.rows_text()[log.cursor_row]
        await pilot.press("E")
        assert "the engine failed" in log.rows_text()[log.cursor_row]
        await pilot.press("end")
        await pilot.press("e")
        assert "no later warning" in log.note
        await pilot.click(LogPane, offset=(5, 1))  # the second line on screen
        assert log.cursor_row == int(log.scroll_offset.y) + 1 and not log.follow


async def test_i_opens_incidents_and_r_picks_an_older_run(book: Any, logs: Path) -> None:
    app = PaneApp(book)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, LogViewerScreen))
        view = viewer(app)
        assert view.source.name == "incidents.log"
        await wait_for(pilot, lambda: view.row_count == 1)
        assert "engine crashed" in view.rows_text()[0]
        await pilot.press("enter")
        text = app.screen.describe().plain  # type: ignore[attr-defined]
        assert re.search(r"order\s+1a2b3c4d", text) and re.search(
            r"line\s+1 of incidents.log", text
        )
        await pilot.press("escape")
        await pilot.press("r")
        assert isinstance(app.screen, PickerScreen)
        names = [f.path.name for f in app.screen.files]
        assert names == ["avin.log", "avin.log.1", "incidents.log"]
        await pilot.press("down", "enter")  # avin.log.1: the run before
        await wait_for(pilot, lambda: viewer(app).source.name == "avin.log.1")
        await wait_for(pilot, lambda: viewer(app).row_count == 1)
        assert "older run" in viewer(app).rows_text()[0]
        (logs / "incidents.log").write_text("")
        await pilot.press("i")  # an empty file says so (not "no line matches")
        await wait_for(pilot, lambda: viewer(app).source.name == "incidents.log")
        await wait_for(pilot, lambda: "(empty)" in "\n".join(screen_text(app)))
        await pilot.press("escape")
        assert isinstance(app.screen.query_one(LogPane), LogPane)


async def test_viewer_keeps_the_panes_state_and_follows_a_growing_file(logs: Path) -> None:
    app = ViewerApp(logs / "avin.log")
    async with app.run_test(size=(100, 24)) as pilot:
        view = viewer(app)
        await wait_for(pilot, lambda: view.row_count == 9)
        view.restore_state({"level": "ERROR", "search": "boom", "wrap": True, "source": 3})
        assert view.get_state() == {
            "level": "ERROR",
            "source": "",
            "text": "",
            "text_regex": False,
            "search": "boom",
            "regex": False,
            "wrap": True,
        }
        await wait_for(pilot, lambda: view.row_count == 4 and view.match_count == 2)
        with (logs / "avin.log").open("a") as f:
            f.write("2026-12-03T10:00:06.000Z ERROR   avin.engine: later boom\n")
        await wait_for(pilot, lambda: view.row_count == 5 and view.match_count == 3)
        assert "later boom" in view.rows_text()[-1]
        await pilot.press("escape")
        assert not isinstance(app.screen, LogViewerScreen)


async def test_L_opens_avin_log_full_screen_with_the_panes_filters(book: Any) -> None:
    from avin_tui.app import AvinApp
    from avin_tui.widgets.chart import ChartPane

    from .conftest import FakeEngine

    engine = FakeEngine()
    engine.logbook = book
    app = AvinApp(engine, poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.screen.query_one(LogPane)
        await wait_for(pilot, lambda: log.row_count > 5)
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: chart.instrument is not None)
        await pilot.press("l")
        before = chart.instrument
        await pilot.press("n")  # nothing searched: n is still the next instrument
        assert chart.instrument != before
        await pilot.press("v")  # >= WARNING
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LogViewerScreen))
        view = viewer(app)
        assert view.source.name == "avin.log" and view.level == "WARNING"
        await wait_for(pilot, lambda: view.row_count > 0)
        assert any("no history for" in row for row in view.rows_text())
        await pilot.press("L")
        assert not isinstance(app.screen, LogViewerScreen)
        await wait_for(pilot, lambda: app.focused is log)


async def test_viewer_follows_avin_log_through_rotation_and_truncation(logs: Path) -> None:
    path = logs / "avin.log"
    app = ViewerApp(path)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: viewer(app).row_count == 9)
        viewer(app).restore_state({"search": "after"})
        path.rename(logs / "avin.log.1")  # what RotatingFileHandler does at 10 MB
        path.write_text("2026-12-03T11:00:00.000Z INFO    avin.engine: after the rotation\n")
        await wait_for(
            pilot,
            lambda: (
                viewer(app).rows_text()
                == ["2026-12-03T11:00:00.000Z INFO    avin.engine: after the rotation"]
            ),
        )
        assert viewer(app).search_query.text == "after"  # the new file, the same search
        await wait_for(pilot, lambda: viewer(app).match_count == 1)
        with path.open("w") as f:  # truncated in place, then written again
            f.write("2026-12-03T12:00:00.000Z INFO    avin.engine: new\n")
        await wait_for(
            pilot,
            lambda: (
                viewer(app).rows_text() == ["2026-12-03T12:00:00.000Z INFO    avin.engine: new"]
            ),
        )
        await wait_for(pilot, lambda: viewer(app).match_count == 0)


async def test_viewer_keys_on_a_file_run_in_workers(
    logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """e/E over a big file look in a worker thread; n skips matches a filter hides."""
    import avin_tui.widgets.log_keys as log_keys

    monkeypatch.setattr(log_keys, "SCAN_SYNC_LINES", 0)  # every file counts as big
    app = ViewerApp(logs / "avin.log")
    async with app.run_test(size=(120, 30)) as pilot:
        view = viewer(app)
        await wait_for(pilot, lambda: view.row_count == 9)
        await pilot.press("home", "e")
        await wait_for(pilot, lambda: view.cursor_row == 2)  # the WARNING
        await pilot.press("e")
        await wait_for(pilot, lambda: view.cursor_row == 3)  # the ERROR
        await pilot.press("E")
        await wait_for(pilot, lambda: view.cursor_row == 2)
        await pilot.press("end", "E")
        await wait_for(pilot, lambda: view.cursor_row == 3)
        # "engine" matches lines 1, 3 and 8; with >= WARNING shown, only line 3 is reachable
        view.restore_state({"level": "WARNING", "search": "engine"})
        await wait_for(pilot, lambda: view.match_count == 3 and view.row_count == 5)
        await pilot.press("home", "n")
        assert view.rows_text()[view.cursor_row].endswith("BarEvent: boom")
        await pilot.press("n")  # the others are filtered out: back to the same one
        assert view.rows_text()[view.cursor_row].endswith("BarEvent: boom")
