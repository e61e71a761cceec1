"""Cancelling: a cancel asked for before the next market event wins on the simulated market
(issue 13, defect 2), and ``x`` on any order acts or says in the log why not."""

from __future__ import annotations

import logging

import pytest

from engine.model import OrderStatus
from engine.runtime.worklist import StrategySpec

from .simkit import Driver


@pytest.fixture(autouse=True)
def _avin_logs_reach_caplog(monkeypatch: pytest.MonkeyPatch) -> None:
    """``setup_logging`` (run by other tests in this process) stops ``avin`` propagating."""
    monkeypatch.setattr(logging.getLogger("avin"), "propagate", True)


BUY_AT_BAR_2 = StrategySpec("test_script", "SBER", params={"plan": {"2": 1}})


async def working_market_order(d: Driver) -> str:
    """Step slot by slot until the strategy's market buy is accepted and waits for a price."""
    for _ in range(7 * 5):
        d.broker.step()
        await d.settle()
        orders = list(d.engine.book.orders.values())
        if orders:
            (order,) = orders
            assert order.status is OrderStatus.ACCEPTED
            return order.id
    raise AssertionError("the strategy placed no order")


async def test_a_kill_before_the_next_market_event_cancels_instead_of_filling() -> None:
    async with Driver([BUY_AT_BAR_2]) as d:
        key = await working_market_order(d)
        d.engine.kill("test: cancel all and quit")
        d.broker.step()  # the next price arrives before the cancel request ran
        await d.settle()
        order = d.engine.book.orders[key]
        assert order.status is OrderStatus.CANCELLED, (order.status, order.reason)
        assert d.broker._orders[key].status is OrderStatus.CANCELLED
        assert not d.engine.book.fills
        assert await d.broker.positions("sim-1") == []
    # the stop found nothing that raced it
    assert d.engine.counters["fills"] == 0


async def test_x_on_a_working_order_cancels_it_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with Driver([BUY_AT_BAR_2]) as d:
        key = await working_market_order(d)
        with caplog.at_level(logging.INFO, "avin.engine"):
            d.engine.cancel_order(key)
            d.broker.step()
            await d.settle()
        assert d.engine.book.orders[key].status is OrderStatus.CANCELLED
        assert any(f"cancelling order {key[:8]}" in r.getMessage() for r in caplog.records)


async def test_x_on_a_finished_or_unknown_order_says_why_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with Driver([BUY_AT_BAR_2]) as d:
        key = await working_market_order(d)
        await d.minutes(1)
        assert d.engine.book.orders[key].status is OrderStatus.FILLED
        with caplog.at_level(logging.INFO, "avin.engine"):
            d.engine.cancel_order(key)
            d.engine.cancel_order("no-such-order")
            await d.settle()
        text = "\n".join(r.getMessage() for r in caplog.records)
        assert f"order {key[:8]} is filled: nothing to cancel" in text
        assert "no order no-such-" in text


async def test_x_on_an_order_whose_fill_was_lost_books_the_fill(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The broker filled it but the fill never reached the engine (a stuck ``accepted`` row):
    the cancel's answer says filled, so the fill is booked and the order leaves the open list."""
    async with Driver([BUY_AT_BAR_2]) as d:
        key = await working_market_order(d)
        d.broker.step()  # fills at the broker ...
        lost = d.broker.drain()  # ... and the events are lost on the way
        assert any(type(e).__name__ == "FillEvent" for e in lost)
        assert d.engine.book.orders[key].status is OrderStatus.ACCEPTED
        with caplog.at_level(logging.INFO, "avin.engine"):
            d.engine.cancel_order(key)
            await d.settle()
        order = d.engine.book.orders[key]
        assert order.status is OrderStatus.FILLED and order.filled_lots == 1
        assert d.engine.book.positions[("sim-1", "MOEX_SHARE_SBER")].lots == 1
        assert d.engine.book.strategy_positions[BUY_AT_BAR_2_ID].lots == 1
        assert not d.engine.book.open_orders()
        text = "\n".join(r.getMessage() for r in caplog.records)
        assert f"cancel of order {key[:8]} came too late: the broker has it filled" in text
        for event in lost:  # should they arrive after all, nothing is booked twice
            d.broker._emit(event)
        await d.settle()
        assert d.engine.book.positions[("sim-1", "MOEX_SHARE_SBER")].lots == 1


BUY_AT_BAR_2_ID = "test_script:SBER:sim-1"
