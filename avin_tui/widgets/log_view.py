"""A log view: any number of lines, only those on screen rendered, with search and filters.

One widget for the Log pane (the live run, ``LogPane``) and the full-screen viewer (a file of any
size, ``LogViewerScreen``), with the same keys:

``/`` search (plain, or a regular expression with ctrl+r in the prompt; highlighted), ``n``/``N``
next/previous match, ``v`` minimum level, ``S`` source filter, ``f`` text filter (only matching
lines), ``x`` clears search and those two filters, ``enter`` the entry in full, ``w`` wrap, ``e``/``E``
next/previous warning or error, ``i`` incidents.log, ``r`` older runs' logs, ``end`` follows the
tail. Search and filters over a file run in a worker thread, block by block, and the view shows
what they found so far (``avin_tui.logview``).
"""

from __future__ import annotations

import contextlib
import re
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from avin_tui.logview.parse import LEVEL_RANK, LEVELS, RUN_MARK, Entry, LogLine, parse_line
from avin_tui.logview.search import LogFilter, Query, QueryError, lines_matching_text
from avin_tui.logview.sources import FileSource, LineSource, MemorySource, Scan
from avin_tui.widgets._format import set_border_text
from avin_tui.widgets._scroll import QuietResize

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
# a warning or an error in avin.log (either time format), or any incident
ALERT = re.compile(
    r"^(?:\d{4}-\d\d-\d\d[T ][\d:.,]+Z?\s+(?:WARNING|WARN|ERROR|CRITICAL)\s|\{\"ts\")",
    re.MULTILINE,
)
SCAN_SYNC_LINES = 200_000  # a file this small is looked through for e/E on the UI thread
MAX_HOPS = 100_000  # matches looked at for one n/N (those hidden by a filter are skipped)


def compact(head: LogLine, line: str) -> str:
    """``14:33:54Z INFO  engine: message``: the pane's short form of a log line."""
    if head.level is None:
        return line
    ts = head.ts
    stamp = ts[11:19] + ("Z" if ts.endswith("Z") else "") if len(ts) >= 19 else ts
    level = SHORT_LEVEL.get(head.level, head.level)[:5]
    source = head.source.removeprefix("avin.")
    return f"{stamp} {level:<5} {source}: {head.message}"


class LogView(QuietResize, ScrollView, can_focus=True):
    """The lines of a :class:`LineSource`, filtered, searched, drawn a screen at a time."""

    DEFAULT_CSS = """
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
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "logview--cursor",
        "logview--match",
        "logview--separator",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "PgUp", show=False),
        Binding("pagedown", "page(1)", "PgDn", show=False),
        Binding("home", "home", "Top", show=False),
        Binding("end", "follow", "Follow", show=False),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("n", "next_match(1)", "Next", show=False),
        Binding("N", "next_match(-1)", "Prev", show=False),
        Binding("v", "cycle_level", "Level"),
        Binding("S", "filter_source", "Source", show=False),
        Binding("f", "filter_text", "Filter", show=False),
        Binding("x", "clear", "Clear", show=False),
        Binding("enter", "details", "Details", show=False),
        Binding("w", "wrap", "Wrap", show=False),
        Binding("e", "next_alert(1)", "Next warn/err", show=False),
        Binding("E", "next_alert(-1)", "Prev warn/err", show=False),
        Binding("i", "incidents", "Incidents", show=False),
        Binding("r", "runs", "Runs", show=False),
    ]

    def __init__(
        self,
        source: LineSource,
        *,
        compact: bool = False,
        follow: bool = True,
        title: str = "Log",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.source = source
        self.compact = compact
        self.follow = follow
        self.title = title
        self.wrap = False
        self.level = "DEBUG"  # the minimum level shown
        self.source_filter = ""
        self.text_filter = Query("")
        self.search_query = Query("")
        self.cursor_row = -1  # -1: no line chosen yet (the cursor then sits on the last line)
        self.unseen = 0  # rows that arrived while the view did not follow
        self.note = ""  # a short message for the subtitle (an error, "no match")
        self._pattern: re.Pattern[str] | None = None
        self._filter: Scan | None = None
        self._search: Scan | None = None
        self._rows_known = 0
        self._jump_to_first = False  # go to the first match as soon as the search finds one
        self._generation = 0  # of the file's index: it changes when the file was truncated
        self._max_width = 0
        self._heads: OrderedDict[int, tuple[str, LogLine]] = OrderedDict()
        self._parts: OrderedDict[tuple[Any, ...], list[Strip]] = OrderedDict()
        self._layout_key: tuple[Any, ...] | None = None
        self._layout: list[tuple[int, int]] = []  # screen line -> (row, part of that row)
        self.version = 0  # bumped on anything that changes what is drawn

    # --- rows ---------------------------------------------------------------------------------

    @property
    def filtered(self) -> bool:
        return self._filter is not None

    @property
    def row_count(self) -> int:
        if self._filter is None:
            return self.source.count - self.source.first
        return len(self._filter.found) - self._filter.index_of(self.source.first)

    def line_of_row(self, row: int) -> int:
        if self._filter is None:
            return self.source.first + row
        return self._filter.get(self._filter.index_of(self.source.first) + row)

    def row_of_line(self, line: int) -> int | None:
        if line < self.source.first or line >= self.source.count:
            return None
        if self._filter is None:
            return line - self.source.first
        if not self._filter.contains(line):
            return None
        return self._filter.index_of(line) - self._filter.index_of(self.source.first)

    def rows_text(self, first: int = 0, stop: int | None = None) -> list[str]:
        """The rows as drawn (without styles): for tests and the pane's ``lines``."""
        stop = self.row_count if stop is None else min(stop, self.row_count)
        return [self._head(self.line_of_row(r))[0] for r in range(first, stop)]

    @property
    def current_line(self) -> int | None:
        rows = self.row_count
        if rows == 0:
            return None
        row = self.cursor_row if 0 <= self.cursor_row < rows else rows - 1
        return self.line_of_row(row)

    # --- state (the workspace saves it) -------------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        """What the user set up, as JSON-able values (restored by :meth:`restore_state`)."""
        return {
            "level": self.level,
            "source": self.source_filter,
            "text": self.text_filter.text,
            "text_regex": self.text_filter.regex,
            "search": self.search_query.text,
            "regex": self.search_query.regex,
            "wrap": self.wrap,
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        """Apply a saved state; unknown keys and values of the wrong type are ignored."""
        if not isinstance(state, dict):
            return

        def get(key: str, kind: type, default: Any) -> Any:
            value = state.get(key, default)
            return value if isinstance(value, kind) else default

        level = str(get("level", str, self.level)).upper()
        self.level = level if level in LEVELS else self.level
        self.source_filter = get("source", str, "")
        self.text_filter = Query(get("text", str, ""), bool(get("text_regex", bool, False)))
        self.wrap = bool(get("wrap", bool, False))
        self._apply_filter()
        self.set_search(Query(get("search", str, ""), bool(get("regex", bool, False))))

    # --- filters and search -------------------------------------------------------------------

    def set_level(self, level: str) -> None:
        level = level.upper()
        level = "WARNING" if level == "WARN" else level
        if level in LEVELS and level != self.level:
            self.level = level
            self._apply_filter()

    def set_filters(
        self, *, source: str | None = None, text: Query | None = None, level: str | None = None
    ) -> None:
        if source is not None:
            self.source_filter = source.strip()
        if text is not None:
            self.text_filter = text
        if level is not None and level.upper() in LEVELS:
            self.level = level.upper()
        self._apply_filter()

    def _apply_filter(self) -> None:
        keep = self.current_line
        if self._filter is not None:
            self._filter.cancel.set()
        flt = LogFilter(self.level, self.source_filter, self.text_filter)
        try:
            self._filter = Scan.filter(self.source, flt) if flt.active else None
        except QueryError as exc:
            self.text_filter = Query("")
            self.note = str(exc)
            self._filter = None
        if self._filter is not None:
            self._run_scan(self._filter)
        self.cursor_row = -1
        if keep is not None and not self.follow:
            row = self._nearest_row(keep)
            if row is not None:
                self.cursor_row = row
        self._changed(scroll_to_cursor=True)
        self.state_changed()

    def _nearest_row(self, line: int) -> int | None:
        if self._filter is None:
            return self.row_of_line(line)
        rows = self.row_count
        if rows == 0:
            return None
        i = self._filter.index_of(line) - self._filter.index_of(self.source.first)
        return max(0, min(i, rows - 1))

    def set_search(self, query: Query) -> bool:
        """Search for ``query`` (empty: no search); False with ``note`` set when it is invalid."""
        if self._search is not None:
            self._search.cancel.set()
        self._search, self._pattern = None, None
        self.search_query = Query("")
        if query:
            try:
                scan = Scan.search(self.source, query)
            except QueryError as exc:
                self.note = str(exc)
                self._changed()
                return False
            self.search_query, self._search = query, scan
            self._pattern = query.compile()
            self._run_scan(scan)
        self.note = ""
        self._changed()
        self.state_changed()
        return True

    def _run_scan(self, scan: Scan) -> None:
        """Memory (bounded, small): at once. A file: in a worker, the view shows what it finds
        as it goes (started by the next tick when the view is not mounted yet)."""
        if isinstance(self.source, MemorySource):
            scan.run()
        elif self.is_mounted and not scan.running:
            scan.running = True  # (before the thread starts: the next tick must not start another)
            self.in_thread(scan.run, "scan")

    def in_thread(self, work: Callable[[Callable[[], bool]], None], group: str) -> None:
        """Run ``work(stop)`` in a thread worker; ``stop()`` turns True when the worker is
        cancelled (this view goes away, the app quits), so the app never waits on a long scan."""

        def run() -> None:
            worker = get_current_worker()
            work(lambda: worker.is_cancelled)

        self.run_worker(run, thread=True, group=group, exit_on_error=False)

    def on_unmount(self) -> None:
        for scan in (self._filter, self._search):
            if scan is not None:
                scan.cancel.set()

    @property
    def match_count(self) -> int:
        return 0 if self._search is None else len(self._search.found)

    @property
    def searching(self) -> bool:
        return self._search is not None and not self._search.done

    # --- keeping up with the source -----------------------------------------------------------

    def on_mount(self) -> None:
        self.set_interval(0.2, self.tick, name="logview-tick")
        self._changed(scroll_to_cursor=True)

    def tick(self) -> None:
        """Go on with scans the source outgrew, and show what arrived or was found."""
        if isinstance(self.source, FileSource):
            if self.source.replaced():  # avin.log rotated: the new file takes its place
                self.file_replaced()
                return
            self.source.refresh()
            if self.source.index.generation != self._generation:  # truncated: read again
                self._generation = self.source.index.generation
                self._heads.clear()
                self._apply_filter()
                self.set_search(self.search_query)
        for scan in (self._filter, self._search):
            if scan is not None and not scan.running and scan.next < self.source.count:
                self._run_scan(scan)
        if self._jump_to_first and self.match_count:  # a search over a file found its first
            self._jump_to_first = not self._goto_match(1, from_current=True)
        elif self._jump_to_first and self._search is not None and self._search.done:
            self._jump_to_first = False
            self.note = "no match"
        key = (self.source.count, self.source.first, self.row_count, self.match_count)
        if key != getattr(self, "_tick_key", None):
            self._tick_key = key
            self._changed(scroll_to_cursor=self.follow)
        else:
            self._update_subtitle()

    def file_replaced(self) -> None:
        """The file shown was rotated away (the viewer opens the new one in its place)."""
        screen = self.screen
        reopen = getattr(screen, "open", None)
        if isinstance(self.source, FileSource) and callable(reopen):
            reopen(self.source.path)

    def _changed(self, scroll_to_cursor: bool = False) -> None:
        rows = self.row_count
        grown = rows - self._rows_known
        if grown > 0 and not self.follow and self._rows_known:
            self.unseen += grown
        self._rows_known = rows
        self.version += 1
        self._layout_key = None
        self._parts.clear()
        self._update_virtual_size()
        if self.follow:
            self.cursor_row = -1
            self.unseen = 0
            self._scroll_to_row(rows - 1)
        elif scroll_to_cursor and self.cursor_row >= 0:
            self._scroll_to_row(self.cursor_row)
        self._update_subtitle()
        self.refresh()

    def _update_virtual_size(self) -> None:
        rows = self.row_count
        height = self.scrollable_content_region.height or 1
        width = self.scrollable_content_region.width or 1
        if self.wrap:
            size = Size(width, rows + height - 1 if rows else 0)
        else:
            size = Size(max(width, self._max_width), rows)
        if size != self.virtual_size:
            with self.quiet_resize():
                self.virtual_size = size

    def on_resize(self, event: events.Resize) -> None:
        self._changed(scroll_to_cursor=True)

    # --- drawing ------------------------------------------------------------------------------

    def _head(self, line: int) -> tuple[str, LogLine]:
        """The text drawn for a line and what it says (cached for the lines on screen)."""
        key = line
        cached = self._heads.get(key)
        if cached is not None:
            return cached
        texts = self.source.lines(line, line + 1)
        raw = texts[0] if texts else ""
        head = parse_line(raw)
        shown = compact(head, raw) if self.compact else raw
        if getattr(self.source, "tail_open", False) and line == self.source.count - 1:
            return shown, head  # still being written: read again next time
        self._heads[key] = (shown, head)
        if len(self._heads) > 4_000:
            self._heads.popitem(last=False)
        return shown, head

    def _row_text(self, row: int) -> Text:
        line = self.line_of_row(row)
        shown, head = self._head(line)
        if head.is_run_start:
            label = f" run started {compact(head, '')[:9] if self.compact else head.ts} "
            label += head.message.removeprefix(RUN_MARK).strip(" -") + " "
            width = max(self.scrollable_content_region.width, len(label) + 4)
            text = Text(("──" + label).ljust(width, "─"), no_wrap=True)
            text.stylize(self._style("logview--separator"))
        else:
            text = Text(shown, no_wrap=not self.wrap)
            style = LEVEL_STYLE.get(head.level or "")
            if style is not None:
                text.stylize(style)
            if self.compact and head.level is not None:
                text.stylize(Style(dim=True), 0, 9)
            if row == self._cursor_shown():
                text.stylize(self._style("logview--cursor"))
            if self._pattern is not None and self.search_query.text:
                match_style = self._style("logview--match")
                for m in self._pattern.finditer(shown):
                    if m.end() > m.start():
                        text.stylize(match_style, m.start(), m.end())
            return text
        if row == self._cursor_shown():
            text.stylize(self._style("logview--cursor"))
        return text

    def _style(self, component: str) -> Style:
        """A component's style; without colour (NO_COLOR) the cursor is reversed and matches
        underlined, since a background alone would not show."""
        if getattr(self.app, "no_color", False):
            return NO_COLOR_STYLES.get(component, Style())
        return self.get_component_rich_style(component)

    def _cursor_shown(self) -> int:
        if not self.has_focus:
            return -2
        return self.cursor_row if self.cursor_row >= 0 else self.row_count - 1

    def _row_strips(self, row: int, width: int) -> list[Strip]:
        key = (row, width, self.wrap, self.version, row == self._cursor_shown())
        cached = self._parts.get(key)
        if cached is not None:
            return cached
        text = self._row_text(row)
        console = self.app.console
        base = self.rich_style
        if self.wrap:
            lines = text.wrap(console, max(1, width)) or [Text("")]
            strips = [
                Strip(line.render(console)).apply_style(base).extend_cell_length(width, base)
                for line in lines
            ]
        else:
            segments = list(text.render(console))
            strip = Strip(segments).apply_style(base)
            if strip.cell_length > self._max_width:
                self._max_width = strip.cell_length
                self.call_later(self._update_virtual_size)
            strips = [strip]
        self._parts[key] = strips
        if len(self._parts) > 2_000:
            self._parts.popitem(last=False)
        return strips

    def _compute_layout(self) -> list[tuple[int, int]]:
        width = self.scrollable_content_region.width
        height = self.scrollable_content_region.height
        top = int(self.scroll_offset.y)
        key = (top, width, height, self.wrap, self.version, self._cursor_shown())
        if key == self._layout_key:
            return self._layout
        out: list[tuple[int, int]] = []
        rows = self.row_count
        row = top
        while len(out) < height and row < rows:
            parts = len(self._row_strips(row, width)) if self.wrap else 1
            out.extend((row, part) for part in range(parts))
            row += 1
        self._layout, self._layout_key = out[:height], key
        return self._layout

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        layout = self._compute_layout()
        base = self.rich_style
        if y >= len(layout):
            if y == 0 and self.row_count == 0:
                if self.source.count == 0:
                    empty = "(empty)"
                else:
                    empty = "no line matches the filters (x clears them)" if self.filtered else ""
                text = Text(empty[:width].ljust(width), style=Style(dim=True))
                return Strip(text.render(self.app.console), width).apply_style(base)
            return Strip([Segment(" " * width, base)], width)
        row, part = layout[y]
        strips = self._row_strips(row, width)
        strip = strips[min(part, len(strips) - 1)]
        if self.wrap:
            return strip
        x = int(self.scroll_offset.x)
        return strip.crop(x, x + width).extend_cell_length(width, base)

    def on_focus(self) -> None:
        self._layout_key = None
        self.refresh()

    def on_blur(self) -> None:
        self._layout_key = None
        self.refresh()

    # --- moving -------------------------------------------------------------------------------

    def _rows_fitting_before(self, row: int) -> int:
        """The top row that shows ``row`` on the last screen line (wrap mode counts parts)."""
        height = max(1, self.scrollable_content_region.height)
        if not self.wrap:
            return max(0, row - height + 1)
        width = self.scrollable_content_region.width
        used, top = 0, row
        while top >= 0:
            used += len(self._row_strips(top, width))
            if used > height:
                return min(row, top + 1)
            top -= 1
        return 0

    def _scroll_to_row(self, row: int) -> None:
        if row < 0:
            self.scroll_to(y=0, animate=False, immediate=True)
            return
        top = int(self.scroll_offset.y)
        height = max(1, self.scrollable_content_region.height)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif not self.wrap and row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)
        elif self.wrap:
            lowest = self._rows_fitting_before(row)
            if top < lowest:
                self.scroll_to(y=lowest, animate=False, immediate=True)

    def move_to_row(self, row: int) -> None:
        rows = self.row_count
        if rows == 0:
            return
        row = max(0, min(row, rows - 1))
        self.cursor_row = row
        self.follow = row == rows - 1 and self.follow
        self._scroll_to_row(row)
        self._layout_key = None
        self._update_subtitle()
        self.refresh()

    def move_to_line(self, line: int) -> bool:
        row = self.row_of_line(line)
        if row is None:
            return False
        self.follow = False
        self.move_to_row(row)
        return True

    def _start_row(self) -> int:
        rows = self.row_count
        return self.cursor_row if 0 <= self.cursor_row < rows else rows - 1

    def action_cursor(self, step: int) -> None:
        self.follow = False
        self.move_to_row(self._start_row() + step)

    def action_page(self, step: int) -> None:
        self.follow = False
        height = max(1, self.scrollable_content_region.height - 1)
        self.move_to_row(self._start_row() + step * height)

    def action_home(self) -> None:
        self.follow = False
        self.move_to_row(0)

    def action_follow(self) -> None:
        """Back to the newest line, and stay there as lines arrive."""
        self.follow = True
        self.unseen = 0
        self._changed()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.follow = False  # (the scroll itself is the base class's)

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor on the line under the mouse."""
        offset = event.get_content_offset(self)
        layout = self._compute_layout()
        if offset is not None and 0 <= offset.y < len(layout):
            self.follow = False
            self.move_to_row(layout[offset.y][0])

    # --- keys ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # n goes on to the app (next instrument) when nothing is searched
        return not (action == "next_match" and self._search is None)

    def action_search(self) -> None:
        from avin_tui.screens.log_viewer import PromptScreen

        def done(answer: tuple[str, bool] | None) -> None:
            if answer is not None and self.set_search(Query(*answer)) and answer[0]:
                self._jump_to_first = not self._goto_match(1, from_current=True)

        self.app.push_screen(
            PromptScreen("Search", self.search_query.text, self.search_query.regex or False), done
        )

    def action_filter_text(self) -> None:
        from avin_tui.screens.log_viewer import PromptScreen

        def done(answer: tuple[str, bool] | None) -> None:
            if answer is not None:
                try:
                    Query(*answer).compile()
                except QueryError as exc:
                    self.app.notify(str(exc), title="filter", severity="warning")
                    return
                self.set_filters(text=Query(*answer))

        self.app.push_screen(
            PromptScreen("Show only lines with", self.text_filter.text, self.text_filter.regex),
            done,
        )

    def action_filter_source(self) -> None:
        from avin_tui.screens.log_viewer import PromptScreen

        def done(answer: tuple[str, bool] | None) -> None:
            if answer is not None:
                self.set_filters(source=answer[0])

        seen = self.sources_on_screen()
        hint = ", ".join(seen[:4]) if seen else "engine, orders, strategy"
        self.app.push_screen(PromptScreen(f"Source (e.g. {hint})", self.source_filter, None), done)

    def sources_on_screen(self) -> list[str]:
        """The sources of the lines on screen, most frequent first (a hint for ``S``)."""
        counts: dict[str, int] = {}
        for row, _ in self._compute_layout():
            head = self._head(self.line_of_row(row))[1]
            if head.level is not None and head.source:
                name = head.source.removeprefix("avin.")
                counts[name] = counts.get(name, 0) + 1
        return sorted(counts, key=lambda name: -counts[name])

    def action_clear(self) -> None:
        """Drop the search and the source and text filters (the level stays: ``v`` sets it)."""
        self.set_search(Query(""))
        self.set_filters(source="", text=Query(""))

    def action_cycle_level(self) -> None:
        self.level = LEVELS[(LEVELS.index(self.level) + 1) % len(LEVELS)]
        self._apply_filter()

    def action_wrap(self) -> None:
        self.wrap = not self.wrap
        self._changed(scroll_to_cursor=True)
        self.state_changed()

    def action_next_match(self, step: int) -> None:
        self._goto_match(step)

    def _goto_match(self, step: int, from_current: bool = False) -> bool:
        scan = self._search
        if scan is None:
            return False
        current = self.current_line
        if current is None:
            self.note = "nothing to search"
            self._update_subtitle()
            return False
        with scan.lock:
            found = len(scan.found)
        if found == 0:
            self.note = "searching…" if self.searching else "no match"
            self._update_subtitle()
            return False
        if step > 0:
            k = scan.index_of(current if from_current else current + 1)
        else:
            k = scan.index_of(current) - 1
        for hop in range(min(found, MAX_HOPS)):
            i = (k + hop * step) % found
            if self.move_to_line(scan.get(i)):
                wrapped = not from_current and ((step > 0 and i < k) or (step < 0 and i > k))
                self.note = "search wrapped" if wrapped else ""
                self._update_subtitle()
                return True
        filtering = self._filter is not None and not self._filter.done
        self.note = "filtering…" if filtering else "the matches are filtered out"
        self._update_subtitle()
        return False

    def action_next_alert(self, step: int) -> None:
        current = self.current_line
        if current is None:
            return
        if isinstance(self.source, FileSource) and self.source.count > SCAN_SYNC_LINES:
            self.note = "looking for warnings…"
            self._update_subtitle()
            self.workers.cancel_group(self, "seek")
            self.in_thread(lambda stop: self._seek_alert(current, step, stop), "seek")
        else:
            self._seek_alert(current, step, None)

    def _seek_alert(self, current: int, step: int, stop: Callable[[], bool] | None) -> None:
        found: int | None = None
        threaded = stop is not None
        blocks = self.source.blocks(current + 1) if step > 0 else self.source.blocks_before(current)
        for start, count, text in blocks:
            if stop is not None and stop():
                return
            hits = [n for n in lines_matching_text(text, ALERT, start) if n < start + count]
            if step < 0:
                hits.reverse()
            found = next((n for n in hits if self.row_of_line(n) is not None), None)
            if found is not None:
                break
        if threaded:
            with contextlib.suppress(RuntimeError):  # the app is closing
                self.app.call_from_thread(self._seek_done, found, step)
        else:
            self._seek_done(found, step)

    def _seek_done(self, line: int | None, step: int) -> None:
        if line is not None and self.move_to_line(line):
            self.note = ""
        else:
            self.note = f"no {'later' if step > 0 else 'earlier'} warning or error"
        self._update_subtitle()

    def action_details(self) -> None:
        from avin_tui.screens.log_viewer import EntryScreen

        line = self.current_line
        if line is None:
            return
        file = self.source.name if isinstance(self.source, FileSource) else None
        self.app.push_screen(EntryScreen(self.entry(line), file))

    def entry(self, line: int) -> Entry:
        return self.source.entry(line)

    def logs_dir(self) -> Path:
        if isinstance(self.source, FileSource):
            return self.source.path.parent
        book = getattr(getattr(self.app, "engine", None), "logbook", None)
        path = getattr(book, "log_path", None)
        if isinstance(path, Path):
            return path.parent
        from engine.paths import homes

        return homes().logs

    def action_incidents(self) -> None:
        self.open_file(self.logs_dir() / "incidents.log")

    def action_runs(self) -> None:
        from avin_tui.logview.files import log_files
        from avin_tui.screens.log_viewer import PickerScreen

        files = log_files(self.logs_dir())
        if not files:
            self.app.notify(f"no log files in {self.logs_dir()}", severity="warning")
            return

        def done(path: Path | None) -> None:
            if path is not None:
                self.open_file(path)

        self.app.push_screen(PickerScreen(files), done)

    def open_file(self, path: Path) -> None:
        """Show ``path`` in the full-screen viewer (this one, when it is the viewer)."""
        from avin_tui.screens.log_viewer import LogViewerScreen

        if not path.is_file():
            self.app.notify(f"{path} does not exist (yet)", title="log", severity="warning")
            return
        screen = self.screen
        if isinstance(screen, LogViewerScreen):
            screen.open(path)
        else:
            self.app.push_screen(LogViewerScreen(path, state=self.get_state()))

    # --- status -------------------------------------------------------------------------------

    def status(self) -> str:
        parts = [f"≥{SHORT_LEVEL.get(self.level, self.level)}"]
        if self.source_filter:
            parts.append(f"src:{self.source_filter}")
        if self.text_filter:
            parts.append(f"only:{self.text_filter.text}")
        if self._filter is not None and not self._filter.done:
            parts.append("filtering…")
        if self.search_query:
            mark = "re" if self.search_query.regex else ""
            count = f"{self.match_count}{'…' if self.searching else ''}"
            parts.append(f"/{self.search_query.text}/{mark} {count}")
        if self.wrap:
            parts.append("wrap")
        if self.unseen:
            parts.append(f"+{self.unseen} new (end)")
        if self.note:
            parts.append(self.note)
        return " ".join(parts)

    def _update_subtitle(self) -> None:
        set_border_text(self, subtitle=self.status())

    def state_changed(self) -> None:
        """The user changed what is shown: the app may save the workspace."""
        changed = getattr(self.app, "layout_changed", None) if self.is_mounted else None
        if changed is not None:
            with contextlib.suppress(Exception):
                changed()


__all__ = ["LEVEL_RANK", "LogView", "MemorySource", "compact"]
