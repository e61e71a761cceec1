"""The workspace kept across runs: what is restored at start and saved after each change.

The record (``avin_tui.layout.UiState``: open screen, focused and maximised pane, pane sizes,
chart instrument, timeframe, terms and view, table sorts and cursors, log filters, theme) lives in
the engine's store (``Workspace``). A change is saved about a second after the last one
(debounced), and at once on quit; a bad record gives the defaults, one notice, and the defaults
saved over it.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.css.query import NoMatches
from textual.timer import Timer

from avin_tui.layout import TABLES, TableState, UiState, Workspace
from avin_tui.pane_sizes import PaneSizes
from avin_tui.screens.main import PANES, MainScreen
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.chart_view import ChartView
from avin_tui.widgets.diff_table import DiffTable
from avin_tui.widgets.log_pane import LogPane
from engine.model import TimeFrame

RESTORED_SCREENS = {"backtests": "backtests", "log": "log_viewer"}  # saved screen -> app action
OPEN_SCREENS = {"BacktestsScreen": "backtests", "LogViewerScreen": "log"}  # screen class -> name


class LayoutKeeper:
    """Restores and saves the app's workspace; holds the pane sizes and the focused pane."""

    def __init__(self, app: Any, workspace: Workspace, *, persist: bool, debounce: float) -> None:
        self.app = app
        self.workspace = workspace
        self.persist = persist
        self.debounce = debounce
        self.timer: Timer | None = None  # a change waiting to be saved
        self.pane_sizes = PaneSizes()
        self.focused_pane = "strategies"

    def restore(self, main: MainScreen) -> None:
        """Apply the saved workspace; a bad record: the defaults, one notice, and the defaults
        saved over it (so the notice is not repeated at every start)."""
        app = self.app
        state, problem = self.workspace.load()
        if problem:
            app.notify(problem, title="workspace", severity="warning", timeout=10)
        if state.theme is not None and state.theme != app.theme_name:
            app.set_theme(state.theme, save=False)
        chart = main.query_one(ChartPane)
        chart.instrument = state.instrument
        chart.timeframe = TimeFrame.from_code(state.timeframe)
        chart.terms = set(state.terms)
        chart.view = ChartView(state.scroll, state.zoom)
        for name, pane_state in state.panes.items():
            restore_pane = getattr(main.query_one(f"#{name}"), "restore_state", None)
            if callable(restore_pane) and name != "log":
                restore_pane(dict(pane_state))
        for name, table_state in state.tables.items():
            table = main.query_one(f"#{name}", DiffTable)
            table.set_sort(table_state.sort, table_state.descending)
            table.restore_cursor(table_state.cursor)
        log = main.query_one(LogPane)
        restore = getattr(log, "restore_state", None)
        if callable(restore):
            restore(dict(state.log))
        else:
            log.set_min_level(state.log_level)
        self.pane_sizes = PaneSizes(list(state.columns), list(state.rows))
        self.pane_sizes.apply(main)
        self.focused_pane = state.focused
        main.query_one(f"#{state.focused}").focus()
        if state.maximized is not None:
            main.maximize(main.query_one(f"#{state.maximized}"), container=False)
        action = RESTORED_SCREENS.get(state.screen)
        if action is not None:
            app.call_after_refresh(app.run_action, action)
        if problem:
            self.save()

    def current(self) -> UiState:
        """The workspace as it is on screen now."""
        main = self.app.get_screen_main()
        if main is None:
            raise NoMatches("no main screen")
        chart = main.query_one(ChartPane)
        log = main.query_one(LogPane)
        get_state = getattr(log, "get_state", None)
        log_state = dict(get_state()) if callable(get_state) else {"level": log.min_level}
        maximized = main.maximized
        tables = {
            name: TableState(table.cursor_to_save, table.sort_column, table.sort_descending)
            for name in TABLES
            for table in [main.query_one(f"#{name}", DiffTable)]
        }
        panes = {
            name: dict(get())
            for name in ("chart",)
            if callable(get := getattr(main.query_one(f"#{name}"), "get_state", None))
        }
        return UiState(
            screen=self._open_screen_name(),
            focused=self.focused_pane,
            maximized=maximized.id if maximized is not None and maximized.id in PANES else None,
            theme=self.app.theme_name,
            columns=list(self.pane_sizes.columns),
            rows=list(self.pane_sizes.rows),
            instrument=chart.instrument,
            timeframe=chart.timeframe.code,
            terms=sorted(chart.terms),
            zoom=chart.view.per_column,
            scroll=chart.view.offset,
            tables=tables,
            log=log_state,
            panes=panes,
        )

    def _open_screen_name(self) -> str:
        for screen in reversed(self.app.screen_stack):
            name = OPEN_SCREENS.get(type(screen).__name__)
            if name is not None:
                return name
        return "main"

    def changed(self) -> None:
        """Save the workspace about a second after the last change (debounced)."""
        if not self.persist or not self.app.panes_ready:
            return
        if self.timer is not None:
            self.timer.stop()
        self.timer = self.app.set_timer(self.debounce, self.save)

    def save(self) -> None:
        """Write the workspace now (the debounce timer, quit, and after a bad record)."""
        if self.timer is not None:
            self.timer.stop()
            self.timer = None
        try:
            self.workspace.save(self.current())
        except Exception as exc:  # a full disk or a torn-down screen must not break the UI
            self.app.log.warning(f"could not save the workspace: {exc}")

    def save_pending(self) -> None:
        """A change not saved yet is saved now (quit, the app ending)."""
        if self.timer is not None:
            self.save()

    def focus_moved(self, event: events.DescendantFocus) -> None:
        widget = event.widget
        if widget.id in PANES and widget.screen is self.app.get_screen_main():
            self.focused_pane = widget.id
        if self.app.panes_ready:
            self.changed()
