"""The main screen: status bar, banner, the five panes and the footer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer

from avin_tui.widgets.banner import Banner
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.log_pane import LogPane
from avin_tui.widgets.orders import OrdersTable
from avin_tui.widgets.positions import PositionsTable
from avin_tui.widgets.status_bar import StatusBar
from avin_tui.widgets.strategies import StrategiesTable

PANES = {
    "strategies": StrategiesTable,
    "orders": OrdersTable,
    "positions": PositionsTable,
    "log": LogPane,
    "chart": ChartPane,
}
FOOTER_FIRST = frozenset({"kill", "resume_trading"})


class MainScreen(Screen[None]):
    AUTO_FOCUS = None  # the app focuses the saved pane itself
    ALLOW_IN_MAXIMIZED_VIEW = "StatusBar, Banner, Footer"  # a maximised pane (z) keeps these
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 (declared as an instance variable upstream)
        (0, "-narrow"),
        (100, "-medium"),
        (140, "-wide"),
    ]

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Banner(id="banner")
        with Container(id="panes"):
            # grid order: left column tables, right column chart (two rows) and log
            yield StrategiesTable(id="strategies", classes="pane")
            yield ChartPane(id="chart", classes="pane")
            yield OrdersTable(id="orders", classes="pane")
            yield PositionsTable(id="positions", classes="pane")
            yield LogPane(id="log", classes="pane")
        yield Footer(compact=True)

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """As Textual's, with the kill switch keys first: the footer shows them even when the
        focused pane's keys fill the line."""
        bindings = super().active_bindings
        first = {k: b for k, b in bindings.items() if b.binding.action in FOOTER_FIRST}
        return {**first, **{k: b for k, b in bindings.items() if k not in first}}

    def watch_maximized(self) -> None:
        changed = getattr(self.app, "layout_changed", None)
        if changed is not None:  # z, or Escape restoring: saved with the workspace
            changed()
