"""A log view: any number of lines, only those on screen rendered, with search and filters.

One widget for the Log pane (the live run, ``LogPane``) and the full-screen viewer (a file of any
size, ``LogViewerScreen``), with the same keys:

``/`` search (plain, or a regular expression with ctrl+r in the prompt; highlighted), ``n``/``N``
next/previous match, ``v`` minimum level, ``S`` source filter, ``f`` text filter (only matching
lines), ``x`` clears search and those two filters, ``enter`` the entry in full, ``w`` wrap, ``e``/``E``
next/previous warning or error, ``i`` incidents.log, ``r`` older runs' logs, ``end`` follows the
tail. Search and filters over a file run in a worker thread, block by block, and the view shows
what they found so far (``avin_tui.logview``). Drawing: ``log_paint``; the keys' work: ``log_keys``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.binding import BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from avin_tui.logview.parse import LEVELS, Entry
from avin_tui.logview.search import LogFilter, Query, QueryError
from avin_tui.logview.sources import FileSource, LineSource, MemorySource, Scan
from avin_tui.widgets import log_keys
from avin_tui.widgets._format import set_border_text
from avin_tui.widgets._scroll import QuietResize
from avin_tui.widgets.log_paint import COMPONENTS, LOG_VIEW_CSS, LogPainter


class LogView(QuietResize, ScrollView, can_focus=True):
    """The lines of a :class:`LineSource`, filtered, searched, drawn a screen at a time."""

    DEFAULT_CSS = LOG_VIEW_CSS
    COMPONENT_CLASSES: ClassVar[set[str]] = set(COMPONENTS)
    BINDINGS: ClassVar[list[BindingType]] = list(log_keys.BINDINGS)

    class OpenFile(Message):
        """``i`` / ``r``: show this log file full screen (the viewer, or whoever hosts the view)."""

        def __init__(self, path: Path, state: dict[str, Any]) -> None:
            super().__init__()
            self.path = path
            self.state = state  # the view's filters and search, to carry over

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
        self.search_pattern: re.Pattern[str] | None = None
        self._filter: Scan | None = None
        self._search: Scan | None = None
        self._rows_known = 0
        self.jump_to_first = False  # go to the first match as soon as the search finds one
        self._generation = 0  # of the file's index: it changes when the file was truncated
        self.version = 0  # bumped on anything that changes what is drawn
        self.painter = LogPainter(self)

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
        return [self.painter.head(self.line_of_row(r))[0] for r in range(first, stop)]

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
        self._search, self.search_pattern = None, None
        self.search_query = Query("")
        if query:
            try:
                scan = Scan.search(self.source, query)
            except QueryError as exc:
                self.note = str(exc)
                self._changed()
                return False
            self.search_query, self._search = query, scan
            self.search_pattern = query.compile()
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

    @property
    def search_scan(self) -> Scan | None:
        return self._search

    @property
    def filtering(self) -> bool:
        """A filter is still looking through the source."""
        return self._filter is not None and not self._filter.done

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
                self.painter.forget_lines()
                self._apply_filter()
                self.set_search(self.search_query)
        for scan in (self._filter, self._search):
            if scan is not None and not scan.running and scan.next < self.source.count:
                self._run_scan(scan)
        if self.jump_to_first and self.match_count:  # a search over a file found its first
            self.jump_to_first = not log_keys.goto_match(self, 1, from_current=True)
        elif self.jump_to_first and self._search is not None and self._search.done:
            self.jump_to_first = False
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
        self.painter.invalidate()
        self.update_virtual_size()
        if self.follow:
            self.cursor_row = -1
            self.unseen = 0
            self._scroll_to_row(rows - 1)
        elif scroll_to_cursor and self.cursor_row >= 0:
            self._scroll_to_row(self.cursor_row)
        self._update_subtitle()
        self.refresh()

    def update_virtual_size(self) -> None:
        rows = self.row_count
        height = self.scrollable_content_region.height or 1
        width = self.scrollable_content_region.width or 1
        if self.wrap:
            size = Size(width, rows + height - 1 if rows else 0)
        else:
            size = Size(max(width, self.painter.max_width), rows)
        if size != self.virtual_size:
            with self.quiet_resize():
                self.virtual_size = size

    def on_resize(self, event: events.Resize) -> None:
        self._changed(scroll_to_cursor=True)

    # --- drawing (log_paint) -----------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        return self.painter.render_line(y)

    def on_focus(self) -> None:
        self.painter.invalidate(rows=False)
        self.refresh()

    def on_blur(self) -> None:
        self.painter.invalidate(rows=False)
        self.refresh()

    # --- moving -------------------------------------------------------------------------------

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
            lowest = self.painter.rows_fitting_before(row)
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
        self.painter.invalidate(rows=False)
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
        layout = self.painter.layout()
        if offset is not None and 0 <= offset.y < len(layout):
            self.follow = False
            self.move_to_row(layout[offset.y][0])

    # --- keys ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # n goes on to the app (next instrument) when nothing is searched
        return not (action == "next_match" and self._search is None)

    def action_search(self) -> None:
        log_keys.ask_search(self)

    def action_filter_text(self) -> None:
        log_keys.ask_text_filter(self)

    def action_filter_source(self) -> None:
        log_keys.ask_source_filter(self)

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
        log_keys.goto_match(self, step)

    def action_next_alert(self, step: int) -> None:
        log_keys.next_alert(self, step)

    def action_details(self) -> None:
        log_keys.show_details(self)

    def entry(self, line: int) -> Entry:
        return self.source.entry(line)

    def logs_dir(self) -> Path:
        return log_keys.logs_dir(self)

    def action_incidents(self) -> None:
        log_keys.open_file(self, self.logs_dir() / "incidents.log")

    def action_runs(self) -> None:
        log_keys.pick_run(self)

    # --- status -------------------------------------------------------------------------------

    def status(self) -> str:
        return self.painter.status()

    def say(self, note: str) -> None:
        """A short message in the subtitle ("no match", "search wrapped"; empty: none)."""
        self.note = note
        self._update_subtitle()

    def _update_subtitle(self) -> None:
        set_border_text(self, subtitle=self.status())

    def state_changed(self) -> None:
        """The user changed what is shown: the app may save the workspace."""
        changed = getattr(self.app, "layout_changed", None) if self.is_mounted else None
        if changed is not None:
            with contextlib.suppress(Exception):
                changed()
