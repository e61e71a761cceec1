"""Positions pane: one row per (account, instrument).

P&L is net of commission (realised + unrealised - fees), the same number the Strategies pane shows
per strategy; Comm is the commission paid, Unreal and Real the parts before it."""

from __future__ import annotations

from decimal import Decimal

from avin_tui.messages import InstrumentSelected
from avin_tui.widgets._format import (
    num,
    pnl_summary,
    price,
    right,
    set_border_text,
    signed_money,
    ticker,
)
from avin_tui.widgets.diff_table import DiffTable, Row
from engine.model.redact import show_account
from engine.model.snapshot import PositionRow


def position_key(row: PositionRow) -> str:
    return f"{row.account}:{row.instrument}"


def position_cells(row: PositionRow) -> Row:
    return (
        ticker(row.instrument),
        right(f"{row.lots:+d}" if row.lots else "0"),
        signed_money(row.pnl),
        right(num(row.commission)),
        signed_money(row.unrealized),
        signed_money(row.realized),
        right(price(row.avg_price) if row.lots else ""),
        right(price(row.last_price)),
        show_account(row.account),  # masked with [privacy] hide_accounts
    )


class PositionsTable(DiffTable):
    COLUMNS = (
        ("instrument", "Instr", 5, 0),  # (the last number: priority, 0 kept longest)
        ("lots", "Lots", 4, 1),
        ("pnl", "P&L", 10, 2),  # net of commission
        ("commission", "Comm", 8, 5),
        ("unrealized", "Unreal", 10, 6),
        ("realized", "Real", 10, 7),
        ("avg", "Avg", 9, 4),
        ("last", "Last", 9, 3),
        ("account", "Account", 8, 8),
    )

    def on_mount(self) -> None:
        self.border_title = "[u]P[/u]ositions"
        self._instruments: dict[str, str] = {}

    def update_rows(self, rows: tuple[PositionRow, ...]) -> None:
        self._instruments = {position_key(r): r.instrument for r in rows}
        self.apply_rows({position_key(r): position_cells(r) for r in rows})
        pnl = sum((r.pnl for r in rows), Decimal(0))
        commission = sum((r.commission for r in rows), Decimal(0))
        set_border_text(self, subtitle=pnl_summary(pnl, commission))

    def on_diff_table_row_highlighted(self, event: DiffTable.RowHighlighted) -> None:
        if not self.user_moved_to(event.key):
            return
        instrument = self._instruments.get(event.key)
        if instrument:
            self.post_message(InstrumentSelected(instrument))
