"""Notifications only for this run's events; after a crash one recovery notice with a details key."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from avin_tui.app import AvinApp
from avin_tui.screens.recovery import RecoveryScreen
from engine.model.snapshot import OrderRow
from engine.runtime.recovery import RecoveryReport

from .conftest import T0, FakeEngine, make_snapshot, wait_for


def _rejected(key: str) -> OrderRow:
    return OrderRow(
        key, "MOEX_SHARE_SBER", "buy", "market", 1, 0, None, "rejected", T0, reason="self_trade"
    )


class StartingEngine(FakeEngine):
    """Recovers (restores earlier runs' orders) only when the test says so, like the engine."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(make_snapshot(orders=()), **kw)
        self.restored_orders: frozenset[str] | None = None
        self.keeper = SimpleNamespace(report=None)


def _messages(app: AvinApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_rejections_restored_at_start_are_not_announced_again() -> None:
    engine = StartingEngine()
    app = AvinApp(engine, poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.feed.applied_count >= 1)
        # recovery brings back what earlier runs rejected (the app sees it only when it is over)
        engine.restored_orders = frozenset({"old-1", "old-2"})
        engine.set(orders=(_rejected("old-1"), _rejected("old-2")))
        await wait_for(pilot, lambda: len(app.feed.snapshot.orders) == 2)  # type: ignore[union-attr]
        engine.set()
        await pilot.pause(0.3)
        assert not [m for m in _messages(app) if "self_trade" in m]
        # a rejection of this run is announced, once
        engine.set(orders=(*engine.snap.orders, _rejected("new-1")))
        await wait_for(pilot, lambda: any("self_trade" in m for m in _messages(app)))
        engine.set()
        await pilot.pause(0.3)
        assert [m for m in _messages(app) if "self_trade" in m] == ["SBER buy 1 lot(s): self_trade"]


async def test_one_recovery_notice_after_a_crash_and_i_shows_the_details() -> None:
    engine = StartingEngine()
    engine.keeper.report = RecoveryReport(
        crashed=True,
        snapshot_seq=12,
        replayed=5,
        synthesized_fills=["fill f-1: SBER buy 1 lot @ 300 (order aaaaaaaa)"],
        cancelled=["bbbbbbbb"],
    )
    open_order = replace(make_snapshot().orders[0])
    app = AvinApp(engine, poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(80, 24)) as pilot:
        engine.set(recovered=True, orders=(open_order, _rejected("old-1")))
        await pilot.pause(0.3)
        assert not [m for m in _messages(app) if "Recovered" in m]  # recovery not over yet
        engine.restored_orders = frozenset({open_order.key, "old-1"})
        engine.set(positions=make_snapshot().positions)
        await wait_for(pilot, lambda: any("Recovered" in m for m in _messages(app)))
        for _ in range(3):
            engine.set()
            await pilot.pause(0.1)
        notices = [m for m in _messages(app) if "Recovered" in m]
        assert len(notices) == 1
        assert "1 open order(s), 1 position(s), 1 fill(s) booked while down" in notices[0]
        assert "Press I for the details" in notices[0]
        assert not [m for m in _messages(app) if "self_trade" in m]
        await pilot.press("I")
        assert isinstance(app.screen, RecoveryScreen)
        assert "Fills booked while down" in app.screen.text
        assert "fill f-1: SBER buy 1 lot" in app.screen.text
        assert "Orders found cancelled" in app.screen.text
        await pilot.press("escape")
        assert not isinstance(app.screen, RecoveryScreen)


async def test_no_recovery_notice_after_a_clean_stop() -> None:
    engine = StartingEngine()
    engine.restored_orders = frozenset()
    app = AvinApp(engine, poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.feed.applied_count >= 1)
        engine.set(recovered=False, orders=(_rejected("old-1"),))
        await wait_for(pilot, lambda: app.feed.applied_count >= 2)
        assert not [m for m in _messages(app) if "Recovered" in m]
