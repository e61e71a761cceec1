"""Times say which clock they are on: on the simulated market the orders show its time, labelled
"Sim MSK", and the status bar shows that clock next to the wall clock."""

from __future__ import annotations

from avin_tui.app import AvinApp
from avin_tui.widgets._format import msk
from avin_tui.widgets.orders import OrdersTable
from avin_tui.widgets.status_bar import StatusBar
from engine.model import Mode

from .conftest import T0, FakeEngine, make_snapshot, wait_for


async def test_order_times_and_the_status_bar_name_the_simulated_clock() -> None:
    engine = FakeEngine(make_snapshot(market_ts=T0))
    app = AvinApp(engine, poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(120, 40)) as pilot:
        orders = app.screen.query_one(OrdersTable)
        await wait_for(pilot, lambda: orders.row_count > 0)
        assert "Sim MSK" in orders.render_line(0).text
        bar = app.screen.query_one(StatusBar)
        assert bar.text_of("st-market") == f"sim {msk(T0)}"
        assert msk(T0) in orders.render_line(1).text  # the rows are on that clock
        engine.set(mode=Mode.SANDBOX)
        await wait_for(pilot, lambda: bar.text_of("st-market") == "")
        assert "Sim" not in orders.render_line(0).text and "MSK" in orders.render_line(0).text
