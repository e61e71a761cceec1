"""The UI under a fast engine: changes are pulled and applied at the poll rate, never one by one.

Each test drives many engine changes (from another thread, as the engine does) and checks that the
panes were refreshed a bounded number of times, touched only what changed, and show the latest
state; and that the kill key acts before UI work already queued. No timing assertions: counts.
"""

from __future__ import annotations

import asyncio
import threading
import time
import types
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from avin_tui.app import AvinApp
from avin_tui.widgets.banner import Banner
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.log_pane import LogPane
from avin_tui.widgets.orders import OrdersTable
from avin_tui.widgets.positions import PositionsTable, position_key
from avin_tui.widgets.strategies import StrategiesTable
from engine.model import Bar, TimeFrame
from engine.model.snapshot import OrderRow

from .conftest import T0, FakeEngine, make_snapshot, wait_for

POLL = 0.1


def app_for(engine: Any) -> AvinApp:
    return AvinApp(engine, poll_interval=POLL, persist_layout=False)


def run_feed(changes: int, change: Any, pause: float = 0.0005) -> threading.Thread:
    """``change(i)`` for i = 1..changes on another thread (the engine's), about 2,000 a second."""

    def feed() -> None:
        for i in range(1, changes + 1):
            change(i)
            time.sleep(pause)

    thread = threading.Thread(target=feed, name="fake-engine-feed", daemon=True)
    thread.start()
    return thread


async def until_done(pilot: Any, thread: threading.Thread) -> None:
    while thread.is_alive():
        await pilot.pause(0.05)
    await pilot.pause(3 * POLL)  # the last change is applied by the next poll


async def test_a_fast_feed_is_applied_per_poll_and_the_pane_shows_the_latest() -> None:
    engine = FakeEngine()
    app = app_for(engine)
    async with app.run_test(size=(160, 48)) as pilot:
        positions = app.screen.query_one(PositionsTable)
        await wait_for(pilot, lambda: positions.row_count == 1)
        await pilot.pause(0.2)
        applied, rendered = app.feed.applied_count, positions.rows_rendered
        base = engine.snap.positions[0]
        changes = 1_000

        def change(i: int) -> None:
            last = Decimal(300) + Decimal(i) / 100
            engine.set(positions=(replace(base, last_price=last),))

        ticks = app.feed.ticks
        await until_done(pilot, run_feed(changes, change))
        polls = app.feed.ticks - ticks  # the polls that really ran (counted, not timed)
        applied_now = app.feed.applied_count - applied
        # one application per poll that saw a new version, never one per change
        assert 1 <= applied_now <= polls + 2
        assert applied_now < changes / 10
        # each application repaints the changed row (and the cursor's), not every row per change
        assert positions.rows_rendered - rendered <= 3 * applied_now + 3
        # and the pane shows the latest state, on screen
        key = position_key(base)
        assert positions.shown_rows[key][7].plain.strip() == "310.00"
        assert "310.00" in positions.render_line(1).text


async def test_a_changed_cell_repaints_only_its_row() -> None:
    def order(i: int, status: str = "filled") -> OrderRow:
        return OrderRow(
            f"{i:08d}-key", "MOEX_SHARE_SBER", "buy", "limit", 1, 1, Decimal(300), status, T0
        )

    engine = FakeEngine(make_snapshot(orders=tuple(order(i) for i in range(30))))
    app = app_for(engine)
    async with app.run_test(size=(160, 48)) as pilot:
        orders = app.screen.query_one(OrdersTable)
        await wait_for(pilot, lambda: orders.row_count == 30)
        await pilot.pause(0.3)
        rows, cells = orders.rows_rendered, orders.cell_updates
        rows_now = list(engine.snap.orders)
        rows_now[-2] = replace(rows_now[-2], price=Decimal("301.50"))  # a row on screen
        engine.set(orders=tuple(rows_now))
        await wait_for(pilot, lambda: "301.50" in orders.shown_rows[rows_now[-2].key][3].plain)
        await pilot.pause(0.3)
        assert orders.cell_updates - cells == 1  # the price cell, nothing else
        # its row's line is rendered again, not the 30 rows (Textual's DataTable re-renders all
        # visible cells on any update_cell)
        assert 1 <= orders.rows_rendered - rows <= 2
        assert any("301.50" in orders.render_line(y).text for y in range(orders.size.height))


async def test_log_lines_are_written_in_batches_and_the_view_is_bounded() -> None:
    import logging

    engine = FakeEngine()
    app = app_for(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.screen.query_one(LogPane)
        await wait_for(pilot, lambda: log.line_count == 3)
        batches = log.batches

        def emit(i: int) -> None:
            for j in range(10):  # bursts of ten records, as an order's life writes several
                record = logging.LogRecord(
                    "avin.test", logging.INFO, __file__, 1, f"record {i}.{j}", None, None
                )
                engine.logbook.emit(record)

        ticks = app.feed.ticks
        await until_done(pilot, run_feed(800, emit))  # 8,000 records
        polls = app.feed.ticks - ticks  # the polls that really ran (counted, not timed)
        written = log.batches - batches
        assert 1 <= written <= polls + 2  # one write per poll, never one per record
        assert log.line_count <= log.max_lines  # type: ignore[operator]
        assert log.lines[-1].endswith("record 800.9")  # the newest is shown


async def test_new_bars_rebuild_the_chart_at_a_bounded_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import avin_tui.widgets.chart as chart_module

    now = [1000.0]  # the chart's clock, moved by the test only
    monkeypatch.setattr(chart_module, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    engine = FakeEngine()
    bars = engine.bars["MOEX_SHARE_SBER"]
    app = AvinApp(engine, poll_interval=0.02, persist_layout=False)  # the chart polled often
    async with app.run_test(size=(100, 30)) as pilot:
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: chart.showing_bars)
        builds = chart.builds
        ticks = app.feed.ticks

        def tick(i: int) -> None:  # the last bar changes on every event, a new one now and then
            last = bars[-1]
            close = last.close + (0.01 if i % 2 else -0.01)
            bars[-1] = replace(last, close=close, high=max(last.high, close))
            if i % 200 == 0:
                ts = last.ts + timedelta(minutes=1)
                bars.append(Bar(ts, close, close + 0.5, close - 0.5, close, 10))

        await until_done(pilot, run_feed(1_500, tick))
        # the chart's clock stood still: new bars alone never rebuilt it, however many polls
        assert app.feed.ticks - ticks > 10 and chart.builds == builds
        now[0] += chart.min_rebuild_interval  # one interval later: one rebuild, of the newest
        await wait_for(pilot, lambda: chart.builds > builds)
        await pilot.pause(0.2)
        rebuilt = chart.builds - builds
        assert rebuilt == 1
        await wait_for(pilot, lambda: chart.showing_bars)  # the frame is of the newest bars
        assert chart.bars[-1] == bars[-1]


async def test_the_kill_switch_does_not_move_the_panes_then_the_banner_covers_nothing() -> None:
    engine = FakeEngine()
    app = app_for(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        kinds = (StrategiesTable, ChartPane, LogPane)
        panes = [app.screen.query_one(w).region for w in kinds]
        banner = app.screen.query_one(Banner)
        banner.reveal_delay = 60.0  # the kill path, held open: no layout while it runs
        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: banner.shown and "HALTED" in banner.text)
        await pilot.pause(0.1)
        assert [app.screen.query_one(w).region for w in kinds] == panes
        assert not banner.revealed
        # then the banner takes its own line(s): every pane's top border (title, timeframe)
        # and its column headers stay in view
        long = "TRADING HALTED (" + "a very long reason that wraps " * 5 + ")"
        banner.show_message(long)
        banner.reveal()
        await wait_for(pilot, lambda: banner.region.height > 1)
        after = [app.screen.query_one(w).region for w in kinds]
        for region in after:
            assert not region.overlaps(banner.region)
        assert after[0].y == banner.region.bottom  # the panes start right under it
        chart = app.screen.query_one(ChartPane)
        top = chart.region.y  # the border row with the instrument and the timeframe
        assert app.screen.get_widget_at(chart.region.x + 3, top)[0] is chart


async def test_the_kill_key_acts_before_ui_work_already_queued() -> None:
    engine = FakeEngine()
    app = app_for(engine)
    order: list[str] = []
    real_kill = engine.kill

    def kill(reason: str = "manual") -> None:
        order.append("kill")
        real_kill(reason)

    engine.kill = kill  # type: ignore[method-assign]

    async def slow_job() -> None:  # UI work ahead of the key in the App's queue (it yields)
        order.append("job starts")
        await asyncio.sleep(0.5)
        order.append("job ends")

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        app.call_later(slow_job)
        await asyncio.sleep(0.05)  # (pilot.pause would wait for the App's queue to drain)
        assert order == ["job starts"]
        await pilot.press("ctrl+k")
        banner = app.screen.query_one(Banner)
        await wait_for(pilot, lambda: banner.shown and "job ends" in order)
        # the engine was told before the queued job ended, and only once (the binding that runs
        # after the job only shows the banner)
        assert order == ["job starts", "kill", "job ends"]
        assert app.kill_switch.fast_kills == 0


async def test_clicking_a_row_moves_the_cursor_and_the_chart_follows() -> None:
    engine = FakeEngine()
    app = app_for(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(StrategiesTable)
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: table.row_count == 2 and chart.instrument is not None)
        assert chart.instrument == "MOEX_SHARE_SBER"
        await pilot.click(StrategiesTable, offset=(4, 3))  # border, header, then the 2nd row
        assert table.selected_key() == "s2"
        assert chart.instrument == "MOEX_SHARE_GAZP"
        await pilot.press("up")
        assert table.selected_key() == "s1" and chart.instrument == "MOEX_SHARE_SBER"
        await pilot.press("end")
        assert table.cursor_row == 1
        assert chart.timeframe is TimeFrame.M1


def test_painted_lines_are_freed_without_the_cycle_collector() -> None:
    """A line the compositor divides at its own length must not keep itself alive (a cycle)."""
    import gc

    from rich.segment import Segment
    from textual.strip import Strip

    from avin_tui import _strip_cycles

    assert _strip_cycles.install()
    strip = Strip([Segment("abc"), Segment("def")], 6)
    assert list(strip.divide([6])) == [strip]
    assert strip.crop_extend(0, 6, None) is strip
    assert [s.text for s in strip.divide([2, 6])] == ["ab", "cdef"]  # real cuts still cut
    assert strip.crop_extend(1, 8, None).text == "bcdef  "
    gc.collect()
    gc.disable()
    try:
        for i in range(100):  # lines painted, then repainted: dropped
            line = Strip([Segment(f"line {i}"), Segment(" tail")])
            line.divide([line.cell_length])
            line.crop_extend(0, line.cell_length, None)
            del line
        assert gc.collect() == 0  # nothing was left for the cycle collector
    finally:
        gc.enable()


async def test_the_heap_is_settled_once_the_engine_trades_and_restored_at_exit() -> None:
    import gc
    import sys

    engine = FakeEngine()
    app = app_for(engine)
    app.heap.GC_SETTLE = 0.0
    thresholds, switch = gc.get_threshold(), sys.getswitchinterval()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.heap.frozen >= 1)
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[2] >= app.heap.GC_FULL_EVERY
        assert sys.getswitchinterval() <= app.heap.SWITCH_INTERVAL
        await wait_for(pilot, lambda: app.heap.mark[1] >= 0)  # settled: waits for a full pass
        gc.collect()  # the full collection after which the settled heap is frozen again
        await wait_for(pilot, lambda: app.heap.frozen >= 2)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds
    assert sys.getswitchinterval() == switch
