"""The account view (``A``): per account its equity, per worklist row its capital budget (as
configured and in RUB), what its position and open orders use, what is free, and the share of
the account's equity it uses. Fed from the snapshot the app already pulls (the feed's latest),
refreshed while open; escape (or ``A``) closes it."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from avin_tui.widgets.budgets import BudgetsTable, account_summary

NOTE = (
    "Used: the row's position and open orders at the last price (worst case). A share budget "
    "(10%) is taken from the account's equity at the start and on each new trading day."
)


class AccountsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    AccountsScreen {
        align: center middle;
        & > Vertical {
            width: 100%;
            max-width: 120;
            height: 100%;
            max-height: 40;
            border: round $accent;
            background: $surface;
        }
        & #accounts-summary { height: auto; max-height: 8; padding: 0 1; }
        & BudgetsTable { height: 1fr; }
        & #accounts-note { height: auto; padding: 0 1; color: $text-muted; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("A", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]
    AUTO_FOCUS = "BudgetsTable"

    def __init__(self) -> None:
        super().__init__()
        self.shown_version: int | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Accounts: budgets per strategy"
            box.border_subtitle = "escape closes"
            yield Static("", id="accounts-summary")
            yield BudgetsTable(id="budgets-table")
            yield Static(NOTE, id="accounts-note")

    def on_mount(self) -> None:
        self.refresh_view()
        interval = float(getattr(self.app, "poll_interval", 0.25) or 0.25)
        self.set_interval(interval, self.refresh_view)

    def refresh_view(self) -> None:
        """Show the feed's latest snapshot when its version moved."""
        feed: Any = getattr(self.app, "feed", None)
        snap = getattr(feed, "snapshot", None)
        if snap is None or snap.version == self.shown_version:
            return
        self.shown_version = snap.version
        rows = tuple(getattr(snap, "budgets", ()))
        self.query_one("#accounts-summary", Static).update(account_summary(rows))
        self.query_one(BudgetsTable).update_rows(rows)
