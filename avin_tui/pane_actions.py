"""The app's keys for panes, the chart and the other screens (mixed into ``AvinApp``).

``s o p l c`` focus a pane; ``>``/``<`` grow or shrink the focused one, ``z`` maximises it, ``Z``
resets the sizes; ``[ ] n 1-5 t`` drive the chart from anywhere; ``T`` switches the theme; ``b``,
``L``, ``A``, ``?`` and the recovery key open their screens. Each change is saved with the workspace
(``layout_changed``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from avin_tui.layout_keeper import LayoutKeeper
from avin_tui.messages import InstrumentSelected
from avin_tui.notices import recovery_report
from avin_tui.screens.help import HelpScreen
from avin_tui.screens.main import PANES, MainScreen
from avin_tui.snapshot_feed import SnapshotFeed
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.log_pane import LogPane
from avin_tui.widgets.log_view import LogView


class PaneActionsMixin:
    """Needs the App's ``layout_keeper``, ``feed``, ``screen``, ``push_screen``, ``notify``."""

    engine: Any
    layout_keeper: LayoutKeeper
    feed: SnapshotFeed
    screen: Any
    theme_name: str
    notify: Callable[..., None]
    push_screen: Callable[..., Any]
    get_screen_main: Callable[[], MainScreen | None]
    layout_changed: Callable[[], None]
    set_theme: Callable[..., None]

    # --- panes ----------------------------------------------------------------------------------

    def action_focus_pane(self, pane: str) -> None:
        if pane in PANES and isinstance(self.screen, MainScreen):
            self.screen.query_one(f"#{pane}").focus()

    def _pane_to_size(self) -> tuple[MainScreen, str] | None:
        main = self.get_screen_main()
        if main is None or self.screen is not main:
            return None
        return main, self.layout_keeper.focused_pane

    def action_resize_pane(self, step: int) -> None:
        """``>``/``<``: the focused pane grows or shrinks (its column and row(s))."""
        target = self._pane_to_size()
        if target is None:
            return
        main, pane = target
        if main.maximized is not None:
            main.minimize()
        sizes = self.layout_keeper.pane_sizes
        if sizes.resize(pane, step, narrow=main.has_class("-narrow")):
            sizes.apply(main)
            self.layout_changed()

    def action_reset_panes(self) -> None:
        target = self._pane_to_size()
        if target is not None:
            self.layout_keeper.pane_sizes.reset()
            self.layout_keeper.pane_sizes.apply(target[0])
            self.layout_changed()

    def action_maximize_pane(self) -> None:
        """``z``: the focused pane fills the screen; again (or Escape) restores the layout."""
        target = self._pane_to_size()
        if target is None:
            return
        main, pane = target
        if main.maximized is not None:
            main.minimize()
        else:
            main.maximize(main.query_one(f"#{pane}"), container=False)
        self.layout_changed()

    def action_toggle_theme(self) -> None:
        self.set_theme("light" if self.theme_name == "dark" else "dark")

    # --- the chart ------------------------------------------------------------------------------

    def _chart(self) -> ChartPane | None:
        main = self.get_screen_main()
        return None if main is None else main.query_one(ChartPane)

    def action_timeframe(self, step: int) -> None:
        chart = self._chart()
        if chart is not None:
            chart.shift_timeframe(step)
            self.layout_changed()

    def action_toggle_depth(self) -> None:
        """``t``: the chart pane shows the order book and the tape of its instrument (again:
        candles); the pane's ``get_state()`` carries it into the workspace."""
        chart = self._chart()
        if chart is not None:
            chart.toggle_depth()
            self.layout_changed()

    def action_next_instrument(self) -> None:
        chart = self._chart()
        names = self.feed.instruments()
        if chart is None or not names:
            return
        i = names.index(chart.instrument) + 1 if chart.instrument in names else 0
        chart.set_instrument(names[i % len(names)])
        self.layout_changed()

    def action_toggle_term(self, term: int) -> None:
        chart = self._chart()
        if chart is not None:
            chart.toggle_term(term)
            self.layout_changed()

    def on_instrument_selected(self, message: InstrumentSelected) -> None:
        chart = self._chart()
        if chart is not None and chart.instrument != message.instrument:
            chart.set_instrument(message.instrument)
            self.layout_changed()

    # --- other screens --------------------------------------------------------------------------

    def action_log_viewer(self) -> None:
        """``L``: avin.log full screen, with the Log pane's filters and search."""
        from avin_tui.screens.log_viewer import LogViewerScreen

        main = self.get_screen_main()
        if main is None or isinstance(self.screen, LogViewerScreen):
            return
        pane = main.query_one(LogPane)
        path = pane.logs_dir() / "avin.log"
        if not path.is_file():
            self.notify(f"{path} does not exist (yet)", title="log", severity="warning")
            return
        self.push_screen(LogViewerScreen(path, state=pane.get_state()))

    def on_log_view_open_file(self, message: LogView.OpenFile) -> None:
        """``i`` / ``r`` in the Log pane: that file full screen, with the pane's filters."""
        from avin_tui.screens.log_viewer import LogViewerScreen

        self.push_screen(LogViewerScreen(message.path, state=message.state))

    def action_backtests(self) -> None:
        from avin_tui.screens.backtests import BacktestsScreen

        if not isinstance(self.screen, BacktestsScreen):
            self.push_screen(BacktestsScreen())

    def action_accounts(self) -> None:
        """``A``: the account view, each row's budget, used and free (avin_tui/screens/accounts)."""
        from avin_tui.screens.accounts import AccountsScreen

        if not isinstance(self.screen, AccountsScreen):
            self.push_screen(AccountsScreen())

    def action_recovery_details(self) -> None:
        """What start-up recovery restored and booked after an unclean stop."""
        from avin_tui.screens.recovery import RecoveryScreen, recovery_details

        if isinstance(self.screen, RecoveryScreen):
            return
        text = recovery_details(self.feed.snapshot, recovery_report(self.engine))
        self.push_screen(RecoveryScreen(text))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())
