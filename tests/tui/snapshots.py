"""Deterministic apps for the snapshot tests (pytest-textual-snapshot), reusable by any screen.

``snapshot_app(theme=..., no_color=...)`` is the app on fixed data: the test double's snapshot,
seeded bars, log entries with fixed times, and a frozen wall clock (``FROZEN_NOW``). Pass
``settle`` as ``run_before`` to ``snap_compare`` (it waits until the panes and the chart show
that data; add your own steps with ``settle_then(...)``)::

    def test_x(snap_compare, monkeypatch):
        app = snapshot_app(monkeypatch, theme="light")
        assert snap_compare(app, terminal_size=(120, 40), run_before=settle_then("L"))

Snapshots are SVG files under ``tests/tui/__snapshots__``; after a deliberate change of the
screen, look at the report and update them with ``pytest tests/tui --snapshot-update``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from avin_tui.app import AvinApp
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.log_pane import LogPane
from avin_tui.widgets.orders import OrdersTable
from avin_tui.widgets.positions import PositionsTable
from avin_tui.widgets.strategies import StrategiesTable
from engine.runtime.logbook import LogBook

from .conftest import T0, FakeEngine, make_snapshot

FROZEN_NOW = T0 + timedelta(hours=5, minutes=12, seconds=34)  # 15:12:34 MSK
LOG_LINES = (
    ("INFO", "avin.engine", "engine started: 2 strategies on MOEX_SHARE_SBER, MOEX_SHARE_GAZP"),
    ("INFO", "avin.strategy.sma_cross", "SBER: up cross at 300.50, buying 2 lots"),
    ("INFO", "avin.engine", "order aaaaaaaa accepted: MOEX_SHARE_SBER buy 0/2 lot(s) @ 290.50"),
    ("WARNING", "avin.risk", "GAZP: spread 0.8% above the 0.5% limit, order held"),
    ("ERROR", "avin.broker", "order bbbbbbbb rejected: 30042 not enough assets (tracking a1b2)"),
    ("INFO", "avin.engine", "fill: MOEX_SHARE_GAZP sell 1 lot(s) @ 130.10 on sim-1"),
)


class FrozenApp(AvinApp):
    """The app with its wall clock stopped at ``FROZEN_NOW``."""

    def now(self) -> datetime:
        return FROZEN_NOW


def snapshot_engine() -> FakeEngine:
    engine = FakeEngine(make_snapshot(heartbeat_ts=FROZEN_NOW - timedelta(milliseconds=300)))
    engine.logbook = LogBook()  # entries at fixed times (the double's own carry the test's time)
    for i, (level, name, message) in enumerate(LOG_LINES):
        record = logging.LogRecord(name, getattr(logging, level), __file__, 1, message, None, None)
        record.created = (FROZEN_NOW - timedelta(seconds=60 - 7 * i)).timestamp()
        record.msecs = 0.0
        engine.logbook.emit(record)
    return engine


def snapshot_app(
    monkeypatch: pytest.MonkeyPatch, *, theme: str = "dark", no_color: bool = False
) -> FrozenApp:
    """The app on fixed data; ``no_color``: as under ``NO_COLOR=1`` (monochrome)."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    settings = SimpleNamespace(ui=SimpleNamespace(theme=theme, refresh_hz=10.0))
    return FrozenApp(snapshot_engine(), settings, persist_layout=False)


async def _until(pilot: Any, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"the screen did not settle: {predicate}"
        await pilot.pause(0.05)


async def settle(pilot: Any) -> None:
    """Wait until every pane shows the fixed data and the chart frame is built from it."""
    app = pilot.app
    await _until(pilot, lambda: app.get_screen_main() is not None and app.feed.applied_count > 0)
    main = app.get_screen_main()
    chart = main.query_one(ChartPane)
    tables = [main.query_one(t) for t in (StrategiesTable, OrdersTable, PositionsTable)]
    log = main.query_one(LogPane)
    await _until(pilot, lambda: chart.showing_bars and all(t.row_count for t in tables))
    await _until(pilot, lambda: log.last_seq >= len(LOG_LINES))
    await pilot.pause(0.2)  # the last frame composed
    await pilot.wait_for_scheduled_animations()


def settle_then(*keys: str) -> Callable[[Any], Awaitable[None]]:
    """``settle``, then press ``keys`` and wait for the screen to be drawn again."""

    async def run(pilot: Any) -> None:
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await pilot.pause(0.3)

    return run
