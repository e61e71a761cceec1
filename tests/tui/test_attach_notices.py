"""An attached app announces what the robot does while it watches, not what it did before.

The snapshots are handed to the RemoteEngine as its stream would (``take``); no robot runs.
"""

from __future__ import annotations

from pathlib import Path

from avin_tui.app import AvinApp
from avin_tui.remote_engine import RemoteEngine
from engine.control.client import ControlClient
from engine.model.snapshot import OrderRow

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
