"""What a robot recorded, kept for an attached app: its log records and its recovery report.

:class:`RemoteLog` holds the records the log stream brought, numbered here (a robot that restarted
numbers its own from 1 again); :class:`RemoteKeeper` and :func:`report_of` give the app the
report of the robot's start-up recovery as an engine's state keeper would (the recovery notice,
the details screen, key ``I``); :class:`RemoteWorkspace` keeps the user's workspace with the
robot when its state store is not at hand.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from datetime import datetime
from typing import Any

from engine.runtime.logbook import LogEntry
from engine.runtime.recovery import RecoveryReport

LOG_CAPACITY = 20_000  # log records kept for the log pane


class RemoteKeeper:
    """What the app reads of an engine's state keeper: the report of its start-up recovery."""

    def __init__(self, report: RecoveryReport | None) -> None:
        self.report = report


def report_of(data: dict[str, Any]) -> RecoveryReport | None:
    """The RecoveryReport back from its JSON (``RecoveryReport.to_json``); None if unreadable."""
    try:
        return RecoveryReport(
            crashed=bool(data["crashed"]),
            snapshot_seq=int(data.get("snapshot_seq") or 0),
            snapshot_ts=str(data.get("snapshot_ts") or ""),
            replayed=int(data.get("replayed_events") or 0),
            resolved=list(data.get("resolved") or []),
            synthesized_fills=list(data.get("synthesized_fills") or []),
            adopted=list(data.get("adopted_external") or []),
            cancelled=list(data.get("cancelled") or []),
            fresh_broker=bool(data.get("fresh_broker")),
            problems=list(data.get("problems") or []),
            damage=list(data.get("damage") or []),
            hint=str(data.get("hint") or ""),
            halted=bool(data.get("halted")),
            seconds=float(data.get("seconds") or 0.0),
        )
    except (KeyError, TypeError, ValueError):
        return None


class RemoteLog:
    """The robot's log records for the log pane, numbered here (a robot that restarted numbers
    its own from 1 again; the pane asks for what came after the last number it showed)."""

    def __init__(self, capacity: int = LOG_CAPACITY) -> None:
        self._ring: deque[Any] = deque(maxlen=capacity)
        self._seq = 0
        self._lock = threading.Lock()

    @property
    def last_seq(self) -> int:
        return self._seq

    def add(self, ts: datetime, level: str, source: str, message: str, detail: str = "") -> None:
        """One record of the robot's, numbered here."""
        with self._lock:
            self._seq += 1
            self._ring.append(LogEntry(self._seq, ts, level, source, message, detail))

    def entries_since(self, seq: int, limit: int | None = None) -> list[Any]:
        with self._lock:
            if not self._ring or seq >= self._seq:
                return []
            first = self._ring[0].seq
            items = list(self._ring)[max(0, seq + 1 - first) :]
        return items[-limit:] if limit else items


class RemoteWorkspace:
    """The user's workspace kept by the robot (``GetWorkspace``/``SaveWorkspace``): the value
    store an attached app saves its layout in when the robot's state store is not at hand here
    (``avin attach --endpoint HOST:PORT``).

    The app writes the store's envelope (``engine.state.workspace``); the robot keeps the layout
    with its version inside (``data["version"]``) and wraps it again in its own store.
    """

    def __init__(self, client: Any) -> None:
        self.client = client  # () -> a connected ControlClient (RemoteEngine.control_client)

    def put(self, name: str, value: Any) -> None:
        data = dict(value["data"])
        data["version"] = int(value["version"])
        self.client().save_workspace(data)

    def get_text(self, name: str) -> str | None:
        from engine.state.workspace import envelope

        data = dict(self.client().workspace())
        if not data:
            return None
        version = data.pop("version", 1)
        return json.dumps(envelope(data, version if isinstance(version, int) else 1, ""))
