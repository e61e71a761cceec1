"""Log pane: a live tail of the engine's log book.

Entries arrive in batches (one ``write_lines`` per poll, never a frame per line), lines are
coloured by level, the view is bounded, and it follows the tail unless the user scrolled up (then a
"+N new" badge counts what arrived). ``v`` cycles the minimum level shown, ``end`` resumes follow.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar, Protocol

from rich.cells import cell_len
from rich.highlighter import Highlighter
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Log

from avin_tui.widgets._format import msk, set_border_text
from avin_tui.widgets._scroll import QuietResize

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LEVEL_RANK = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "WARN": 30, "ERROR": 40, "CRITICAL": 50}
SHORT = {"WARNING": "WARN", "CRITICAL": "CRIT"}
LEVEL_STYLE = {
    "DEBUG": "dim",
    "WARN ": "yellow",
    "ERROR": "bold red",
    "CRIT ": "bold white on red",
}
LEVEL_SLICE = slice(9, 14)  # "HH:MM:SS LEVEL source: message"


class LogEntryLike(Protocol):
    seq: int
    ts: datetime
    level: str
    source: str
    message: str


def format_entry(entry: LogEntryLike) -> str:
    level = str(entry.level).upper()
    level = SHORT.get(level, level)[:5]
    text = " ".join(str(entry.message).splitlines())
    return f"{msk(entry.ts)} {level:<5} {entry.source}: {text}"


class LevelHighlighter(Highlighter):
    """Colours a whole formatted line by its level field."""

    def highlight(self, text: Text) -> None:
        style = LEVEL_STYLE.get(text.plain[LEVEL_SLICE])
        if style:
            text.stylize(style)
        text.stylize("dim", 0, 8)  # the time


class LogPane(QuietResize, Log):
    DEFAULT_CSS = """
    LogPane {
        scrollbar-size: 1 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "cycle_level", "Level"),
        Binding("end", "follow", "Follow", show=False),
        Binding("f", "follow", "Follow", show=False),
    ]

    def __init__(
        self, *, max_lines: int = 5_000, ring: int = 50_000, id: str | None = None, **kw: Any
    ) -> None:
        super().__init__(highlight=True, max_lines=max_lines, auto_scroll=True, id=id, **kw)
        self.highlighter = LevelHighlighter()
        self._ring: deque[tuple[int, str]] = deque(maxlen=ring)  # (level rank, line)
        self.min_rank = LEVEL_RANK["INFO"]
        self.unseen = 0
        self.last_seq = 0  # the newest entry seen (the app asks the log book for what follows)
        self.batches = 0  # writes to the view (tests, benchmarks): one per poll at most

    def on_mount(self) -> None:
        self.border_title = "[u]L[/u]og"
        self._update_subtitle()

    def add_entries(self, entries: Iterable[LogEntryLike]) -> int:
        """Append a batch; returns the number of lines written (after the level filter)."""
        lines: list[str] = []
        for entry in entries:
            self.last_seq = max(self.last_seq, int(entry.seq))
            rank = LEVEL_RANK.get(str(entry.level).upper(), 20)
            line = format_entry(entry)
            self._ring.append((rank, line))
            if rank >= self.min_rank:
                lines.append(line)
        if not lines:
            return 0
        following = self.is_vertical_scroll_end
        with self.quiet_resize():  # a longer log: new scrollbar, not a new screen layout
            self.write_lines(lines)
        self.batches += 1
        if following:
            self.unseen = 0
        else:
            self.unseen += len(lines)
        self._update_subtitle()
        return len(lines)

    def _update_size(self, updates: int, lines: list[str]) -> None:  # type: ignore[override]
        """Measure the new lines here: Textual's Log starts a thread worker per write for this.

        Our batches are bounded (one per poll, ``LOG_BATCH`` at most): measuring them costs less
        than a thread (and its worker objects for the garbage collector) several times a second.
        """
        if lines:
            width = max(cell_len(self._process_line(line)) for line in lines)
            self._update_maximum_width(updates, width)

    def _update_subtitle(self) -> None:
        name = next(k for k, v in LEVEL_RANK.items() if v == self.min_rank)
        badge = f" +{self.unseen} new (end)" if self.unseen else ""
        set_border_text(self, subtitle=f"≥{SHORT.get(name, name)}{badge}")

    @property
    def min_level(self) -> str:
        return next(name for name in LEVELS if LEVEL_RANK[name] == self.min_rank)

    def set_min_level(self, level: str) -> None:
        rank = LEVEL_RANK.get(level.upper(), LEVEL_RANK["INFO"])
        if rank != self.min_rank:
            self.min_rank = rank
            self._refill()

    def action_cycle_level(self) -> None:
        ranks = [LEVEL_RANK[name] for name in LEVELS]
        self.min_rank = ranks[(ranks.index(self.min_rank) + 1) % len(ranks)]
        self._refill()
        layout_changed = getattr(self.app, "layout_changed", None)
        if layout_changed is not None:
            layout_changed()

    def _refill(self) -> None:
        self.clear()
        shown = [line for rank, line in self._ring if rank >= self.min_rank]
        self.write_lines(shown[-(self.max_lines or len(shown)) :])
        self.unseen = 0
        self._update_subtitle()

    def action_follow(self) -> None:
        self.scroll_end(animate=False)
        self.unseen = 0
        self._update_subtitle()
