"""The app on the real Engine over SimBroker (fast simulated market)."""

from __future__ import annotations

import pytest

from avin_tui.app import AvinApp
from avin_tui.screens.confirm_quit import ConfirmQuitScreen
from avin_tui.widgets.banner import Banner
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.log_pane import LogPane
from avin_tui.widgets.orders import OrdersTable
from avin_tui.widgets.positions import PositionsTable
from avin_tui.widgets.strategies import StrategiesTable
from engine.model import TimeFrame
from engine.model.snapshot import StrategyState, TradingState
from engine.runtime.engine import Engine

from .conftest import SIZES, resting_limit, wait_for

pytestmark = pytest.mark.slow


def running(engine: Engine) -> bool:
    snap = engine.snapshot()
    # started: history loaded, so a resting limit is priced from a real last close
    return (
        snap.running and bool(snap.instruments) and engine.tasks.loop is not None and engine.started
    )


@pytest.mark.parametrize("size", SIZES)
async def test_live_data_in_all_panes(sim_engine: Engine, size: tuple[int, int]) -> None:
    app = AvinApp(sim_engine, poll_interval=0.1)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        chart = screen.query_one(ChartPane)

        # a frame built from live bars (under a fast feed the next bars may already be newer)
        def candles_drawn() -> bool:
            return any(ch in "".join(s.text for s in chart.rendered_strips) for ch in "█▀▄│")

        await wait_for(pilot, candles_drawn, timeout=20)
        await wait_for(pilot, lambda: screen.query_one(PositionsTable).row_count > 0, timeout=20)
        assert screen.query_one(StrategiesTable).row_count == 3
        assert screen.query_one(OrdersTable).row_count > 0
        assert screen.query_one(LogPane).line_count > 0
        text = "".join(s.text for s in chart.rendered_strips)
        assert any(ch in text for ch in "█▀▄│")
        assert len(chart.rendered_strips) == chart.content_size.height
        assert chart.instrument in sim_engine.snapshot().instruments
        # the timeframe switch asks the engine for other bars
        await pilot.press("right_square_bracket")
        await wait_for(
            pilot, lambda: chart.built_for is not None and chart.built_for[1] is TimeFrame.M5
        )
        await pilot.press("q")
    assert not sim_engine.running


async def test_kill_switch_halts_and_cancels(sim_engine: Engine) -> None:
    app = AvinApp(sim_engine, poll_interval=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: running(sim_engine), timeout=20)
        order = resting_limit(sim_engine)
        orders = app.screen.query_one(OrdersTable)
        await wait_for(pilot, lambda: order.id in orders.shown_rows and order.is_open, timeout=10)
        await wait_for(pilot, lambda: order.status.value == "accepted", timeout=10)
        await pilot.press("ctrl+k")
        # kill only signals: the state is HALTED as soon as the key is handled
        assert sim_engine.snapshot().trading_state is TradingState.HALTED
        assert app.screen.query_one(Banner).shown
        await wait_for(pilot, lambda: not sim_engine.snapshot().open_orders, timeout=10)
        snap = sim_engine.snapshot()
        assert snap.trading_state is TradingState.HALTED
        assert all(s.state != "running" for s in snap.strategies)
        await wait_for(pilot, lambda: "cancelled" in orders.shown_rows[order.id][4].plain)
        assert "HALTED" in app.screen.query_one(Banner).text
        await pilot.press("q")  # nothing open: quits without asking
    assert not sim_engine.running


async def test_quit_asks_with_open_orders_then_stops_the_engine(sim_engine: Engine) -> None:
    app = AvinApp(sim_engine, poll_interval=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: running(sim_engine), timeout=20)
        order = resting_limit(sim_engine)
        await wait_for(pilot, lambda: order.status.value == "accepted", timeout=10)
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmQuitScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, ConfirmQuitScreen)
        assert sim_engine.running
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmQuitScreen)
        await pilot.press("k")  # kill and quit
        await wait_for(pilot, lambda: not sim_engine.running, timeout=10)
    assert order.status.value == "cancelled"
    assert app.return_code == 0


async def test_pause_resume_and_cancel_reach_the_engine(sim_engine: Engine) -> None:
    app = AvinApp(sim_engine, poll_interval=0.1)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: running(sim_engine), timeout=20)
        table = app.screen.query_one(StrategiesTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await pilot.press("s")
        sid = table.selected_key()
        assert sid is not None
        slot = sim_engine.strategy(sid)
        assert slot is not None
        await pilot.press("space")
        assert slot.state is StrategyState.PAUSED
        await wait_for(pilot, lambda: "paused" in table.shown_rows[sid][1].plain)
        await pilot.press("space")
        await wait_for(pilot, lambda: "running" in table.shown_rows[sid][1].plain)
        assert slot.state is StrategyState.RUNNING

        order = resting_limit(sim_engine)
        orders = app.screen.query_one(OrdersTable)
        await wait_for(pilot, lambda: order.status.value == "accepted", timeout=10)
        await wait_for(pilot, lambda: order.id in orders.shown_rows)
        await pilot.press("o")
        orders.move_cursor(row=orders.get_row_index(order.id))
        await pilot.press("x")
        await wait_for(pilot, lambda: order.status.value == "cancelled", timeout=10)
        assert sim_engine.snapshot().trading_state is TradingState.ACTIVE
