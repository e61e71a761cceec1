"""A DataTable that is fed whole row sets and applies only the difference.

Rows carry stable keys (order key, position key, strategy id) so the cursor survives updates;
columns have fixed widths so nothing re-measures. A row set equal to the last one costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

Cell = str | Text
Row = tuple[Cell, ...]


class DiffTable(DataTable[Cell]):
    """Subclasses set ``COLUMNS`` as ``(key, label, width)`` triples."""

    COLUMNS: ClassVar[Sequence[tuple[str, str, int]]] = ()

    DEFAULT_CSS = """
    DiffTable {
        height: 1fr;
        scrollbar-size: 1 1;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            id=id,
            classes=classes,
            cursor_type="row",
            zebra_stripes=False,
            show_row_labels=False,
        )
        self._shown: dict[str, Row] = {}
        self._highlighted: str | None = None
        for key, label, width in self.COLUMNS:
            self.add_column(label, width=width, key=key)
        self.cell_updates = 0  # for tests and benchmarks: cells touched since start

    @property
    def shown_rows(self) -> Mapping[str, Row]:
        return self._shown

    def apply_rows(self, rows: Mapping[str, Row]) -> bool:
        """Make the table show ``rows`` (key -> cells, in display order). True if anything changed."""
        if rows == self._shown:
            return False
        column_keys = [key for key, _label, _width in self.COLUMNS]
        for key in [k for k in self._shown if k not in rows]:
            self.remove_row(key)
            del self._shown[key]
        for key, cells in rows.items():
            old = self._shown.get(key)
            if old is None:
                self.add_row(*cells, key=key)
                self.cell_updates += len(cells)
            elif old != cells:
                for column, before, after in zip(column_keys, old, cells, strict=True):
                    if before != after:
                        self.update_cell(key, column, after)
                        self.cell_updates += 1
            self._shown[key] = cells
        return True

    def user_moved_to(self, row_key: object) -> bool:
        """Whether a RowHighlighted is the user moving the cursor to another row.

        The first highlight (rows appearing under the cursor) and highlights while another pane
        has the focus do not count, so a table filling up never pulls the chart elsewhere.
        """
        key = None if row_key is None else str(row_key)
        previous, self._highlighted = self._highlighted, key
        return self.has_focus and previous is not None and key != previous

    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if self.row_count == 0:
            return None
        try:
            row_key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return None if row_key.value is None else str(row_key.value)
