"""The engine's persisted status: latest snapshot, running marker and the latched trading state.

A diskcache store in the state home (``$state/status``), shared by the running engine (writer) and
``avin status`` (reader, possibly another process). What is stored is the public snapshot JSON
(no secrets: the snapshot never holds the token), a marker ``{pid, host, start_ts}`` while an
engine runs, and the trading state with its reason. A marker whose process is gone on start means
the previous run crashed; the full recovery (reconciling orders with the broker) will hang off
:meth:`StatusStore.begin_run`.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import diskcache

from engine.model.snapshot import TradingState

_SNAPSHOT = "snapshot"
_MARKER = "marker"
_TRADING = "trading_state"
_COMMAND = "command"
_WORKLIST = "worklist"
COMMANDS = ("kill", "resume", "flatten", "reduce")


@dataclass(frozen=True, slots=True)
class RunMarker:
    pid: int
    host: str
    start_ts: str

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "host": self.host, "start_ts": self.start_ts}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunMarker:
        return cls(
            int(data.get("pid", 0)), str(data.get("host", "")), str(data.get("start_ts", ""))
        )

    def is_alive(self) -> bool:
        """Whether this marker's process still runs (on this host; another host counts as no)."""
        return self.host == socket.gethostname() and pid_alive(self.pid)


@dataclass(frozen=True, slots=True)
class RunStart:
    marker: RunMarker
    recovered: bool  # the previous run left a marker behind: it crashed
    previous: RunMarker | None
    trading_state: TradingState
    halt_reason: str


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would TERMINATE the process on Windows
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return _not_zombie(pid)


def _windows_pid_alive(pid: int) -> bool:
    """Whether a Windows process runs: opened for a query, its exit code still STILL_ACTIVE."""
    if sys.platform == "win32":  # (mypy checks this block only for Windows)
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: exists, someone else's
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    raise OSError("_windows_pid_alive works only on Windows")


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: trust kill(0)
    state = stat.rsplit(")", 1)[-1].split()
    return not state or state[0] != "Z"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class StatusStore:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "status"
        self.path.mkdir(parents=True, exist_ok=True)
        self._cache = diskcache.Cache(str(self.path), timeout=5)

    def close(self) -> None:
        self._cache.close()

    def __enter__(self) -> StatusStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the run --------------------------------------------------------------------------------

    def begin_run(self, pid: int | None = None) -> RunStart:
        """Put this process's marker down; report a crashed predecessor and the latched state."""
        previous_data = self._cache.get(_MARKER)
        previous = RunMarker.from_json(previous_data) if isinstance(previous_data, dict) else None
        if previous is not None and previous.is_alive() and previous.pid != (pid or os.getpid()):
            raise RuntimeError(
                f"another avin engine is running (pid {previous.pid}, started {previous.start_ts});"
                " stop it first"
            )
        recovered = previous is not None and not previous.is_alive()
        marker = RunMarker(pid or os.getpid(), socket.gethostname(), _now_iso())
        self._cache.set(_MARKER, marker.to_json())
        state, reason = self.trading_state()
        return RunStart(marker, recovered, previous, state, reason)

    def end_run(self) -> None:
        """A clean shutdown: the stored snapshot says running=false and the marker goes."""
        data = self.load_snapshot()
        if data is not None:
            data["running"] = False
            self._cache.set(_SNAPSHOT, json.dumps(data))
        self._cache.delete(_MARKER)

    def marker(self) -> RunMarker | None:
        data = self._cache.get(_MARKER)
        return RunMarker.from_json(data) if isinstance(data, dict) else None

    # --- snapshot -------------------------------------------------------------------------------

    def save_snapshot(self, data: dict[str, Any]) -> None:
        payload = {**data, "saved_ts": _now_iso()}
        self._cache.set(_SNAPSHOT, json.dumps(payload))

    def load_snapshot(self) -> dict[str, Any] | None:
        raw = self._cache.get(_SNAPSHOT)
        if not isinstance(raw, str):
            return None
        data = json.loads(raw)
        return data if isinstance(data, dict) else None

    def status(self) -> dict[str, Any] | None:
        """The last snapshot as ``avin status`` reports it: ``running`` from the live marker."""
        data = self.load_snapshot()
        if data is None:
            return None
        marker = self.marker()
        alive = marker is not None and marker.is_alive()
        data["running"] = alive
        if marker is not None and not alive:
            data["crashed"] = True  # a marker without its process: the run did not end cleanly
        state, reason = self.trading_state()
        data["trading_state"] = state.value
        if reason:
            data["halt_reason"] = reason
        return data

    # --- out-of-band commands (``avin kill`` / ``avin resume`` from another process) -----------

    def request_command(self, command: str, reason: str = "") -> None:
        """Leave a command for the running engine (it polls about once a second)."""
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}")
        self._cache.set(_COMMAND, {"command": command, "reason": reason, "ts": _now_iso()})

    def take_command(self) -> tuple[str, str] | None:
        """The pending command and its reason, removed from the store; None when there is none."""
        data = self._cache.pop(_COMMAND, default=None)
        if not isinstance(data, dict) or data.get("command") not in COMMANDS:
            return None
        return str(data["command"]), str(data.get("reason", ""))

    # --- trading state (latched) -----------------------------------------------------------------

    def save_trading_state(self, state: TradingState, reason: str = "") -> None:
        self._cache.set(_TRADING, {"state": state.value, "reason": reason, "ts": _now_iso()})

    def trading_state(self) -> tuple[TradingState, str]:
        data = self._cache.get(_TRADING)
        if not isinstance(data, dict):
            return TradingState.ACTIVE, ""
        try:
            return TradingState(data.get("state", "ACTIVE")), str(data.get("reason", ""))
        except ValueError:
            return TradingState.HALTED, f"unreadable stored trading state {data!r}"

    # --- the worklist as changed at runtime (engine.runtime.worklist) ----------------------------

    def save_worklist(self, data: dict[str, Any]) -> None:
        self._cache.set(_WORKLIST, json.dumps(data))

    def load_worklist(self) -> dict[str, Any] | None:
        raw = self._cache.get(_WORKLIST)
        if not isinstance(raw, str):
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
