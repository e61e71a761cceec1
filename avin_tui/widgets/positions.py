"""Positions pane: one row per (account, instrument)."""

from __future__ import annotations

from avin_tui.messages import InstrumentSelected
from avin_tui.widgets._format import price, right, set_border_text, signed_money, ticker
from avin_tui.widgets.diff_table import DiffTable, Row
from engine.runtime.snapshot import PositionRow


def position_key(row: PositionRow) -> str:
    return f"{row.account}:{row.instrument}"


def position_cells(row: PositionRow) -> Row:
    return (
        ticker(row.instrument),
        right(f"{row.lots:+d}" if row.lots else "0"),
        signed_money(row.unrealized),
        signed_money(row.realized),
        right(price(row.avg_price) if row.lots else ""),
        right(price(row.last_price)),
        row.account,
    )


class PositionsTable(DiffTable):
    COLUMNS = (
        ("instrument", "Instr", 5),
        ("lots", "Lots", 4),
        ("unrealized", "Unreal", 10),
        ("realized", "Real", 10),
        ("avg", "Avg", 9),
        ("last", "Last", 9),
        ("account", "Account", 8),
    )

    def on_mount(self) -> None:
        self.border_title = "[u]P[/u]ositions"
        self._instruments: dict[str, str] = {}

    def update_rows(self, rows: tuple[PositionRow, ...]) -> None:
        self._instruments = {position_key(r): r.instrument for r in rows}
        self.apply_rows({position_key(r): position_cells(r) for r in rows})
        total = sum((r.unrealized + r.realized for r in rows), start=0)
        set_border_text(self, subtitle=f"total {total:+,.2f}".replace(",", " "))

    def on_diff_table_row_highlighted(self, event: DiffTable.RowHighlighted) -> None:
        if not self.user_moved_to(event.key):
            return
        instrument = self._instruments.get(event.key)
        if instrument:
            self.post_message(InstrumentSelected(instrument))
