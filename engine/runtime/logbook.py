"""Logging: a rotating log file, a separate incidents log, and an in-memory ring for the UI.

``setup_logging`` configures the ``avin`` logger tree once per process. The Log pane pulls new
records with :meth:`LogBook.entries_since`; it never receives one message per record.

Every time written is UTC with a ``Z`` (``2026-12-04T14:33:54.123Z``, :func:`utc_stamp`), in
``avin.log``, ``incidents.log`` and on the console; the Log pane shows the same stamp, so a line
on screen can be found in the file. Each run begins with a ``--- avin started`` line.
"""

from __future__ import annotations

import itertools
import json
import logging
import logging.handlers
import os
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.model.incidents import INCIDENTS
from engine.model.redact import redact

LOGGER = "avin"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
RUN_START = "--- avin started"  # the first line of a run (the log viewer draws a separator)


def utc_stamp(ts: datetime) -> str:
    """``2026-12-04T14:33:54.123Z``: the time of a log line, in the file and on screen."""
    ts = ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


class UtcFormatter(logging.Formatter):
    """``LOG_FORMAT`` lines stamped in UTC (:func:`utc_stamp`), whatever the machine's zone."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_stamp(datetime.fromtimestamp(record.created, UTC))


@dataclass(frozen=True, slots=True)
class LogEntry:
    seq: int
    ts: datetime
    level: str
    source: str
    message: str
    detail: str = ""  # the traceback of a record logged with exc_info, if any


class LogBook(logging.Handler):
    """A bounded ring of the newest records, numbered so readers can ask for what is new."""

    def __init__(self, capacity: int = 50_000) -> None:
        super().__init__(logging.DEBUG)
        self._ring: deque[LogEntry] = deque(maxlen=capacity)
        self._seq = 0
        self._lock_ring = threading.Lock()
        self.counts: dict[str, int] = {}
        self.log_path: Path | None = None  # avin.log, when setup_logging made this book
        self.start_offset = 0  # the size of avin.log when this run began writing to it

    @property
    def last_seq(self) -> int:
        return self._seq

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = redact(record.getMessage())
        except Exception:  # a bad format string must not break logging
            message = redact(str(record.msg))
        detail = ""
        if record.exc_info and record.exc_info[0] is not None:
            try:
                detail = redact(_TRACEBACK.formatException(record.exc_info))
            except Exception:
                detail = ""
        with self._lock_ring:
            self._seq += 1
            self.counts[record.levelname] = self.counts.get(record.levelname, 0) + 1
            self._ring.append(
                LogEntry(
                    self._seq,
                    datetime.fromtimestamp(record.created, UTC),
                    record.levelname,
                    redact(record.name.removeprefix(LOGGER + ".") or LOGGER),  # a strategy id
                    message,
                    detail,
                )
            )

    def entries_since(self, seq: int, limit: int | None = None) -> list[LogEntry]:
        """The entries after ``seq`` still in the ring (the newest ``limit`` of them), oldest
        first. The ring's numbers are consecutive: only the new entries are read (from the
        newest end), so a reader that polls often costs little whatever the ring holds."""
        with self._lock_ring:
            if not self._ring or seq >= self._seq:
                return []
            count = min(len(self._ring), self._seq - max(seq, 0))
            if limit:
                count = min(count, limit)
            items = list(itertools.islice(reversed(self._ring), count))
        items.reverse()
        return items


_TRACEBACK = logging.Formatter()


class RedactingFormatter(UtcFormatter):
    """UTC stamps and secrets masked: every handler that writes avin's lines anywhere (the file,
    the headless console, which systemd keeps in its journal) formats with it."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _IncidentFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        details = getattr(record, "details", {})
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "what": record.getMessage(),
            **{k: _jsonable(v) for k, v in details.items()},
        }
        return redact(json.dumps(payload, ensure_ascii=False))


_installed: list[logging.Handler] = []


def setup_logging(logs_dir: Path, level: str = "info", capacity: int = 50_000) -> LogBook:
    """Route the ``avin`` loggers to ``avin.log`` (rotating), ``incidents.log`` and a LogBook.

    Calling it again (a new run in the same process, tests) replaces the previous handlers.
    """
    logs_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger(LOGGER)
    for handler in _installed:
        root.removeHandler(handler)
        logging.getLogger(INCIDENTS).removeHandler(handler)
        handler.close()
    _installed.clear()
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    root.propagate = False

    log_path = logs_dir / "avin.log"
    try:
        start_offset = log_path.stat().st_size
    except OSError:
        start_offset = 0
    file_handler = logging.handlers.RotatingFileHandler(
        log_path, maxBytes=10_000_000, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    incident_handler = logging.handlers.RotatingFileHandler(
        logs_dir / "incidents.log", maxBytes=5_000_000, backupCount=10, encoding="utf-8"
    )
    incident_handler.setFormatter(_IncidentFormatter())
    book = LogBook(capacity)
    book.log_path, book.start_offset = log_path, start_offset
    root.addHandler(file_handler)
    root.addHandler(book)
    logging.getLogger(INCIDENTS).addHandler(incident_handler)
    _installed.extend([file_handler, book, incident_handler])
    # whatever the level: the log viewer separates runs at this line
    start = root.makeRecord(
        LOGGER, logging.INFO, __file__, 0, "%s (pid %d) ---", (RUN_START, os.getpid()), None
    )
    file_handler.handle(start)
    book.handle(start)
    return book


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
