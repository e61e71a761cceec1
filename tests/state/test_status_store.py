import subprocess
import sys
from pathlib import Path

import pytest

from engine.model.snapshot import TradingState
from engine.state.status_store import RunMarker, StatusStore, pid_alive


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_round_trip_and_clean_end(tmp_path: Path) -> None:
    with StatusStore(tmp_path) as store:
        start = store.begin_run()
        assert not start.recovered and start.trading_state is TradingState.ACTIVE
        store.save_snapshot({"mode": "sim", "running": True, "strategies": []})
        status = store.status()
        assert status is not None and status["running"] is True and "saved_ts" in status
        store.end_run()
        assert store.marker() is None
    with StatusStore(tmp_path) as again:
        status = again.status()
        assert status is not None and status["running"] is False and status["mode"] == "sim"


def test_a_marker_with_a_dead_pid_means_the_last_run_crashed(tmp_path: Path) -> None:
    pid = dead_pid()
    assert not pid_alive(pid)
    with StatusStore(tmp_path) as store:
        store.begin_run(pid=pid)
        store.save_snapshot({"running": True})
        status = store.status()
        assert status is not None and status["running"] is False and status["crashed"] is True
        start = store.begin_run()
        assert start.recovered and start.previous is not None and start.previous.pid == pid


def test_another_live_engine_is_refused(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with StatusStore(tmp_path) as store:
            store.begin_run(pid=proc.pid)
            with pytest.raises(RuntimeError, match="another avin engine"):
                store.begin_run()
    finally:
        proc.kill()
        proc.wait()


def test_halted_is_latched(tmp_path: Path) -> None:
    with StatusStore(tmp_path) as store:
        store.save_trading_state(TradingState.HALTED, "error storm")
    with StatusStore(tmp_path) as store:
        start = store.begin_run()
        assert start.trading_state is TradingState.HALTED and start.halt_reason == "error storm"


def test_marker_json() -> None:
    marker = RunMarker(1, "h", "t")
    assert RunMarker.from_json(marker.to_json()) == marker
