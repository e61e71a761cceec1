"""A table that is fed whole row sets and repaints only the rows that changed.

Rows carry stable keys (order key, position key, strategy id) so the cursor stays on its row while
rows come and go; columns have fixed widths so nothing re-measures. A row set equal to the last one
costs nothing.

This is a line-API widget rather than Textual's ``DataTable``: there, every ``update_cell``
invalidates the render caches of the whole table, so a PnL cell ticking re-renders every visible
cell (tens of ms a frame under a fast feed) and leaves thousands of stale cache entries for the
garbage collector. Here each row's line is rendered once and kept until that row's cells change,
and a change repaints that row's line only.

Columns by priority: a column may carry a priority (``(key, label, width, priority)``; 0 is the
most important, a column without one ranks by its place). When the pane is narrower than all
columns, the least important ones are left out (the most important that still fit are shown, in
their order); the room left over widens the ``FLEX`` column (a name that would be cut). A row
keeps all its cells: which are drawn is decided per width, so the panes never deal with it.

Sort: ``,`` cycles the sort through the shown columns (ascending, descending, then the pane's own
order); numbers sort as numbers. The cursor stays on its row through sorts and updates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from avin_tui.widgets._scroll import QuietResize

Cell = str | Text
Row = tuple[Cell, ...]

CELL_PADDING = 1  # a space before each cell: one between columns (80 columns fit one more)
CELL_SPACE = CELL_PADDING  # cells per column besides its width
Column = tuple[str, str, int] | tuple[str, str, int, int]  # key, label, width[, priority]
_NUMBER = re.compile(r"^[+-]?[\d\s]*\.?\d+")


def column_priority(index: int, column: Sequence[Any]) -> int:
    return int(column[3]) if len(column) > 3 else 100 + index


def fit_columns(columns: Sequence[Column], width: int, flex: str | None = None) -> list[int]:
    """Widths of the columns to draw in ``width`` cells (0: left out). The most important come
    first; one that does not fit is skipped and a less important narrower one may still fit."""
    order = sorted(range(len(columns)), key=lambda i: column_priority(i, columns[i]))
    widths = [0] * len(columns)
    used = 0
    for i in order:
        need = columns[i][2] + CELL_SPACE
        if used + need <= width or used == 0:
            widths[i] = columns[i][2]
            used += need
    if flex is not None:
        for i, column in enumerate(columns):
            if column[0] == flex and widths[i] and width > used:
                widths[i] += width - used
    return widths


def sort_value(cell: Cell) -> tuple[int, Any]:
    """How a cell sorts: numbers (``1 234.50``, ``+2``, ``2/3``) as numbers, before text."""
    text = (cell.plain if isinstance(cell, Text) else str(cell)).strip()
    match = _NUMBER.match(text.replace("\u2009", ""))
    if match and match.group(0).strip("+- "):
        try:
            return (0, float(match.group(0).replace(" ", "")))
        except ValueError:
            pass
    return (1, text.lower())


def _cell_segments(cell: Cell, width: int, console: Console) -> list[Segment]:
    """One cell: padded, justified (a Text's ``justify``), cut with an ellipsis when too long."""
    text = cell if isinstance(cell, Text) else Text(str(cell))
    if text.cell_len > width:
        text = text.copy()
        text.truncate(width, overflow="ellipsis")
    pad = max(0, width - text.cell_len)
    justify = text.justify or "left"
    left = pad if justify == "right" else pad // 2 if justify == "center" else 0
    return [
        Segment(" " * (CELL_PADDING + left)),
        *text.render(console),
        Segment(" " * (pad - left)),
    ]


class DiffTable(QuietResize, ScrollView, can_focus=True):
    """Subclasses set ``COLUMNS`` as ``(key, label, width[, priority])`` and may name a ``FLEX``
    column that takes the room left over.

    The first line is the header (it stays put when the rows scroll); the cursor is a whole row.
    """

    COLUMNS: ClassVar[Sequence[Column]] = ()
    FLEX: ClassVar[str | None] = None

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first_row", "First row", show=False),
        Binding("end,ctrl+end", "last_row", "Last row", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("comma", "cycle_sort", "Sort", key_display=",", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"difftable--header", "difftable--cursor"}
    DEFAULT_CSS = """
    DiffTable {
        height: 1fr;
        scrollbar-size: 1 1;
        background: $surface;
        color: $foreground;
        & > .difftable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .difftable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > .difftable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .difftable--header { background-tint: $foreground 5%; }
        }
    }
    """

    class RowHighlighted(Message):
        """The user moved the cursor to another row (keys, a click or :meth:`move_cursor`)."""

        def __init__(self, table: DiffTable, cursor_row: int, key: str) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row
            self.key = key

        @property
        def control(self) -> DiffTable:
            return self.table

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._shown: dict[str, Row] = {}
        self._keys: list[str] = []  # display order
        self._index: dict[str, int] = {}
        self._cursor = 0
        self._cursor_key: str | None = None
        self._wanted_key: str | None = None  # a restored cursor row that has not come yet
        self._line_cache: dict[str, Strip] = {}  # key -> the row's line (not under the cursor)
        self._header: Strip | None = None
        self._styles_key: tuple[Style, Style, Style] | None = None
        self._widths = [column[2] for column in self.COLUMNS]  # 0: left out at this width
        self._fitted_for = -1
        self._width = sum(w + CELL_SPACE for w in self._widths)
        self.virtual_size = Size(self._width, 1)
        self._given: dict[str, Row] = {}  # the rows as the pane gave them (its own order)
        self._labels: dict[str, str] = {}  # column key -> a label set at run time
        self.sort_column: str | None = None
        self.sort_descending = False
        self.cell_updates = 0  # for tests and benchmarks: cells touched since start
        self.rows_rendered = 0  # row lines rendered (tests and benchmarks: the cost of updates)

    # --- the data -------------------------------------------------------------------------------

    @property
    def shown_rows(self) -> Mapping[str, Row]:
        return self._shown

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def cursor_row(self) -> int:
        return self._cursor

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    def apply_rows(self, rows: Mapping[str, Row]) -> bool:
        """Make the table show ``rows`` (key -> cells, in display order). True if anything changed.

        Only rows whose cells changed are re-rendered, and only their lines are repainted (all
        lines from the first row that moved, when rows were added or removed in between).
        """
        self._given = dict(rows)
        rows = self._sorted(rows)
        if rows == self._shown and list(rows) == self._keys:
            return False
        dirty: list[str] = []
        for key, cells in rows.items():
            old = self._shown.get(key)
            if old is None:
                self.cell_updates += len(cells)
            elif old != cells:
                self.cell_updates += sum(1 for a, b in zip(old, cells, strict=True) if a != b)
                dirty.append(key)
                self._line_cache.pop(key, None)
        keys = list(rows)
        moved_from: int | None = None
        if keys != self._keys:
            moved_from = next(
                (i for i, (a, b) in enumerate(zip(self._keys, keys, strict=False)) if a != b),
                min(len(keys), len(self._keys)),
            )
            for key in self._keys:
                if key not in rows:
                    self._line_cache.pop(key, None)
            old_count = len(self._keys)
            self._keys = keys
            self._index = {key: i for i, key in enumerate(keys)}
            with self.quiet_resize():
                self.virtual_size = Size(self._width, len(keys) + 1)
            self._follow_cursor()
            self._refresh_rows(moved_from, max(old_count, len(keys)) - moved_from)
        self._shown = dict(rows)
        for key in dirty:
            index = self._index[key]
            if moved_from is None or index < moved_from:
                self._refresh_rows(index)
        return True

    def _sorted(self, rows: Mapping[str, Row]) -> Mapping[str, Row]:
        index = self._column_index(self.sort_column)
        if index is None:
            return rows
        keys = sorted(
            rows,
            key=lambda k: sort_value(rows[k][index]) if index < len(rows[k]) else (2, ""),
            reverse=self.sort_descending,
        )
        return {k: rows[k] for k in keys}

    def _column_index(self, key: str | None) -> int | None:
        for i, column in enumerate(self.COLUMNS):
            if column[0] == key:
                return i
        return None

    def set_sort(self, column: str | None, descending: bool = False) -> None:
        """Sort by a column (None: the pane's own order) and show the rows in that order."""
        if column is not None and self._column_index(column) is None:
            column = None
        self.sort_column, self.sort_descending = column, bool(descending) and column is not None
        self._header = None
        self.apply_rows(self._given)
        self.refresh()

    def action_cycle_sort(self) -> None:
        shown = [c[0] for c, w in zip(self.COLUMNS, self._widths, strict=True) if w]
        if self.sort_column is None or self.sort_column not in shown:
            self.set_sort(shown[0] if shown else None)
        elif not self.sort_descending:
            self.set_sort(self.sort_column, True)
        else:
            i = shown.index(self.sort_column) + 1
            self.set_sort(shown[i] if i < len(shown) else None)
        changed = getattr(self.app, "layout_changed", None)
        if changed is not None:
            changed()

    @property
    def cursor_to_save(self) -> str | None:
        """The cursor's row for the workspace: a restored one still to come, else the current."""
        return self._wanted_key or self.selected_key()

    def restore_cursor(self, key: str | None) -> None:
        """Put the cursor on the row ``key`` now or, when the rows have not come yet, when it
        arrives (a saved workspace)."""
        if key is None:
            return
        if key in self._index:
            self._set_cursor(self._index[key])
        else:
            self._wanted_key = key  # kept until the row comes or the user moves the cursor

    def _follow_cursor(self) -> None:
        """After rows came or went: the cursor stays on its row (or the nearest, if it went)."""
        old = self._cursor
        wanted = self._wanted_key
        if wanted is not None and wanted in self._index:
            self._wanted_key = None
            self._cursor_key = wanted
            self.call_after_refresh(self._scroll_to_cursor)
        if self._cursor_key is not None and self._cursor_key in self._index:
            self._cursor = self._index[self._cursor_key]
        else:
            self._cursor = max(0, min(self._cursor, len(self._keys) - 1))
        self._cursor_key = self._keys[self._cursor] if self._keys else None
        if old != self._cursor:
            self._refresh_rows(old)
            self._refresh_rows(self._cursor)

    def _refresh_rows(self, index: int, count: int = 1) -> None:
        """Repaint the lines of rows ``index`` .. ``index + count - 1`` (the header is line 0)."""
        top = self.scroll_offset.y
        first = max(index, top)
        last = min(index + count, top + self._visible_rows)
        if last > first:
            self.refresh(Region(0, 1 + first - top, self.size.width, last - first))

    # --- the cursor -----------------------------------------------------------------------------

    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        return self._cursor_key if self._keys else None

    def move_cursor(
        self, *, row: int | None = None, animate: bool = False, scroll: bool = True
    ) -> None:
        if row is not None:
            self._set_cursor(row, scroll=scroll)

    def _set_cursor(self, index: int, *, scroll: bool = True) -> None:
        if not self._keys:
            return
        index = max(0, min(index, len(self._keys) - 1))
        self._wanted_key = None
        old, old_key = self._cursor, self._cursor_key
        self._cursor = index
        self._cursor_key = self._keys[index]
        if old != index:
            self._refresh_rows(old)
            self._refresh_rows(index)
        if scroll:
            self._scroll_to_cursor()
        if self._cursor_key != old_key:
            self.post_message(self.RowHighlighted(self, index, self._cursor_key))

    def user_moved_to(self, key: object) -> bool:
        """Whether a RowHighlighted should act: the table has the focus and the row is real.

        (Rows filling in never post one, so a table filling up never pulls the chart elsewhere.)
        """
        return self.has_focus and key is not None

    @property
    def _visible_rows(self) -> int:
        return max(1, self.size.height - 1)

    def _scroll_to_cursor(self) -> None:
        top = round(self.scroll_offset.y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + self._visible_rows:
            self.scroll_to(y=self._cursor - self._visible_rows + 1, animate=False)

    def action_cursor_up(self) -> None:
        self._set_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._set_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        self._set_cursor(self._cursor - self._visible_rows)

    def action_page_down(self) -> None:
        self._set_cursor(self._cursor + self._visible_rows)

    def action_first_row(self) -> None:
        self._set_cursor(0)

    def action_last_row(self) -> None:
        self._set_cursor(len(self._keys) - 1)

    def action_scroll_left(self) -> None:
        self.scroll_to(x=max(0, self.scroll_offset.x - 4), animate=False)

    def action_scroll_right(self) -> None:
        self.scroll_to(x=self.scroll_offset.x + 4, animate=False)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        index = self.scroll_offset.y + offset.y - 1
        if index < len(self._keys):
            self._set_cursor(index)

    # --- rendering ------------------------------------------------------------------------------

    def set_label(self, column: str, label: str) -> None:
        """Show ``label`` over a column instead of its own (e.g. which clock a time is on)."""
        if self._labels.get(column) != label:
            self._labels[column] = label
            self._header = None
            self.refresh(Region(0, 0, self.size.width, 1))

    def _label(self, column: Sequence[Any]) -> str:
        if column[0] != self.sort_column:
            return self._labels.get(column[0], str(column[1]))
        label, width = self._labels.get(column[0], str(column[1])), int(column[2])
        return f"{label[: max(1, width - 1)]}{'▼' if self.sort_descending else '▲'}"

    def _styles(self) -> tuple[Style, Style, Style]:
        base = self.rich_style
        header = self.get_component_rich_style("difftable--header")
        cursor = self.get_component_rich_style("difftable--cursor")
        styles = (base, header, cursor)
        if styles != self._styles_key:  # a theme or focus change: every line looks different
            self._styles_key = styles
            self._line_cache.clear()
            self._header = None
        return styles

    def _fit(self) -> None:
        """Choose the columns for the width the table has (on a resize)."""
        width = self.size.width
        if width <= 0 or width == self._fitted_for:
            return
        self._fitted_for = width
        widths = fit_columns(self.COLUMNS, width - 1, self.FLEX)  # (room for a scrollbar)
        if widths != self._widths:
            self._widths = widths
            self._width = sum(w + CELL_SPACE for w in widths if w)
            self._line_cache.clear()
            self._header = None
            with self.quiet_resize():
                self.virtual_size = Size(self._width, len(self._keys) + 1)
            self.refresh()

    def on_resize(self) -> None:
        self._fit()

    @property
    def shown_columns(self) -> list[str]:
        """The keys of the columns drawn at the current width."""
        return [c[0] for c, w in zip(self.COLUMNS, self._widths, strict=True) if w]

    def _row_strip(self, cells: Row, base: Style, post: Style | None = None) -> Strip:
        console = self.app.console
        segments: list[Segment] = []
        for width, cell in zip(self._widths, cells, strict=False):
            if width:
                segments.extend(_cell_segments(cell, width, console))
        self.rows_rendered += 1
        return Strip(Segment.apply_style(segments, base, post), self._width)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base, header_style, cursor_style = self._styles()
        if y == 0:
            if self._header is None:
                labels = tuple(Text(self._label(column)) for column in self.COLUMNS)
                self._header = self._row_strip(labels, base + header_style)
            strip = self._header
        else:
            index = scroll_y + y - 1
            if index >= len(self._keys):
                return Strip.blank(width, base)
            key = self._keys[index]
            if index == self._cursor:
                strip = self._row_strip(self._shown[key], base, cursor_style)
            else:
                cached = self._line_cache.get(key)
                if cached is None:
                    cached = self._line_cache[key] = self._row_strip(self._shown[key], base)
                strip = cached
        if scroll_x == 0 and strip.cell_length == width:
            return strip  # (a no-op crop_extend caches the strip in itself: a reference cycle)
        return strip.crop_extend(scroll_x, scroll_x + width, base)
