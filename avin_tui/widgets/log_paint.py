"""How a :class:`~avin_tui.widgets.log_view.LogView` draws (its CSS too): only the rows on screen.

A row's text is parsed once (``head``), styled by level, cursor and search matches, and cut into
strips (several when wrapped); strips and the screen layout (screen line -> row and part) are
cached by the view's ``version``, which every change of what is drawn bumps.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from avin_tui.logview.parse import RUN_MARK, LogLine, parse_line

if TYPE_CHECKING:
    from avin_tui.widgets.log_view import LogView

LEVEL_STYLE = {
    "DEBUG": Style(dim=True),
    "WARNING": Style(color="yellow"),
    "WARN": Style(color="yellow"),
    "ERROR": Style(color="red", bold=True),
    "CRITICAL": Style(color="white", bgcolor="red", bold=True),
}
SHORT_LEVEL = {"WARNING": "WARN", "CRITICAL": "CRIT"}
NO_COLOR_STYLES = {
    "logview--cursor": Style(reverse=True),
    "logview--match": Style(bold=True, underline=True),
    "logview--separator": Style(bold=True),
}
LOG_VIEW_CSS = """
    LogView {
        scrollbar-size: 1 1;
    }
    LogView > .logview--cursor {
        background: $accent 30%;
    }
    LogView > .logview--match {
        background: $warning 60%;
        text-style: bold;
    }
    LogView > .logview--separator {
        color: $accent;
        text-style: bold;
    }
    """
COMPONENTS = ("logview--cursor", "logview--match", "logview--separator")  # styled by the CSS above
HEADS_KEPT = 4_000  # parsed lines cached (those on screen and around)
STRIPS_KEPT = 2_000  # rendered rows cached


def compact(head: LogLine, line: str) -> str:
    """``14:33:54Z INFO  engine: message``: the pane's short form of a log line."""
    if head.level is None:
        return line
    ts = head.ts
    stamp = ts[11:19] + ("Z" if ts.endswith("Z") else "") if len(ts) >= 19 else ts
    level = SHORT_LEVEL.get(head.level, head.level)[:5]
    source = head.source.removeprefix("avin.")
    return f"{stamp} {level:<5} {source}: {head.message}"


class LogPainter:
    """The drawing side of one view, with its caches."""

    def __init__(self, view: LogView) -> None:
        self.view = view
        self.max_width = 0  # the widest row drawn so far (the horizontal scroll range)
        self._heads: OrderedDict[int, tuple[str, LogLine]] = OrderedDict()
        self._parts: OrderedDict[tuple[Any, ...], list[Strip]] = OrderedDict()
        self._layout_key: tuple[Any, ...] | None = None
        self._layout: list[tuple[int, int]] = []  # screen line -> (row, part of that row)

    def invalidate(self, rows: bool = True) -> None:
        """Draw again: the layout, and the rows too unless only the cursor or focus moved."""
        self._layout_key = None
        if rows:
            self._parts.clear()

    def forget_lines(self) -> None:
        """The file was truncated: its lines are read again."""
        self._heads.clear()

    def head(self, line: int) -> tuple[str, LogLine]:
        """The text drawn for a line and what it says (cached for the lines on screen)."""
        view = self.view
        cached = self._heads.get(line)
        if cached is not None:
            return cached
        texts = view.source.lines(line, line + 1)
        raw = texts[0] if texts else ""
        head = parse_line(raw)
        shown = compact(head, raw) if view.compact else raw
        if getattr(view.source, "tail_open", False) and line == view.source.count - 1:
            return shown, head  # still being written: read again next time
        self._heads[line] = (shown, head)
        if len(self._heads) > HEADS_KEPT:
            self._heads.popitem(last=False)
        return shown, head

    def _row_text(self, row: int) -> Text:
        view = self.view
        shown, head = self.head(view.line_of_row(row))
        if head.is_run_start:
            label = f" run started {compact(head, '')[:9] if view.compact else head.ts} "
            label += head.message.removeprefix(RUN_MARK).strip(" -") + " "
            width = max(view.scrollable_content_region.width, len(label) + 4)
            text = Text(("──" + label).ljust(width, "─"), no_wrap=True)
            text.stylize(self._style("logview--separator"))
        else:
            text = Text(shown, no_wrap=not view.wrap)
            style = LEVEL_STYLE.get(head.level or "")
            if style is not None:
                text.stylize(style)
            if view.compact and head.level is not None:
                text.stylize(Style(dim=True), 0, 9)
            if row == self.cursor_shown():
                text.stylize(self._style("logview--cursor"))
            pattern = view.search_pattern
            if pattern is not None and view.search_query.text:
                match_style = self._style("logview--match")
                for m in pattern.finditer(shown):
                    if m.end() > m.start():
                        text.stylize(match_style, m.start(), m.end())
            return text
        if row == self.cursor_shown():
            text.stylize(self._style("logview--cursor"))
        return text

    def _style(self, component: str) -> Style:
        """A component's style; without colour (NO_COLOR) the cursor is reversed and matches
        underlined, since a background alone would not show."""
        if getattr(self.view.app, "no_color", False):
            return NO_COLOR_STYLES.get(component, Style())
        return self.view.get_component_rich_style(component)

    def cursor_shown(self) -> int:
        """The row drawn as the cursor (-2: none, the view has no focus)."""
        view = self.view
        if not view.has_focus:
            return -2
        return view.cursor_row if view.cursor_row >= 0 else view.row_count - 1

    def row_strips(self, row: int, width: int) -> list[Strip]:
        view = self.view
        key = (row, width, view.wrap, view.version, row == self.cursor_shown())
        cached = self._parts.get(key)
        if cached is not None:
            return cached
        text = self._row_text(row)
        console = view.app.console
        base = view.rich_style
        if view.wrap:
            lines = text.wrap(console, max(1, width)) or [Text("")]
            strips = [
                Strip(line.render(console)).apply_style(base).extend_cell_length(width, base)
                for line in lines
            ]
        else:
            segments = list(text.render(console))
            strip = Strip(segments).apply_style(base)
            if strip.cell_length > self.max_width:
                self.max_width = strip.cell_length
                view.call_later(view.update_virtual_size)
            strips = [strip]
        self._parts[key] = strips
        if len(self._parts) > STRIPS_KEPT:
            self._parts.popitem(last=False)
        return strips

    def layout(self) -> list[tuple[int, int]]:
        """Screen line -> (row, part of that row), for the rows on screen."""
        view = self.view
        width = view.scrollable_content_region.width
        height = view.scrollable_content_region.height
        top = int(view.scroll_offset.y)
        key = (top, width, height, view.wrap, view.version, self.cursor_shown())
        if key == self._layout_key:
            return self._layout
        out: list[tuple[int, int]] = []
        rows = view.row_count
        row = top
        while len(out) < height and row < rows:
            parts = len(self.row_strips(row, width)) if view.wrap else 1
            out.extend((row, part) for part in range(parts))
            row += 1
        self._layout, self._layout_key = out[:height], key
        return self._layout

    def rows_fitting_before(self, row: int) -> int:
        """The top row that shows ``row`` on the last screen line (wrap mode counts parts)."""
        view = self.view
        height = max(1, view.scrollable_content_region.height)
        if not view.wrap:
            return max(0, row - height + 1)
        width = view.scrollable_content_region.width
        used, top = 0, row
        while top >= 0:
            used += len(self.row_strips(top, width))
            if used > height:
                return min(row, top + 1)
            top -= 1
        return 0

    def render_line(self, y: int) -> Strip:
        view = self.view
        width = view.scrollable_content_region.width
        layout = self.layout()
        base = view.rich_style
        if y >= len(layout):
            if y == 0 and view.row_count == 0:
                if view.source.count == 0:
                    empty = "(empty)"
                else:
                    empty = "no line matches the filters (x clears them)" if view.filtered else ""
                text = Text(empty[:width].ljust(width), style=Style(dim=True))
                return Strip(text.render(view.app.console), width).apply_style(base)
            return Strip([Segment(" " * width, base)], width)
        row, part = layout[y]
        strips = self.row_strips(row, width)
        strip = strips[min(part, len(strips) - 1)]
        if view.wrap:
            return strip
        x = int(view.scroll_offset.x)
        return strip.crop(x, x + width).extend_cell_length(width, base)

    def status(self) -> str:
        """The view's subtitle: level, filters, search and its count, wrap, new lines, note."""
        view = self.view
        parts = [f"≥{SHORT_LEVEL.get(view.level, view.level)}"]
        if view.source_filter:
            parts.append(f"src:{view.source_filter}")
        if view.text_filter:
            parts.append(f"only:{view.text_filter.text}")
        if view.filtering:
            parts.append("filtering…")
        if view.search_query:
            mark = "re" if view.search_query.regex else ""
            count = f"{view.match_count}{'…' if view.searching else ''}"
            parts.append(f"/{view.search_query.text}/{mark} {count}")
        if view.wrap:
            parts.append("wrap")
        if view.unseen:
            parts.append(f"+{view.unseen} new (end)")
        if view.note:
            parts.append(view.note)
        return " ".join(parts)
