"""A line index over a (possibly growing) file: one start offset per line, lines read on demand.

Lines are what ``bytes.splitlines`` finds: a line ends at ``\\n``, ``\\r\\n`` or a lone ``\\r``; a
last line without a terminator counts; a terminator at the very end does not start another line.
The scan reads the file in blocks (numpy finds the terminators), so a 5-million-line file is
indexed in about a second while the first lines can already be shown; :meth:`LineIndex.scan` can be
called in steps from a worker thread while the UI reads what is indexed so far.
"""

from __future__ import annotations

import os
import threading
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path

import numpy as np

BLOCK = 8 << 20  # bytes read per scan step
MAX_LINE = 64 << 10  # bytes of one line read for display (a longer one is cut)
_LF, _CR = 10, 13


def _terminator_ends(chunk: bytes, base: int) -> np.ndarray:
    """The file offsets just after each line terminator in ``chunk`` (which starts at ``base``).

    A ``\\r`` followed by ``\\n`` is one terminator, ended by the ``\\n``; a ``\\r`` that is
    the last byte of ``chunk`` is left out (the caller reads it again with the next block).
    """
    data = np.frombuffer(chunk, dtype=np.uint8)
    lf = data == _LF
    if chunk.find(b"\r") >= 0:  # (rare in a log: the usual case is one pass over the block)
        lf[:-1] |= (data[:-1] == _CR) & ~lf[1:]
    ends = np.flatnonzero(lf).astype(np.int64, copy=False)
    ends += base + 1
    return ends


def strip_terminator(raw: bytes) -> bytes:
    if raw.endswith(b"\r\n"):
        return raw[:-2]
    if raw.endswith((b"\n", b"\r")):
        return raw[:-1]
    return raw


class LineIndex:
    """Start offsets of the lines of ``path``; safe to scan in one thread while others read."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDONLY)
        self._starts = array("q")
        self._pos = 0  # bytes scanned (a trailing "\r" is left for the next scan)
        self._size = 0  # the file size the index describes
        self._lock = threading.Lock()
        self._io = threading.RLock()  # held while the descriptor is used: close waits for it
        self._held_cr = False  # the file (so far) ends with "\r", not yet indexed
        self.generation = 0  # bumped when the file was truncated or replaced and re-indexed

    def close(self) -> None:
        with self._io:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def fileno(self) -> int:
        return self._fd

    def _pread(self, n: int, offset: int) -> bytes:
        with self._io:
            if self._fd < 0:
                raise ValueError(f"{self.path} is closed")
            return os.pread(self._fd, n, offset)

    def _file_size(self) -> int:
        with self._io:
            if self._fd < 0:
                raise ValueError(f"{self.path} is closed")
            return os.fstat(self._fd).st_size

    def __enter__(self) -> LineIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- scanning -----------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether the whole file, as it is now, is indexed."""
        size = self._file_size()
        return size == self._size and self._pos >= size - (1 if self._held_cr else 0)

    def scan(self, max_bytes: int | None = None) -> bool:
        """Index up to ``max_bytes`` more of the file (all of it when None); True once at EOF.

        A file that shrank (rotated, truncated) is indexed again from the start.
        """
        size = self._file_size()
        with self._lock:
            if size < self._size:
                self._starts = array("q")
                self._pos = 0
                self.generation += 1
            self._size = size
            if size and not self._starts:
                self._starts.append(0)
        self._held_cr = False
        budget = max_bytes if max_bytes is not None else size
        while budget > 0 and self._pos < size:
            want = min(size - self._pos, max(2, min(BLOCK, budget)))
            chunk = self._pread(want, self._pos)
            if not chunk:
                break
            at_eof = self._pos + len(chunk) >= size
            ends = _terminator_ends(chunk, self._pos)
            used = len(chunk)
            if chunk.endswith(b"\r"):  # "\r\n"? the next block says; at EOF it ends a line
                used -= 1
                self._held_cr = at_eof
            with self._lock:
                self._starts.frombytes(ends.tobytes())
                self._pos += used
            budget -= max(used, 1)
            if self._held_cr:
                break
        return self._pos >= size or self._held_cr

    def scan_all(self) -> int:
        self.scan()
        return self.line_count

    # --- reading ------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._size

    @property
    def line_count(self) -> int:
        with self._lock:
            n = len(self._starts)
            if n and self._starts[-1] >= self._size:
                n -= 1  # a terminator at the end of the file starts no line
            return n

    @property
    def tail_open(self) -> bool:
        """Whether the last line has no terminator yet (a writer may still be adding to it)."""
        with self._lock:
            return bool(self._starts) and self._starts[-1] < self._size and self._size > 0

    def span(self, i: int) -> tuple[int, int]:
        """Byte range of line ``i`` with its terminator."""
        with self._lock:
            start = self._starts[i]
            end = self._starts[i + 1] if i + 1 < len(self._starts) else self._size
        return start, end

    def line_bytes(self, i: int, limit: int = MAX_LINE) -> bytes:
        if not 0 <= i < self.line_count:
            raise IndexError(i)
        start, end = self.span(i)
        return strip_terminator(self._pread(min(end - start, limit), start))

    def line(self, i: int) -> str:
        return self.line_bytes(i).decode("utf-8", "replace")

    def lines(self, first: int, stop: int) -> list[str]:
        """Lines ``first`` .. ``stop - 1`` read at once (for the screen)."""
        stop = min(stop, self.line_count)
        if first >= stop:
            return []
        start, _ = self.span(first)
        _, end = self.span(stop - 1)
        if end - start > MAX_LINE * (stop - first):
            return [self.line(i) for i in range(first, stop)]
        raw = self._pread(end - start, start)
        out = raw.splitlines()
        return [b.decode("utf-8", "replace") for b in out[: stop - first]]

    def line_at_offset(self, offset: int) -> int:
        with self._lock:
            return max(0, bisect_right(self._starts, offset) - 1)

    def blocks(self, first: int = 0, block: int = 4 << 20) -> Iterator[tuple[int, int, bytes]]:
        """``(first line, line count, bytes)`` for runs of whole lines of about ``block`` bytes."""
        i = first
        while True:
            count = self.line_count
            if i >= count:
                return
            start, _ = self.span(i)
            with self._lock:
                j = bisect_right(self._starts, start + block, lo=i + 1)
            j = min(max(j - 1, i + 1), count)
            _, end = self.span(j - 1)
            yield i, j - i, self._pread(end - start, start)
            i = j

    def blocks_before(self, stop: int, block: int = 4 << 20) -> Iterator[tuple[int, int, bytes]]:
        """Like :meth:`blocks`, going back from line ``stop`` (excluded) to the first line."""
        j = min(stop, self.line_count)
        while j > 0:
            _, end = self.span(j - 1)
            with self._lock:
                i = bisect_right(self._starts, max(0, end - block), hi=j) - 1
            i = max(0, min(i, j - 1))
            start, _ = self.span(i)
            yield i, j - i, self._pread(end - start, start)
            j = i
