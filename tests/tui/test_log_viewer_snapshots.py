"""Snapshots of the full-screen log viewer at 80x24, 120x40 and 200x60 in dark, light, NO_COLOR.

A fixed ``avin.log`` (two runs, a traceback, a long line) opened with ``L``, a search for "order"
highlighted and the cursor on its first match. After a deliberate change of the viewer, look at
the report and run ``pytest tests/tui/test_log_viewer_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import pytest

from avin_tui.screens.log_viewer import LogViewerScreen
from engine.paths import homes
from engine.runtime.logbook import RUN_START

from .snapshots import _until, settle, snapshot_app

SIZES = [(80, 24), (120, 40), (200, 60)]
LOOKS = ["dark", "light", "no_color"]

AVIN_LOG = f"""\
2026-11-23T15:00:00.000Z INFO    avin: {RUN_START} (pid 100) ---
2026-11-23T15:00:01.250Z INFO    avin.engine: connecting to sim (sim)
2026-11-23T15:00:02.500Z WARNING avin.orders: update for an unknown order 1a2b3c4d (filled)
2026-11-23T15:00:03.750Z ERROR   avin.engine: the engine failed on BarEvent: boom
Traceback (most recent call last):
  File "engine/runtime/engine.py", line 436, in _on_event
ZeroDivisionError: division by zero
2026-11-23T15:00:05.000Z INFO    avin.engine: engine stopped (events 803, orders_sent 4)
2026-11-24T07:00:00.000Z INFO    avin: {RUN_START} (pid 200) ---
2026-11-24T07:00:01.000Z INFO    avin.engine: connecting to sim (sim)
2026-11-24T07:00:02.000Z DEBUG   avin.engine: MOEX_SHARE_SBER: 300 bars of 1-minute history loaded
2026-11-24T07:00:03.000Z INFO    avin.strategy.sma_cross:SBER:sim-1: up cross at 300.50, buying 2 lots {"and a long tail " * 12}
2026-11-24T07:00:04.000Z INFO    avin.engine: order aaaaaaaa accepted: MOEX_SHARE_SBER buy 0/2 lot(s) @ 290.50
2026-11-24T07:00:05.000Z ERROR   avin.broker: order bbbbbbbb rejected: 30042 not enough assets (tracking a1b2)
2026-11-24T07:00:06.000Z INFO    avin.engine: fill: MOEX_SHARE_GAZP sell 1 lot(s) @ 130.10 on sim-1
"""


async def open_viewer(pilot: Any) -> None:
    await settle(pilot)
    app = pilot.app
    await pilot.press("L")
    await _until(pilot, lambda: isinstance(app.screen, LogViewerScreen))
    view = app.screen.view
    await _until(pilot, lambda: view.source.index.done and view.row_count == 14)  # INFO and up
    await pilot.press("slash", *"order", "enter")
    await _until(pilot, lambda: view.match_count == 4 and view.cursor_row == 2)
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("look", LOOKS)
def test_log_viewer(
    snap_compare: Any, monkeypatch: pytest.MonkeyPatch, look: str, size: tuple[int, int]
) -> None:
    logs = homes().ensure().logs
    (logs / "avin.log").write_text(AVIN_LOG)
    theme = "light" if look == "light" else "dark"
    app = snapshot_app(monkeypatch, theme=theme, no_color=look == "no_color")
    assert snap_compare(app, terminal_size=size, run_before=open_viewer)
