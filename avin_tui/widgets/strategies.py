"""Strategies pane: one row per strategy, keyed by strategy id; space pauses or resumes."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from avin_tui.messages import (
    InstrumentSelected,
    StrategyAddRequested,
    StrategyCloseRequested,
    StrategyRemoveRequested,
    StrategyStopRequested,
    StrategyToggleRequested,
)
from avin_tui.widgets._format import (
    num,
    pnl_summary,
    right,
    set_border_text,
    signed_money,
    ticker,
)
from avin_tui.widgets.diff_table import DiffTable, Row
from engine.model.redact import show_account
from engine.model.snapshot import StrategyRow

STATE_STYLE = {
    "running": "green",
    "paused": "yellow",
    "held": "bold yellow",  # held by the trading state: ``held (halt)``
    "failed": "bold red",
    "stopped": "dim",
}


def strategy_cells(row: StrategyRow) -> Row:
    state = Text(row.state_text, style=STATE_STYLE.get(row.state, ""))
    return (
        ticker(row.instrument),
        state,
        right(f"{row.position:+d}" if row.position else "0"),
        signed_money(row.pnl),  # net of commission, as the Positions pane's P&L
        right(num(row.commission)),
        strategy_label(row),
        show_account(row.account),  # masked with [privacy] hide_accounts
    )


def strategy_label(row: StrategyRow) -> str:
    """The strategy's name, plus ``#2`` etc. for a second row of it on the same instrument and
    account (other parameters), so the rows can be told apart."""
    _, sep, repeat = row.id.rpartition("#")
    return f"{row.name} #{repeat}" if sep and repeat.isdigit() else row.name


class StrategiesTable(DiffTable):
    # the columns that matter first: at 80 columns the rest is a horizontal scroll away
    COLUMNS = (
        ("instrument", "Instr", 5, 0),  # (the last number: priority, 0 kept longest)
        ("state", "State", 11, 1),  # wide enough for "held (halt)"
        ("position", "Pos", 4, 3),
        ("pnl", "P&L", 10, 2),
        ("commission", "Comm", 8, 6),
        ("name", "Strategy", 12, 4),
        ("account", "Account", 8, 5),
    )
    FLEX = "name"  # the room left over goes to the strategy's name
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_strategy", "Pause/Resume"),
        Binding("a", "add_strategy", "Add"),
        Binding("d", "remove_strategy", "Remove"),
        Binding("S", "stop_strategy", "Stop"),
        Binding("C", "close_position", "Close pos"),
    ]

    def on_mount(self) -> None:
        self.border_title = "[u]S[/u]trategies"
        self._instruments: dict[str, str] = {}
        self._states: dict[str, str] = {}

    def update_rows(self, rows: tuple[StrategyRow, ...]) -> None:
        self._instruments = {r.id: r.instrument for r in rows}
        self._states = {r.id: r.state for r in rows}
        self.apply_rows({r.id: strategy_cells(r) for r in rows})
        running = sum(1 for r in rows if r.state == "running")
        pnl = pnl_summary(sum((r.pnl for r in rows), Decimal(0)))  # fees: the Positions pane
        set_border_text(self, subtitle=f"{running}/{len(rows)} running · {pnl}")

    def action_toggle_strategy(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.post_message(StrategyToggleRequested(key, self._states.get(key, "")))

    def action_add_strategy(self) -> None:
        self.post_message(StrategyAddRequested())

    def action_remove_strategy(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.post_message(StrategyRemoveRequested(key))

    def action_close_position(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.post_message(StrategyCloseRequested(key))

    def action_stop_strategy(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.post_message(StrategyStopRequested(key))

    def on_diff_table_row_highlighted(self, event: DiffTable.RowHighlighted) -> None:
        if not self.user_moved_to(event.key):
            return
        instrument = self._instruments.get(event.key)
        if instrument:
            self.post_message(InstrumentSelected(instrument))
