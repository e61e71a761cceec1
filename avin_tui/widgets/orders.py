"""Orders pane: open orders pinned on top (newest first), then the latest finished ones (newest
first); ``f`` shows open orders only or all; x or delete cancels."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from avin_tui.messages import InstrumentSelected, OrderCancelRequested
from avin_tui.widgets._format import msk, price, right, set_border_text, ticker
from avin_tui.widgets.diff_table import DiffTable, Row
from engine.model.snapshot import OrderRow

OPEN_STATES = frozenset({"new", "submitted", "accepted", "partially_filled"})
STATUS_STYLE = {
    "filled": "green",
    "rejected": "bold red",
    "cancelled": "dim",
    "expired": "dim",
    "partially_filled": "cyan",
    "accepted": "bold",
}
STATUS_SHORT = {"partially_filled": "partial"}
MAX_FINISHED = 50  # finished orders kept on screen (each row costs on every repaint)
PRUNE_SLACK = 25  # ...plus up to this many before a batch of them is dropped


def order_cells(row: OrderRow) -> Row:
    side = Text(row.side.upper(), style="green" if row.side.lower() == "buy" else "red")
    lots = f"{row.filled}/{row.lots}" if row.filled else str(row.lots)
    status = STATUS_SHORT.get(row.status, row.status)
    if row.type.endswith("(local)") and row.status == "accepted":
        status = "local"  # a stop avin keeps itself (the sandbox has none): waiting for its price
    return (
        ticker(row.instrument),
        side,
        right(lots),
        right(price(row.price) if row.price is not None else "mkt"),
        Text(status, style=STATUS_STYLE.get(row.status, "")),
        msk(row.ts),
        row.type,
        row.key[:8],
    )


class OrdersTable(DiffTable):
    COLUMNS = (
        ("instrument", "Instr", 5, 0),  # (the last number: priority, 0 kept longest)
        ("side", "Side", 4, 1),
        ("lots", "Lots", 5, 3),
        ("price", "Price", 9, 4),
        ("status", "Status", 9, 2),
        ("time", "MSK", 8, 5),
        ("type", "Type", 6, 7),
        ("key", "Key", 8, 6),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "cancel_order", "Cancel"),
        Binding("delete", "cancel_order", "Cancel", show=False),
        Binding("f", "toggle_filter", "Open/all"),
    ]

    def on_mount(self) -> None:
        self.border_title = "[u]O[/u]rders"
        self._rows: dict[str, OrderRow] = {}
        self._last: tuple[OrderRow, ...] = ()
        self.open_only = False

    def update_rows(self, rows: tuple[OrderRow, ...]) -> None:
        """Open orders on top, newest first, then finished ones, newest first.

        The snapshot lists orders oldest first. Finished orders beyond ``MAX_FINISHED`` are
        dropped in batches: removing a row makes the table lay out again, so it should not
        happen on every new order. An order that opens or finishes moves, so an open order is
        never below the fold behind finished ones.
        """
        self._last = rows
        open_rows = [r for r in rows if r.status in OPEN_STATES]
        finished = [] if self.open_only else [r for r in rows if r.status not in OPEN_STATES]
        # keep from the oldest finished order on screen, unless that makes too many
        start = next(
            (i for i, r in enumerate(finished) if r.key in self._rows),
            max(0, len(finished) - MAX_FINISHED),
        )
        if len(finished) - start > MAX_FINISHED + PRUNE_SLACK:
            start = len(finished) - MAX_FINISHED
        shown = open_rows[::-1] + finished[start:][::-1]
        self._rows = {r.key: r for r in shown}
        added = any(r.key not in self.shown_rows for r in shown)
        self.apply_rows({r.key: order_cells(r) for r in shown})
        if added and not self.has_focus:  # follow the newest (at the top) unless in use
            self.scroll_home(animate=False, immediate=False)
        view = "open only (f: all)" if self.open_only else "all"
        set_border_text(self, subtitle=f"{len(open_rows)} open · {view}")

    def action_toggle_filter(self) -> None:
        """Open orders only, or all of them."""
        self.open_only = not self.open_only
        self.update_rows(self._last)

    def action_cancel_order(self) -> None:
        key = self.selected_key()
        row = self._rows.get(key) if key is not None else None
        if row is None:
            return
        if row.status not in OPEN_STATES:
            self.notify(f"order {row.key[:8]} is {row.status}: nothing to cancel", timeout=3)
            return
        self.post_message(OrderCancelRequested(row.key, row.status))

    def on_diff_table_row_highlighted(self, event: DiffTable.RowHighlighted) -> None:
        if not self.user_moved_to(event.key):
            return
        row = self._rows.get(event.key)
        if row is not None:
            self.post_message(InstrumentSelected(row.instrument))
