"""The log files of avin's logs folder, and the end of the previous run.

``avin.log`` rotates into ``avin.log.1`` .. ``avin.log.5`` (``.1`` the newest) and
``incidents.log`` into ``incidents.log.1`` .. ``.10`` (``engine.runtime.logbook``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from avin_tui.logview.parse import RUN_MARK

MAIN, INCIDENTS = "avin.log", "incidents.log"


@dataclass(frozen=True, slots=True)
class LogFile:
    path: Path
    size: int
    modified: datetime

    @property
    def label(self) -> str:
        when = self.modified.strftime("%Y-%m-%d %H:%M:%SZ")
        return f"{self.path.name:<18} {when}  {_size(self.size):>8}"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _rotation(path: Path, base: str) -> int:
    suffix = path.name[len(base) :]
    if not suffix:
        return 0
    return int(suffix[1:]) if suffix[1:].isdigit() else 10_000


def log_files(logs_dir: Path) -> list[LogFile]:
    """``avin.log`` and its rotations (newest first), then ``incidents.log`` and its rotations."""
    out: list[LogFile] = []
    for base in (MAIN, INCIDENTS):
        found = [
            p
            for p in logs_dir.glob(f"{base}*")
            if p.is_file() and (p.name == base or p.name[len(base) + 1 :].isdigit())
        ]
        for path in sorted(found, key=lambda p: _rotation(p, base)):
            try:
                st = path.stat()
            except OSError:
                continue
            out.append(LogFile(path, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC)))
    return out


def tail_lines(path: Path, end: int | None = None, count: int = 200) -> list[str]:
    """The last ``count`` whole lines before byte ``end`` (the file's end when None)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return []
    try:
        size = os.fstat(fd).st_size
        end = size if end is None else min(end, size)
        data = b""
        start = end
        while start > 0 and data.count(b"\n") <= count:
            step = min(start, 64 << 10)
            start -= step
            data = os.pread(fd, step, start) + data
        lines = data.splitlines()
        if start > 0 and lines:
            lines = lines[1:]  # the first one is cut
        return [b.decode("utf-8", "replace") for b in lines[-count:]]
    finally:
        os.close(fd)


def previous_run(logs_dir: Path, start_offset: int, count: int = 200) -> list[str]:
    """The end of the run before this one: ``avin.log`` up to where this run began writing, or
    the newest rotation when this run began a new file. Empty when there was no earlier run."""
    main = logs_dir / MAIN
    lines = tail_lines(main, start_offset, count) if start_offset > 0 else []
    if not lines:
        lines = tail_lines(logs_dir / f"{MAIN}.1", None, count)
    # from the last start of a run on: the previous run only, not the one before it
    for i in range(len(lines) - 1, -1, -1):
        if RUN_MARK in lines[i]:
            return lines[i:]
    return lines
