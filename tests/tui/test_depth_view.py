"""The chart pane's depth view (key t): the order book and the tape of its instrument, drawn from
the real engine on the simulated market; its state is JSON the workspace can keep."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from avin_tui.app import AvinApp
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.depth import DepthStyles, DepthView
from engine.model import BookLevel, MarketTrade, OrderBook, Side
from engine.runtime.engine import Engine

from .conftest import SIZES, wait_for

pytestmark = pytest.mark.slow


def _text(chart: ChartPane) -> str:
    return "\n".join("".join(seg.text for seg in strip) for strip in chart.rendered_strips)


@pytest.mark.parametrize("size", SIZES)
async def test_t_toggles_the_depth_view_and_back(sim_engine: Engine, size: tuple[int, int]) -> None:
    app = AvinApp(sim_engine, poll_interval=0.1)
    async with app.run_test(size=size) as pilot:
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: sim_engine.started and chart.instrument is not None, 20)
        assert chart.get_state() == {"mode": "chart", "depth": 10}

        await pilot.press("c", "t")  # the chart pane's key (the app binds it everywhere too)
        assert chart.get_state()["mode"] == "depth"
        code = chart.instrument
        assert code is not None
        await wait_for(pilot, lambda: sim_engine.order_book(code) is not None, 20)
        await wait_for(pilot, lambda: "spread" in _text(chart), 20)
        await wait_for(pilot, lambda: " B " in _text(chart) or " S " in _text(chart), 20)
        book = sim_engine.order_book(code)
        assert book is not None and len(book.bids) == 10
        assert len(chart.rendered_strips) == chart.content_size.height
        assert all(s.cell_length == chart.content_size.width for s in chart.rendered_strips)
        assert "depth 10" in str(chart.border_title)
        assert json.loads(json.dumps(chart.get_state())) == {"mode": "depth", "depth": 10}

        await pilot.press("n")  # the next instrument: its book comes instead
        other = chart.instrument
        assert other != code
        await wait_for(pilot, lambda: sim_engine.order_book(other or "") is not None, 20)

        await pilot.press("t")  # candles again
        assert chart.get_state()["mode"] == "chart"
        await wait_for(
            pilot,
            lambda: any(ch in _text(chart) for ch in "█▀▄│") and "spread" not in _text(chart),
            20,
        )
        await pilot.press("q")


async def test_restore_state_switches_the_view_and_ignores_garbage(sim_engine: Engine) -> None:
    app = AvinApp(sim_engine, poll_interval=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: sim_engine.started and chart.instrument is not None, 20)
        chart.restore_state({"mode": "depth", "depth": 20})
        assert chart.get_state() == {"mode": "depth", "depth": 20}
        code = chart.instrument or ""
        await wait_for(
            pilot, lambda: (b := sim_engine.order_book(code)) is not None and b.depth == 20, 20
        )
        for junk in (None, "depth", {"mode": 3}, {"depth": 7}, []):
            chart.restore_state(junk)
            assert chart.get_state()["mode"] in ("chart", "depth")
            assert chart.get_state()["depth"] in (1, 10, 20, 30, 40, 50)
        chart.restore_state({"mode": "chart"})
        assert chart.get_state() == {"mode": "chart", "depth": 10}
        await pilot.press("q")


def _book() -> OrderBook:
    ts = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    return OrderBook(
        "MOEX_SHARE_SBER",
        ts,
        bids=(BookLevel(Decimal("100.00"), 50), BookLevel(Decimal("99.99"), 5)),
        asks=(BookLevel(Decimal("100.01"), 20), BookLevel(Decimal("100.02"), 1)),
        depth=10,
    )


class _Source:
    def __init__(self) -> None:
        ts = datetime(2026, 11, 24, 7, 0, 5, tzinfo=UTC)
        self.trades = [
            MarketTrade(
                "MOEX_SHARE_SBER", ts + timedelta(seconds=i), Decimal("100.01"), i + 1, Side.BUY
            )
            for i in range(3)
        ]

    def order_book(self, instrument: str) -> OrderBook:
        return _book()

    def tape(self, instrument: str, count: int) -> list[MarketTrade]:
        return list(reversed(self.trades))[:count]


@pytest.mark.parametrize("width,height", [(30, 8), (59, 10), (60, 12), (120, 30), (1, 1)])
def test_the_view_fits_any_size(width: int, height: int) -> None:
    view = DepthView()
    assert view.fetch(_Source(), "MOEX_SHARE_SBER", height)
    assert not view.fetch(_Source(), "MOEX_SHARE_SBER", height)  # nothing changed
    strips = view.render(width, height, DepthStyles())
    assert len(strips) == height
    assert all(s.cell_length == width for s in strips)
    text = "\n".join("".join(seg.text for seg in s) for s in strips)
    if width >= 60:
        assert "100.01" in text and "spread 0.01" in text and "10:00:07" in text  # Moscow time


def test_a_source_without_books_says_so() -> None:
    view = DepthView()
    view.fetch(object(), "MOEX_SHARE_SBER", 5)
    text = "".join(seg.text for s in view.render(40, 5, DepthStyles()) for seg in s)
    assert "gives no order book" in text
