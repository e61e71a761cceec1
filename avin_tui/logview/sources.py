"""What a log view shows: a file (through its line index) or the live run's records in memory.

Both number their lines absolutely: a memory source that dropped its oldest lines keeps the
numbers of the others (``first`` is the oldest kept). Both hand out whole lines in text blocks for
search and filters, and the whole entry a line belongs to.
"""

from __future__ import annotations

import contextlib
import os
import threading
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from avin_tui.logview.index import BLOCK, LineIndex
from avin_tui.logview.parse import Entry, entry_at, parse_line
from avin_tui.logview.search import LogFilter, Query, lines_matching_text, split_lines

Block = tuple[int, int, str]  # (first line, line count, the lines joined by line breaks)


class LineSource(Protocol):
    name: str

    @property
    def first(self) -> int: ...
    @property
    def count(self) -> int: ...
    def lines(self, first: int, stop: int) -> list[str]: ...
    def blocks(self, first: int) -> Iterator[Block]: ...
    def blocks_before(self, stop: int) -> Iterator[Block]: ...
    def entry(self, i: int) -> Entry: ...


class FileSource:
    """A log file of any size: lines read from disk as they are asked for."""

    def __init__(self, path: Path | str) -> None:
        self.index = LineIndex(path)
        self.path = self.index.path
        self.name = self.path.name
        self.scanning = False  # a worker indexes the file
        st = os.fstat(self.index.fileno())
        self.identity = (st.st_dev, st.st_ino)

    first = 0

    def index_all(self, stop: Callable[[], bool] | None = None) -> None:
        """Index the whole file (in a worker thread; the view shows lines as they are found),
        asking ``stop()`` between blocks (the app is closing)."""
        self.scanning = True
        try:
            while not self.index.scan(BLOCK):
                if stop is not None and stop():
                    return
        except ValueError:  # closed while indexing: the view went away
            pass
        finally:
            self.scanning = False

    @property
    def tail_open(self) -> bool:
        return self.index.tail_open

    def replaced(self) -> bool:
        """Whether ``path`` now names another file (rotated: ``avin.log`` became ``avin.log.1``
        and a new ``avin.log`` was started); a path that is gone for now is not a new file."""
        try:
            now = os.stat(self.path)
        except OSError:
            return False
        return (now.st_dev, now.st_ino) != self.identity

    def refresh(self) -> None:
        """Index what was appended since (a little at a time: this runs on the UI thread)."""
        if not self.scanning:
            with contextlib.suppress(ValueError, OSError):  # closed, or the file went away
                self.index.scan(1 << 20)

    @property
    def count(self) -> int:
        return self.index.line_count

    def lines(self, first: int, stop: int) -> list[str]:
        return self.index.lines(first, stop)

    def blocks(self, first: int) -> Iterator[Block]:
        for start, n, raw in self.index.blocks(first):
            yield start, n, raw.decode("utf-8", "replace")

    def blocks_before(self, stop: int) -> Iterator[Block]:
        for start, n, raw in self.index.blocks_before(stop):
            yield start, n, raw.decode("utf-8", "replace")

    def entry(self, i: int) -> Entry:
        return entry_at(self.index.line, self.count, i)

    def close(self) -> None:
        self.index.close()


class MemorySource:
    """The newest ``capacity`` lines of the running robot (one line per record, its traceback
    kept aside for the details), after the end of the previous run read from the file."""

    name = "live"
    tail_open = False  # every line comes whole

    def __init__(self, capacity: int = 50_000) -> None:
        self._lines: deque[str] = deque(maxlen=capacity)
        self._details: dict[int, str] = {}
        self._total = 0
        self.capacity = capacity

    @property
    def first(self) -> int:
        return self._total - len(self._lines)

    @property
    def count(self) -> int:
        return self._total

    def append(self, lines: Iterable[tuple[str, str]]) -> int:
        """Add ``(line, detail)`` pairs; returns how many were added."""
        n = 0
        for line, detail in lines:
            self._lines.append(
                " ".join(line.splitlines()) if "\n" in line or "\r" in line else line
            )
            if detail:
                self._details[self._total] = detail
            self._total += 1
            n += 1
        if self._details and min(self._details) < self.first:
            first = self.first
            self._details = {k: v for k, v in self._details.items() if k >= first}
        return n

    def line(self, i: int) -> str:
        return self._lines[i - self.first]

    def lines(self, first: int, stop: int) -> list[str]:
        base = self.first
        first, stop = max(first, base), min(stop, self._total)
        return [self._lines[i - base] for i in range(first, stop)]

    def blocks(self, first: int) -> Iterator[Block]:
        first = max(first, self.first)
        stop = self._total
        for start in range(first, stop, 20_000):
            chunk = self.lines(start, min(stop, start + 20_000))
            yield start, len(chunk), "\n".join(chunk)

    def blocks_before(self, stop: int) -> Iterator[Block]:
        stop = min(stop, self._total)
        while stop > self.first:
            start = max(self.first, stop - 20_000)
            yield start, stop - start, "\n".join(self.lines(start, stop))
            stop = start

    def entry(self, i: int) -> Entry:
        detail = self._details.get(i)
        if detail is None:
            return (
                entry_at(self.line, self._total, i) if i >= self.first else Entry(i, parse_line(""))
            )
        return Entry(i, parse_line(self.line(i)), tuple(detail.splitlines()))


class Scan:
    """Line numbers a search or filter found, filled block by block (from a worker thread).

    ``next`` is the first line not looked at yet: calling :meth:`run` again (the source grew)
    goes on from there. The UI reads ``found`` under ``lock``.
    """

    def __init__(self, source: LineSource, test: Callable[[str, int, int], Sequence[int]]) -> None:
        self.source = source
        self.test = test
        self.found = array("q")
        self.next = source.first
        self.lock = threading.Lock()
        self.cancel = threading.Event()
        self.running = False

    @classmethod
    def search(cls, source: LineSource, query: Query) -> Scan:
        pattern = query.finder()  # a bad regex fails here, in the UI, with its message

        def test(text: str, start: int, count: int) -> list[int]:
            return [n for n in lines_matching_text(text, pattern, start) if n < start + count]

        return cls(source, test)

    @classmethod
    def filter(cls, source: LineSource, flt: LogFilter) -> Scan:
        run = flt.matcher()

        def test(text: str, start: int, count: int) -> list[int]:
            return run(split_lines(text)[:count], start)

        return cls(source, test)

    @property
    def done(self) -> bool:
        open_tail = 1 if getattr(self.source, "tail_open", False) else 0
        return not self.running and self.next >= self.source.count - open_tail

    def run(self, stop: Callable[[], bool] | None = None) -> None:
        """Look at the lines from ``next`` to the end (as it is now); ``running`` meanwhile.
        Ends early when ``cancel`` is set or ``stop()`` says so (asked between blocks)."""
        self.running = True
        try:
            for start, count, text in self.source.blocks(self.next):
                if self.cancel.is_set() or (stop is not None and stop()):
                    return
                found = self.test(text, start, count)
                end = start + count
                if end >= self.source.count and getattr(self.source, "tail_open", False):
                    end -= 1  # a line still being written: looked at again when it grew
                with self.lock:
                    if found and self.found and found[0] <= self.found[-1]:
                        found = [n for n in found if n > self.found[-1]]  # (seen before)
                    if found:
                        self.found.extend(found)
                    self.next = end
        finally:
            self.running = False

    def __len__(self) -> int:
        return len(self.found)

    def prune(self, first: int) -> None:
        """Forget found lines before ``first`` (a memory source dropped them)."""
        with self.lock:
            k = bisect_left(self.found, first)
            if k > 1_000:
                del self.found[:k]

    def index_of(self, line: int) -> int:
        """The position of the first found line at or after ``line``."""
        with self.lock:
            return bisect_left(self.found, line)

    def get(self, i: int) -> int:
        with self.lock:
            return self.found[i]

    def contains(self, line: int) -> bool:
        with self.lock:
            i = bisect_left(self.found, line)
            return i < len(self.found) and self.found[i] == line
