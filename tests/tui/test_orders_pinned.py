"""Orders pane: open orders stay in view (pinned on top, newest first) and ``f`` filters them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from avin_tui.app import AvinApp
from avin_tui.widgets.orders import OrdersTable
from engine.model.snapshot import OrderRow

from .conftest import T0, FakeEngine, make_snapshot, wait_for


def _order(i: int, status: str) -> OrderRow:
    return OrderRow(
        f"{i:08d}-key",
        "MOEX_SHARE_SBER",
        "buy",
        "market",
        1,
        1 if status == "filled" else 0,
        None,
        status,
        T0 + timedelta(minutes=i),
    )


def _orders(n_finished: int, open_at: tuple[int, ...]) -> tuple[OrderRow, ...]:
    """Oldest first, as the engine lists them; ``open_at`` are the open ones."""
    rows = []
    for i in range(n_finished + len(open_at)):
        status = "accepted" if i in open_at else ("rejected" if i % 3 == 0 else "filled")
        rows.append(_order(i, status))
    # the engine's snapshot: finished first, then the open ones (oldest first)
    return tuple(
        [r for r in rows if r.status != "accepted"] + [r for r in rows if r.status == "accepted"]
    )


async def test_open_orders_are_on_top_newest_first_and_visible_at_80x24() -> None:
    engine = FakeEngine(make_snapshot(orders=_orders(40, open_at=(2, 5, 30))))
    app = AvinApp(engine, poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(OrdersTable)
        await wait_for(pilot, lambda: table.row_count == 43)
        keys = list(table.shown_rows)
        assert keys[:3] == ["00000030-key", "00000005-key", "00000002-key"]
        assert keys[3] == "00000042-key"  # then the newest finished one
        await pilot.pause()
        top = round(table.scroll_offset.y)
        visible = keys[top : top + table.size.height - 1]
        assert {"00000030-key", "00000005-key", "00000002-key"} <= set(visible)
        assert "3 open" in str(table.border_subtitle)
        # a new order (finished at once) arrives: the open ones stay in view
        engine.set(orders=(*engine.snap.orders, _order(99, "rejected")))
        await wait_for(pilot, lambda: "00000099-key" in table.shown_rows)
        await pilot.pause()
        top = round(table.scroll_offset.y)
        keys = list(table.shown_rows)
        assert keys[:4] == ["00000030-key", "00000005-key", "00000002-key", "00000099-key"]
        assert top == 0
        # an open order that fills moves down among the finished ones
        orders = tuple(
            replace(r, status="filled", filled=1) if r.key == "00000030-key" else r
            for r in engine.snap.orders
        )
        engine.set(orders=orders)
        await wait_for(pilot, lambda: next(iter(table.shown_rows)) == "00000005-key")
        assert "2 open" in str(table.border_subtitle)


async def test_f_shows_open_orders_only_and_back() -> None:
    engine = FakeEngine(make_snapshot(orders=_orders(10, open_at=(4,))))
    app = AvinApp(engine, poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(OrdersTable)
        await wait_for(pilot, lambda: table.row_count == 11)
        await pilot.press("o")
        await pilot.press("f")
        assert list(table.shown_rows) == ["00000004-key"]
        assert "open only" in str(table.border_subtitle)
        engine.set(orders=(*engine.snap.orders, _order(50, "filled")))
        await pilot.pause(0.2)
        assert list(table.shown_rows) == ["00000004-key"]
        await pilot.press("f")
        assert table.row_count == 12 and "open only" not in str(table.border_subtitle)
