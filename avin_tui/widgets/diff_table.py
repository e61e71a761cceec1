"""A table that is fed whole row sets and repaints only the rows that changed.

Rows carry stable keys (order key, position key, strategy id) so the cursor stays on its row while
rows come and go; columns have fixed widths so nothing re-measures. A row set equal to the last one
costs nothing.

This is a line-API widget rather than Textual's ``DataTable``: there, every ``update_cell``
invalidates the render caches of the whole table, so a PnL cell ticking re-renders every visible
cell (tens of ms a frame under a fast feed) and leaves thousands of stale cache entries for the
garbage collector. Here each row's line is rendered once and kept until that row's cells change,
and a change repaints that row's line only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

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

CELL_PADDING = 1  # spaces either side of a cell, as DataTable draws them


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
        Segment(" " * (CELL_PADDING + pad - left)),
    ]


class DiffTable(QuietResize, ScrollView, can_focus=True):
    """Subclasses set ``COLUMNS`` as ``(key, label, width)`` triples.

    The first line is the header (it stays put when the rows scroll); the cursor is a whole row.
    """

    COLUMNS: ClassVar[Sequence[tuple[str, str, int]]] = ()

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first_row", "First row", show=False),
        Binding("end,ctrl+end", "last_row", "Last row", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
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
        self._line_cache: dict[str, Strip] = {}  # key -> the row's line (not under the cursor)
        self._header: Strip | None = None
        self._styles_key: tuple[Style, Style, Style] | None = None
        self._width = sum(width + 2 * CELL_PADDING for _key, _label, width in self.COLUMNS)
        self.virtual_size = Size(self._width, 1)
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
        if rows == self._shown:
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

    def _follow_cursor(self) -> None:
        """After rows came or went: the cursor stays on its row (or the nearest, if it went)."""
        old = self._cursor
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

    def _row_strip(self, cells: Row, base: Style, post: Style | None = None) -> Strip:
        console = self.app.console
        segments: list[Segment] = []
        for (_key, _label, width), cell in zip(self.COLUMNS, cells, strict=False):
            segments.extend(_cell_segments(cell, width, console))
        self.rows_rendered += 1
        return Strip(Segment.apply_style(segments, base, post), self._width)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base, header_style, cursor_style = self._styles()
        if y == 0:
            if self._header is None:
                labels = tuple(Text(label) for _key, label, _width in self.COLUMNS)
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
