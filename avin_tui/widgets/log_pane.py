"""Log pane: a live tail of the engine's log book, with the keys of the log viewer.

Entries arrive in batches (one :meth:`LogPane.add_entries` per poll, never a frame per line) and
are kept in a bounded ring (``MemorySource``); only the lines on screen are drawn. At start the
pane shows the end of the previous run (read from ``avin.log``), then a separator. Lines read
``14:33:54Z INFO  engine: message``: the UTC time of the file's ``2026-12-04T14:33:54.123Z``.
The view follows the tail unless the user moved up (then a "+N new" badge counts what arrived);
``end`` resumes. Keys: see ``avin_tui.widgets.log_view``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from avin_tui.logview.files import previous_run
from avin_tui.logview.sources import MemorySource
from avin_tui.widgets.log_view import LogView
from engine.runtime.logbook import utc_stamp

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class LogEntryLike(Protocol):
    seq: int
    ts: datetime
    level: str
    source: str
    message: str


def format_entry(entry: LogEntryLike) -> str:
    """The entry as ``avin.log`` has it (``engine.runtime.logbook.LOG_FORMAT``), on one line."""
    level = str(entry.level).upper()
    name = entry.source if entry.source.startswith("avin") else f"avin.{entry.source}"
    text = " ".join(str(entry.message).splitlines())
    return f"{utc_stamp(entry.ts)} {level:<7} {name}: {text}"


class LogPane(LogView):
    DEFAULT_CSS = """
    LogPane {
        scrollbar-size: 1 1;
        overflow-x: hidden;  /* a long line: w wraps, enter shows it whole */
    }
    """

    def __init__(
        self,
        *,
        capacity: int = 50_000,
        previous_lines: int = 200,
        id: str | None = None,
        classes: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(MemorySource(capacity), compact=True, id=id, classes=classes, **kw)
        self.memory: MemorySource = self.source  # type: ignore[assignment]
        self.level = "INFO"
        self._apply_filter()
        self.previous_lines = previous_lines
        self.last_seq = 0  # the newest entry seen (the app asks the log book for what follows)
        self.batches = 0  # writes to the view (tests, benchmarks): one per poll at most

    @property
    def max_lines(self) -> int:
        return self.memory.capacity

    @property
    def line_count(self) -> int:
        return self.row_count

    @property
    def lines(self) -> list[str]:
        return self.rows_text()

    @property
    def min_level(self) -> str:
        return self.level

    def set_min_level(self, level: str) -> None:
        self.set_level(level)

    def on_mount(self) -> None:
        self.border_title = "[u]L[/u]og"
        self.show_previous_run()
        super().on_mount()

    def show_previous_run(self) -> None:
        """The end of the run before this one, as the file has it (once, at start)."""
        book = getattr(getattr(self.app, "engine", None), "logbook", None)
        path = getattr(book, "log_path", None)
        if not isinstance(path, Path) or self.memory.count:
            return
        lines = previous_run(
            path.parent, int(getattr(book, "start_offset", 0)), self.previous_lines
        )
        if lines:
            self._add([(line, "") for line in lines])

    def add_entries(self, entries: Iterable[LogEntryLike]) -> int:
        """Append a batch; returns the number of lines it adds to the view (after filters)."""
        items: list[tuple[str, str]] = []
        for entry in entries:
            self.last_seq = max(self.last_seq, int(entry.seq))
            items.append((format_entry(entry), str(getattr(entry, "detail", "") or "")))
        if not items:
            return 0
        shown = self._add(items)
        if shown:
            self.batches += 1
        return shown

    def _add(self, items: list[tuple[str, str]]) -> int:
        self.memory.append(items)
        shown = len(items)
        for scan in (self._filter, self._search):
            if scan is not None:
                before = len(scan.found)
                scan.run()
                if scan is self._filter:
                    shown = len(scan.found) - before
                scan.prune(self.memory.first)
        self._changed()
        return shown
