"""The status store's edges: which processes count as alive (zombies, someone else's, Windows),
and stored records that are missing or unreadable."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engine.model.snapshot import TradingState
from engine.state import status_store as ss
from engine.state.status_store import StatusStore, pid_alive


def test_no_pid_is_alive_below_one() -> None:
    assert not pid_alive(0) and not pid_alive(-5)


def test_a_process_of_someone_else_counts_as_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(ss.os, "kill", denied)
    assert pid_alive(12345)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs procfs")
def test_a_zombie_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        stat = Path(f"/proc/{child.pid}/stat")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # bounded wait for the exit (not waited for: a zombie)
            if stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z":
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the child did not exit within 30 s")
        assert not pid_alive(child.pid)
    finally:
        child.wait()
    assert not pid_alive(child.pid)  # reaped: gone


def test_without_procfs_kill_zero_is_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_procfs(self: Path) -> str:
        raise FileNotFoundError(str(self))

    monkeypatch.setattr(ss.Path, "read_text", no_procfs)
    assert ss._not_zombie(12345)


class _Kernel32:
    """The three kernel32 calls the Windows check uses, answering as told."""

    def __init__(self, handle: int, exit_code: int | None) -> None:
        self.handle, self.exit_code = handle, exit_code
        self.closed: list[int] = []

    def OpenProcess(self, access: int, inherit: bool, pid: int) -> int:
        assert access == 0x1000 and not inherit
        return self.handle

    def GetExitCodeProcess(self, handle: int, ref: Any) -> int:
        if self.exit_code is None:
            return 0
        ref._obj.value = self.exit_code
        return 1

    def CloseHandle(self, handle: int) -> None:
        self.closed.append(handle)


def _on_windows(monkeypatch: pytest.MonkeyPatch, kernel: _Kernel32, last_error: int = 0) -> None:
    monkeypatch.setattr(ss.sys, "platform", "win32")
    monkeypatch.setattr(ctypes, "WinDLL", lambda name, use_last_error: kernel, raising=False)
    monkeypatch.setattr(ctypes, "get_last_error", lambda: last_error, raising=False)


def test_on_windows_the_exit_code_says_whether_a_process_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running = _Kernel32(handle=7, exit_code=259)  # STILL_ACTIVE
    _on_windows(monkeypatch, running)
    assert pid_alive(42) and running.closed == [7]
    ended = _Kernel32(handle=8, exit_code=0)
    _on_windows(monkeypatch, ended)
    assert not pid_alive(42) and ended.closed == [8]
    unknown = _Kernel32(handle=9, exit_code=None)  # the query failed: it exists
    _on_windows(monkeypatch, unknown)
    assert pid_alive(42) and unknown.closed == [9]
    _on_windows(monkeypatch, _Kernel32(handle=0, exit_code=None), last_error=5)
    assert pid_alive(42)  # access denied: someone else's process
    _on_windows(monkeypatch, _Kernel32(handle=0, exit_code=None), last_error=87)
    assert not pid_alive(42)  # invalid parameter: no such process


def test_the_windows_check_refuses_to_run_elsewhere() -> None:
    if sys.platform == "win32":
        pytest.skip("runs the real check on Windows")
    with pytest.raises(OSError, match="only on Windows"):
        ss._windows_pid_alive(1)


def test_missing_and_unreadable_records(tmp_path: Path) -> None:
    with StatusStore(tmp_path) as store:
        assert store.status() is None and store.load_worklist() is None
        store.begin_run()
        store.end_run()  # no snapshot yet: only the marker goes
        assert store.marker() is None and store.load_snapshot() is None
        with pytest.raises(ValueError, match="unknown command 'explode'"):
            store.request_command("explode")
        store._cache.set("trading_state", {"state": "MAYBE"})
        state, reason = store.trading_state()
        assert state is TradingState.HALTED and "unreadable stored trading state" in reason
        store._cache.set("worklist", "{not json")
        assert store.load_worklist() is None
        store._cache.set("worklist", "[1, 2]")
        assert store.load_worklist() is None
        store.save_worklist({"rows": []})
        assert store.load_worklist() == {"rows": []}
