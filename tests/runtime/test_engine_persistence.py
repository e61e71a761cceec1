import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

from engine.model.snapshot import StrategyState, TradingState
from engine.runtime.engine import EngineOptions
from engine.runtime.worklist import DEMO_WORKLIST, StrategySpec
from engine.state.status_store import RunMarker, StatusStore

from .simkit import Driver


async def test_status_is_saved_on_changes_and_marked_stopped_at_the_end(tmp_path: Path) -> None:
    store = StatusStore(tmp_path)
    options = EngineOptions(snapshot_interval=60, persist_min_gap=0)
    async with Driver(list(DEMO_WORKLIST), options, store=store) as d:
        marker = store.marker()
        assert marker is not None and marker.pid == os.getpid()
        await d.minutes(60)
        fills = d.engine.counters["fills"]
        assert fills > 0
        for _ in range(100):  # the persist task writes soon after the fills (not every 60 s)
            status = store.status()
            if status and status["counters"]["fills"] == fills:
                break
            await d.settle()

            await asyncio.sleep(0.01)
        assert status is not None and status["running"] is True
        assert status["counters"]["fills"] == fills
    status = store.status()
    assert status is not None and status["running"] is False and store.marker() is None
    filled = [o for o in status["orders"] if o["status"] == "filled"]
    assert len(filled) == fills
    assert "token" not in str(status).lower()
    store.close()


async def test_halted_comes_back_after_a_restart(tmp_path: Path) -> None:
    store = StatusStore(tmp_path)
    async with Driver([StrategySpec("sma_cross", "SBER")], store=store) as d:
        d.engine.kill("latched test")
    async with Driver([StrategySpec("sma_cross", "SBER")], store=store) as d:
        assert d.engine.trading_state is TradingState.HALTED
        assert d.engine.halt_reason == "latched test"
        assert d.engine.slots[0].state is StrategyState.HELD
        assert d.engine.snapshot().recovered is False  # it stopped cleanly
        d.engine.set_trading_state(TradingState.ACTIVE, "reset by the operator")
    assert store.trading_state() == (TradingState.ACTIVE, "")
    store.close()


async def test_a_stale_marker_means_recovered(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    store = StatusStore(tmp_path)
    store._cache.set("marker", RunMarker(proc.pid, socket.gethostname(), "then").to_json())
    async with Driver([StrategySpec("sma_cross", "SBER")], store=store) as d:
        assert d.engine.snapshot().recovered is True
    assert store.status() is not None and store.status()["recovered"] is True  # type: ignore[index]
    store.close()


async def test_a_second_engine_refuses_to_start_and_leaves_the_first_alone(tmp_path: Path) -> None:
    import pytest

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        store = StatusStore(tmp_path)
        store.begin_run(pid=other.pid)
        store.save_snapshot({"mode": "sim", "pid": other.pid})
        d = Driver([StrategySpec("sma_cross", "SBER")], store=store)
        with pytest.raises(RuntimeError, match="another avin engine is running"):
            await d.engine.run(1)
        marker = store.marker()
        assert marker is not None and marker.pid == other.pid
        status = store.status()
        assert status is not None and status["pid"] == other.pid and status["running"] is True
        store.close()
    finally:
        other.kill()
        other.wait()
