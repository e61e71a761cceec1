"""A fill that races a clean stop is booked at the stop, not left to the next start."""

from __future__ import annotations

from engine.broker.base import FillEvent, OrderUpdate
from engine.model import Order, OrderType, Side
from engine.runtime.worklist import StrategySpec
from tests.runtime.simkit import Driver


async def test_fill_whose_events_never_arrived_is_booked_at_stop() -> None:
    idle = StrategySpec("test_script", "SBER", params={"plan": {}})  # trades nothing
    async with Driver([idle]) as drv:
        order = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 2, "sim-1")
        drv.engine.submit(order)
        await drv.settle()
        assert order.status.value == "accepted"
        # the broker fills it, but the fill and the update are lost on the way to the engine
        emit = drv.broker._emit
        drv.broker._emit = lambda e: None if isinstance(e, FillEvent | OrderUpdate) else emit(e)  # type: ignore[method-assign]
        drv.broker.step()
        view = await drv.broker.get_order("sim-1", order.id)
        assert view is not None and view.filled_lots == 2
        assert drv.engine.book.orders[order.id].filled_lots == 0
    booked = drv.engine.book.orders[order.id]
    assert booked.filled_lots == 2 and booked.status.value == "filled"
    position = drv.engine.book.positions[("sim-1", "MOEX_SHARE_SBER")]
    assert position.lots == 2 and position.avg_price == view.avg_fill_price
