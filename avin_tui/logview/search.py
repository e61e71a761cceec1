"""Search and filters over a line index, block by block, yielding line numbers as they are found.

A :class:`Query` is plain text or a regular expression; it ignores case unless it has a capital
letter ("smart case"). Scans run in a worker thread and stop when ``cancel`` is set; the UI shows
each batch as it arrives.
"""

from __future__ import annotations

import re
import threading
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from avin_tui.logview.index import LineIndex
from avin_tui.logview.parse import LEVEL_RANK, parse_line

_BREAK = re.compile(r"\r\n|\r|\n")
# the level and source of a header line (parse.HEADER without the parts a filter does not need)
_HEAD = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?Z?\s+"
    r"(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\s+(\S+?):(?:\s|$)"
)
_RANK = LEVEL_RANK


class QueryError(ValueError):
    """A search or filter the user typed cannot be used (the message says why)."""


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    regex: bool = False

    def compile(self) -> re.Pattern[str]:
        flags = re.MULTILINE | (0 if any(c.isupper() for c in self.text) else re.IGNORECASE)
        if not self.regex:
            return re.compile(re.escape(self.text), flags)
        try:
            return re.compile(self.text, flags)
        except re.error as exc:
            raise QueryError(f"not a valid regular expression: {exc}") from None

    def __bool__(self) -> bool:
        return bool(self.text)

    def finder(self) -> re.Pattern[str] | Literal:
        """What :func:`lines_matching_text` scans with: plain text is found with ``str.find``
        (several times faster than a case-insensitive regular expression)."""
        pattern = self.compile()
        if self.regex:
            return pattern
        fold = bool(pattern.flags & re.IGNORECASE)
        return Literal(self.text.lower() if fold else self.text, fold, pattern)


@dataclass(frozen=True, slots=True)
class Literal:
    needle: str
    fold: bool  # compare lower-cased
    pattern: re.Pattern[str]  # the same as a regular expression (the fallback)


def _breaks(text: str, start: int, stop: int) -> int:
    n = text.count("\n", start, stop) + text.count("\r", start, stop)
    n -= text.count("\r\n", start, stop)
    if 0 < stop < len(text) and text[stop - 1] == "\r" and text[stop] == "\n":
        n -= 1  # stop between the two halves of one "\r\n"
    return n


def _find_function(text: str, pattern: re.Pattern[str] | Literal) -> Callable[[int], int]:
    """``find(pos)``: where the next match starts, -1 when there is none."""
    if isinstance(pattern, Literal):
        hay = text.lower() if pattern.fold else text
        if len(hay) == len(text):  # (lower-casing may change the length of rare letters)
            needle = pattern.needle
            return lambda pos: hay.find(needle, pos)
        pattern = pattern.pattern
    search = pattern.search

    def find(pos: int) -> int:
        m = search(text, pos)
        return -1 if m is None else m.start()

    return find


def lines_matching_text(text: str, pattern: re.Pattern[str] | Literal, first: int = 0) -> list[int]:
    """Numbers of the lines of ``text`` (line 0 is ``first``) where ``pattern`` matches."""
    find = _find_function(text, pattern)
    out: list[int] = []
    pos = counted = 0
    line = first
    if "\r" not in text:  # lines end with "\n" only: cheaper counting
        while (p := find(pos)) >= 0:
            line += text.count("\n", counted, p)
            out.append(line)
            end = text.find("\n", p)
            if end < 0:
                return out
            pos = counted = end + 1
            line += 1
        return out
    while True:
        p = find(pos)
        if p < 0:
            return out
        line += _breaks(text, counted, p)
        out.append(line)
        brk = _BREAK.search(text, p)
        if brk is None:
            return out
        pos = counted = brk.end()
        line += 1


def split_lines(text: str) -> list[str]:
    """``text`` cut at ``\\n``, ``\\r\\n`` and ``\\r`` (as ``bytes.splitlines`` cuts)."""
    return _BREAK.split(text) if "\r" in text else text.split("\n")


def _decoded_blocks(
    index: LineIndex, first: int, cancel: threading.Event | None
) -> Iterator[tuple[int, int, str]]:
    for start, count, raw in index.blocks(first):
        if cancel is not None and cancel.is_set():
            return
        yield start, count, raw.decode("utf-8", "replace")


def search_file(
    index: LineIndex, query: Query, first: int = 0, cancel: threading.Event | None = None
) -> Iterator[array[int]]:
    """Batches of the numbers of the lines that match, in order, from line ``first`` on."""
    pattern = query.finder()
    for start, count, text in _decoded_blocks(index, first, cancel):
        found = [n for n in lines_matching_text(text, pattern, start) if n < start + count]
        if found:
            yield array("q", found)


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Show only lines at or above ``level``, from a source containing ``source``, with ``text``.

    A line that continues an entry (a traceback) has the level and source of the entry.
    """

    level: str = "DEBUG"
    source: str = ""
    text: Query = Query("")

    @property
    def active(self) -> bool:
        return LEVEL_RANK.get(self.level, 0) > LEVEL_RANK["DEBUG"] or bool(self.source or self.text)

    def matcher(self, per_line: bool = False) -> Callable[[Sequence[str], int], list[int]]:
        """A function ``(lines, first number) -> numbers that pass``, carrying the entry state
        from one call to the next (a traceback at the top of a block is the entry's above).
        A level alone is checked a block at a time; ``per_line`` forces the line loop (tests)."""
        min_rank = LEVEL_RANK.get(self.level.upper(), 0)
        source = self.source.lower()
        pattern = self.text.compile() if self.text else None
        last_rank, last_source = LEVEL_RANK["INFO"], ""  # of the entry the next line continues

        def by_level(lines: Sequence[str], first: int) -> list[int]:
            """The level alone: the ranks of a block at once (numpy), each line looked at once."""
            nonlocal last_rank
            if not lines:
                return []
            tidy = _TIDY.get
            ranks = np.array(
                [tidy(line[23:33], -1) if line[10:11] == "T" else -1 for line in lines],
                dtype=np.int16,
            )
            for i in np.flatnonzero(ranks < 0).tolist():  # not in avin.log's own layout
                head = classify(lines[i])
                ranks[i] = -1 if head is None else head[0]
            # a continuation line (-1) takes the rank of the header above it
            where = np.where(ranks >= 0, np.arange(len(ranks)), -1)
            np.maximum.accumulate(where, out=where)
            filled = np.where(where >= 0, ranks[np.maximum(where, 0)], last_rank)
            last_rank = int(filled[-1])
            return (np.flatnonzero(filled >= min_rank) + first).tolist()

        def by_line(lines: Sequence[str], first: int) -> list[int]:
            nonlocal last_rank, last_source
            out: list[int] = []
            rank, src = last_rank, last_source
            for n, line in enumerate(lines, first):
                head = classify(line)
                if head is not None:
                    rank, src = head
                if rank < min_rank:
                    continue
                if source and source not in src.lower():
                    continue
                if pattern is not None and pattern.search(line) is None:
                    continue
                out.append(n)
            last_rank, last_source = rank, src
            return out

        return by_line if per_line or source or pattern is not None else by_level


# avin.log's own layout ("2026-12-04T14:33:54.123Z LEVEL   source: ..."): the level at a fixed
# place, found without a regular expression (filters look at every line of a file)
_TIDY = {f"Z {name:<7} "[:10]: rank for name, rank in LEVEL_RANK.items() if name != "WARN"}


def classify(line: str) -> tuple[int, str] | None:
    """``(level rank, source)`` of a line that starts an entry; None for one that continues."""
    if line[10:11] == "T":
        rank = _TIDY.get(line[23:33])
        if rank is not None:
            return rank, line[33:].lstrip(" ").split(": ", 1)[0]
    m = _HEAD.match(line)
    if m is not None:
        return _RANK.get(m[1], 0), m[2]
    if line[:1] == "{":
        parsed = parse_line(line)
        if parsed.level is not None:
            return parsed.rank, parsed.source
    return None


def filter_file(
    index: LineIndex, flt: LogFilter, first: int = 0, cancel: threading.Event | None = None
) -> Iterator[array[int]]:
    """Batches of the numbers of the lines the filter lets through, in order."""
    run = flt.matcher()
    for start, count, text in _decoded_blocks(index, first, cancel):
        lines = split_lines(text)[:count]
        found = run(lines, start)
        if found:
            yield array("q", found)
