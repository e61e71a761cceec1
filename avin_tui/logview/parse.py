"""What a log line says: time, level, source, message; the entry a line belongs to; run starts.

``avin.log`` lines look like ``2026-12-04T14:33:54.123Z INFO    avin.engine: message`` (UTC, see
``engine.runtime.logbook``); lines that do not (a traceback, a multi-line message) continue the
entry above them. ``incidents.log`` holds one JSON object per line. Older files written with a
space between date and time and a comma before the milliseconds are read too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

LEVEL_RANK = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "WARN": 30, "ERROR": 40, "CRITICAL": 50}
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")  # the level filter's steps
RUN_MARK = "--- avin started"  # the first line of each run (engine.runtime.logbook)

HEADER = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?Z?)\s+"
    r"(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\s+(?P<source>\S+?):(?:\s|$)(?P<message>.*)",
    re.DOTALL,
)
ORDER = re.compile(r"\border(?:\s+key)?\s+([0-9a-fA-F][0-9a-fA-F-]{5,})")
INSTRUMENT = re.compile(r"\b(MOEX_[A-Z]+_[A-Z0-9]+)\b")
STRATEGY = re.compile(r"\bstrategy\s+([\w.:-]+)")


@dataclass(frozen=True, slots=True)
class LogLine:
    """One parsed line; ``level`` is None for a line that continues the entry above."""

    ts: str = ""
    level: str | None = None
    source: str = ""
    message: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        return LEVEL_RANK.get(self.level or "", 0)

    @property
    def is_run_start(self) -> bool:
        return self.level is not None and self.message.startswith(RUN_MARK)


def parse_line(text: str) -> LogLine:
    m = HEADER.match(text)
    if m:
        return LogLine(m["ts"], m["level"], m["source"], m["message"])
    if text.startswith("{"):
        try:
            raw = json.loads(text)
        except ValueError:
            raw = None
        if isinstance(raw, dict) and "ts" in raw and "what" in raw:
            extra = {k: v for k, v in raw.items() if k not in ("ts", "what")}
            return LogLine(str(raw["ts"]), "CRITICAL", "incidents", str(raw["what"]), extra)
    return LogLine(message=text)


def level_rank(level: str) -> int:
    return LEVEL_RANK.get(level.upper(), LEVEL_RANK["INFO"])


@dataclass(frozen=True, slots=True)
class Entry:
    """A whole entry: its first line parsed, the lines that continue it, and what it names."""

    line: int  # the number of its first line
    head: LogLine
    more: tuple[str, ...] = ()  # continuation lines (a traceback, the rest of a message)

    @property
    def text(self) -> str:
        return "\n".join((self.head.message, *self.more))

    @property
    def traceback(self) -> str:
        lines = list(self.more)
        for i, line in enumerate(lines):
            if line.startswith("Traceback"):
                return "\n".join(lines[i:])
        return ""

    def fields(self) -> dict[str, str]:
        """Order key, instrument and strategy named by the entry (those it names)."""
        text = self.text
        out: dict[str, str] = {}
        for key in ("order_key", "order", "order_id"):
            if key in self.head.extra:
                out["order"] = str(self.head.extra[key])
        if "order" not in out and (m := ORDER.search(text)):
            out["order"] = m[1]
        for key in ("instrument", "figi", "ticker"):
            if key in self.head.extra and "instrument" not in out:
                out["instrument"] = str(self.head.extra[key])
        if "instrument" not in out and (m := INSTRUMENT.search(text)):
            out["instrument"] = m[1]
        source = self.head.source
        if source.startswith(("avin.strategy.", "strategy.")):
            out["strategy"] = source.split("strategy.", 1)[1]
        elif "strategy" in self.head.extra:
            out["strategy"] = str(self.head.extra["strategy"])
        elif m := STRATEGY.search(text):
            out["strategy"] = m[1]
        return out


MAX_ENTRY_LINES = 2_000  # lines of one entry read for the details (a longer one is cut)


def entry_at(get_line: object, count: int, i: int) -> Entry:
    """The entry line ``i`` belongs to; ``get_line(n) -> str`` reads line ``n`` of ``count``."""
    read = get_line  # a callable: typed loosely so both sources can pass a bound method
    assert callable(read)
    first = i
    while first > 0 and i - first < MAX_ENTRY_LINES and parse_line(read(first)).level is None:
        first -= 1
    head = parse_line(read(first))
    if head.level is None:  # no header above (the file starts mid-entry): the line alone
        first, head = i, parse_line(read(i))
    more: list[str] = []
    n = first + 1
    while n < count and len(more) < MAX_ENTRY_LINES:
        text = read(n)
        if parse_line(text).level is not None:
            break
        more.append(text)
        n += 1
    return Entry(first, head, tuple(more))
