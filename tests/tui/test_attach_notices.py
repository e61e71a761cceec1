"""An attached app announces what the robot does while it watches, not what it did before, and
the report of the robot's start-up recovery as the app with its own engine does.

The snapshots are handed to the RemoteEngine as its stream would (``take``); no robot runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from avin_tui.app import AvinApp
from avin_tui.remote_engine import RemoteEngine
from avin_tui.screens.recovery import RecoveryScreen
from engine.control.client import ControlClient
from engine.model.snapshot import OrderRow
from engine.runtime.recovery import RecoveryReport

from .conftest import T0, make_snapshot, wait_for


def _rejected(key: str) -> OrderRow:
    return OrderRow(
        key, "MOEX_SHARE_SBER", "buy", "market", 1, 0, None, "rejected", T0, reason="self_trade"
    )


def _rejections(app: AvinApp) -> list[str]:
    return [str(n.message) for n in app._notifications if "self_trade" in str(n.message)]


async def test_rejections_from_before_the_attach_are_not_announced(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"  # nothing serves it: the snapshots come from the test
    remote = RemoteEngine(path)
    client = ControlClient(path)
    try:
        assert remote.restored_orders is None  # nothing seen yet: every rejection is known
        earlier = (_rejected("old-1"), _rejected("old-2"))
        remote.take(make_snapshot(version=5, orders=earlier), connected_by=client)
        app = AvinApp(remote, run_engine=False, poll_interval=0.05, persist_layout=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.feed.applied_version == 5)
            ticks = app.feed.ticks
            await wait_for(pilot, lambda: app.feed.ticks >= ticks + 3)
            assert _rejections(app) == []
            remote.take(make_snapshot(version=6, orders=(*earlier, _rejected("new-1"))))
            await wait_for(pilot, lambda: bool(_rejections(app)))
            assert _rejections(app) == ["SBER buy 1 lot(s): self_trade"]
    finally:
        remote.request_stop()
        client.close()


async def test_the_robots_recovery_report_gives_the_notice_and_the_details(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"
    remote = RemoteEngine(path)
    client = ControlClient(path)
    report = RecoveryReport(
        crashed=True,
        snapshot_seq=12,
        replayed=5,
        synthesized_fills=["fill f-1: SBER buy 1 lot @ 300 (order aaaaaaaa)"],
        cancelled=["bbbbbbbb"],
    )
    try:
        snap = make_snapshot(version=3, recovered=True)
        # the robot's status JSON carries the report: it comes back through JSON here too
        recovery = json.loads(json.dumps(report.to_json()))
        remote.take(snap, connected_by=client, recovery=recovery)
        assert remote.keeper.report == report
        app = AvinApp(remote, run_engine=False, poll_interval=0.05, persist_layout=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: any("Recovered" in m for m in _messages(app)))
            notice = next(m for m in _messages(app) if "Recovered" in m)
            assert "1 fill(s) booked while down" in notice and "Press I" in notice
            await pilot.press("I")
            assert isinstance(app.screen, RecoveryScreen)
            assert "fill f-1: SBER buy 1 lot" in app.screen.text
            assert "Orders found cancelled" in app.screen.text
    finally:
        remote.request_stop()
        client.close()


def _messages(app: AvinApp) -> list[str]:
    return [str(n.message) for n in app._notifications]
