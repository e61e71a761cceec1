"""Restarts on the real engine with its state store: rejections of an earlier run are not toasted
again, and after an unclean stop there is exactly one recovery notice (``I``: the details)."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import Any

import pytest

from avin_tui.app import AvinApp
from avin_tui.screens.recovery import RecoveryScreen
from engine.config import Settings
from engine.model import Order, OrderStatus, OrderType, Side
from engine.runtime.launch import build_engine
from engine.runtime.logbook import LogBook
from engine.state.status_store import RunMarker

from .conftest import FAST, on_engine_loop, wait_for

pytestmark = pytest.mark.slow


def _titles(app: AvinApp) -> list[str]:
    return [f"{n.title} | {n.message}" for n in app._notifications]


async def _run(logbook: LogBook, body: Any) -> list[str]:
    """One run of the app on a persisting engine; returns every notification it showed."""
    engine = build_engine(Settings(), speed=FAST, seed=7, logbook=logbook, persist=True)
    app = AvinApp(engine, poll_interval=0.05, persist_layout=False)
    shown: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: engine.started, timeout=30)
        await body(app, engine, pilot)
        shown = _titles(app)
        await app.quit_flow.stop_and_exit()
        await wait_for(pilot, lambda: not engine.running, timeout=15)
    return shown


async def test_a_restart_does_not_repeat_old_rejections_and_a_crash_gives_one_notice(
    logbook: LogBook,
) -> None:
    refused: dict[str, str] = {}

    async def reject_one(app: AvinApp, engine: Any, pilot: Any) -> None:
        order = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 10_000_000, "sim-1")
        result = on_engine_loop(engine, engine.submit, order)
        assert result.status is OrderStatus.REJECTED
        refused["key"] = result.id[:8]
        await wait_for(pilot, lambda: any(refused["key"] in t for t in _titles(app)))

    first = await _run(logbook, reject_one)
    assert sum(refused["key"] in t for t in first) == 1

    async def look(app: AvinApp, engine: Any, pilot: Any) -> None:
        keys = [o.key[:8] for o in engine.snapshot().orders]
        assert refused["key"] in keys  # restored from the store...
        await pilot.pause(1.0)  # (a few polls)

    second = await _run(logbook, look)
    assert not [t for t in second if refused["key"] in t]  # ...but not announced again
    assert not [t for t in second if "recovered" in t.lower()]  # it stopped cleanly

    # an unclean stop: the marker of a process that is gone
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    from engine.paths import homes
    from engine.state import open_store

    store = open_store(Settings(), homes().ensure().state)
    store._cache.set("marker", RunMarker(dead.pid, socket.gethostname(), "then").to_json())
    store.close()

    async def crashed(app: AvinApp, engine: Any, pilot: Any) -> None:
        assert engine.snapshot().recovered
        await wait_for(pilot, lambda: any("did not stop cleanly" in t for t in _titles(app)))
        await pilot.pause(0.5)
        await pilot.press("I")
        assert isinstance(app.screen, RecoveryScreen)
        assert "Start-up recovery" in app.screen.text and "snapshot #" in app.screen.text
        await pilot.press("escape")

    third = await _run(logbook, crashed)
    assert len([t for t in third if "did not stop cleanly" in t]) == 1
    assert not [t for t in third if refused["key"] in t]
