"""Chart scroll and zoom: which bars and ZigZag legs are drawn, and the keys that move them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from avin_tui.app import AvinApp
from avin_tui.widgets._zigzag import Leg
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.chart_view import ChartView
from engine.model import Bar

from .conftest import FakeEngine, wait_for

T0 = datetime(2026, 11, 24, 7, tzinfo=UTC)


def bars(n: int) -> list[Bar]:
    return [Bar(T0 + timedelta(minutes=i), i, i + 1, i - 1, i + 0.5, 1) for i in range(n)]


def test_offset_cuts_the_newest_bars_and_their_legs() -> None:
    legs = [Leg(1, 0, 1.0, 5, 6.0, False), Leg(1, 5, 6.0, 9, 2.0, True)]
    shown, kept = ChartView(offset=3).apply(bars(10), legs)
    assert [b.open for b in shown] == list(range(7))
    assert kept == [legs[0]]


def test_zoom_merges_bars_aligned_to_the_newest() -> None:
    legs = [Leg(2, 0, 1.0, 6, 7.0, False), Leg(2, 6, 7.0, 7, 8.0, True)]
    shown, kept = ChartView(per_column=4).apply(bars(10), legs)
    # 10 bars in groups of 4 from the newest: [0,1] [2..5] [6..9]
    assert [(b.open, b.close, b.high, b.low, b.volume) for b in shown] == [
        (0, 1.5, 2, -1, 2),
        (2, 5.5, 6, 1, 4),
        (6, 9.5, 10, 5, 4),
    ]
    assert kept == [Leg(2, 0, 1.0, 2, 7.0, False)]  # a leg inside one column disappears


def test_scroll_stays_inside_the_history_and_zoom_has_levels() -> None:
    view = ChartView().scrolled(1_000, 100)
    assert view.offset == 98  # at least two bars stay on screen
    assert view.scrolled(-5_000, 100).offset == 0
    assert ChartView().zoomed(-1).per_column == 1
    assert ChartView().zoomed(1).zoomed(1).per_column == 4
    assert ChartView(per_column=8).zoomed(1).per_column == 8
    assert ChartView(5, 2).label() == "x2 ◀5" and ChartView().label() == ""


async def test_keys_scroll_zoom_and_follow(fake_engine: FakeEngine) -> None:
    app = AvinApp(fake_engine, poll_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: chart.builds > 0)
        await pilot.press("c", "left")
        assert chart.view.offset > 0
        assert "◀" in str(chart.border_title)
        await pilot.press("minus")
        assert chart.view.per_column == 2 and "x2" in str(chart.border_title)
        await wait_for(
            pilot, lambda: chart.built_for is not None and chart._built_key[-1] == chart.view
        )
        await pilot.press("end", "plus")
        assert chart.view == ChartView()
