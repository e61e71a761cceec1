"""Pane sizes on the main screen: weights of the grid's two columns and three rows.

The panes sit in a 2x3 grid (``avin_tui/themes/*.tcss``). Wide: the tables on the left, one per row; the
chart over two rows and the log on the right. Narrow (below 100 columns): strategies | chart,
orders | positions, the log across both columns. Growing a pane adds one to the weight of its
column and of each of its rows (shrinking takes one away, never below 1), so its neighbours in
that column and row give up the room. Untouched weights leave the stylesheet's own sizes (and its
narrow and wide variants) in force.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.css.query import NoMatches
from textual.screen import Screen

from avin_tui.layout import COLUMN_WEIGHTS, MAX_WEIGHT, ROW_WEIGHTS

# pane -> (columns, rows) it occupies
WIDE_CELLS = {
    "strategies": ((0,), (0,)),
    "orders": ((0,), (1,)),
    "positions": ((0,), (2,)),
    "chart": ((1,), (0, 1)),
    "log": ((1,), (2,)),
}
NARROW_CELLS = {
    "strategies": ((0,), (0,)),
    "chart": ((1,), (0,)),
    "orders": ((0,), (1,)),
    "positions": ((1,), (1,)),
    "log": ((0, 1), (2,)),
}


@dataclass(slots=True)
class PaneSizes:
    columns: list[int] = field(default_factory=lambda: list(COLUMN_WEIGHTS))
    rows: list[int] = field(default_factory=lambda: list(ROW_WEIGHTS))

    @property
    def default(self) -> bool:
        return self.columns == list(COLUMN_WEIGHTS) and self.rows == list(ROW_WEIGHTS)

    def resize(self, pane: str, step: int, narrow: bool = False) -> bool:
        """Grow (step > 0) or shrink the pane; whether anything changed."""
        cells = (NARROW_CELLS if narrow else WIDE_CELLS).get(pane)
        if cells is None:
            return False
        columns, rows = cells
        before = (list(self.columns), list(self.rows))
        if len(columns) < len(self.columns):  # a pane across every column has no width to gain
            for c in columns:
                self.columns[c] = _clamp(self.columns[c] + step)
        for r in rows:
            self.rows[r] = _clamp(self.rows[r] + step)
        return before != (self.columns, self.rows)

    def reset(self) -> None:
        self.columns = list(COLUMN_WEIGHTS)
        self.rows = list(ROW_WEIGHTS)

    def apply(self, screen: Screen[Any]) -> None:
        """Set the grid's sizes (inline styles), or clear them for the stylesheet's own."""
        try:
            grid = screen.query_one("#panes")
        except NoMatches:
            return
        if self.default:
            grid.styles.clear_rule("grid_columns")
            grid.styles.clear_rule("grid_rows")
        else:
            grid.styles.grid_columns = " ".join(f"{w}fr" for w in self.columns)
            grid.styles.grid_rows = " ".join(f"{w}fr" for w in self.rows)
        grid.refresh(layout=True)


def _clamp(weight: int) -> int:
    return max(1, min(MAX_WEIGHT, weight))
