"""Edges of the small runtime modules: accounts a row names that the broker lacks, charts read
at their borders, log records that cannot be formatted, start-up steps that fail, and the order
book's no-op moves."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from engine.broker.sim import SimBroker
from engine.model import Bar, Order, OrderStatus, OrderType, Side, TimeFrame
from engine.model.order_book import OrderManager
from engine.model.redact import redact, register_secret
from engine.model.snapshot import StrategyState, _plain
from engine.runtime.accounts import resolve_accounts
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.history import load_history
from engine.runtime.logbook import LogBook
from engine.runtime.slots import StrategySlot
from engine.runtime.startup import continue_replay, load_chart_history, resolve_slot
from engine.runtime.worklist import StrategySpec
from engine.state.status_store import StatusStore
from engine.strategy.chart import Chart, InstrumentCharts
from tests.runtime.simkit import START

SBER = "MOEX_SHARE_SBER"


def _bar(minute: int, close: float = 100.0) -> Bar:
    return Bar(START + timedelta(minutes=minute), close, close, close, close, 1)


# --- accounts -------------------------------------------------------------------------------------


async def test_a_row_on_an_account_the_broker_lacks_fails_with_the_accounts_it_has() -> None:
    broker = SimBroker(seed=7, start=START, realtime=False)
    named = StrategySlot("a", StrategySpec("sma_cross", "SBER", account="acc-9"))
    default = StrategySlot("b", StrategySpec("sma_cross", "SBER", account="default"))
    await resolve_accounts(broker, [named, default])
    assert named.state is StrategyState.FAILED
    assert named.error == (
        "account 'acc-9' is not at the broker (accounts: sim-1); fix `account` in the worklist "
        "(`avin broker check` lists them)"
    )
    assert default.state is not StrategyState.FAILED and default.spec.account == "sim-1"


# --- charts ---------------------------------------------------------------------------------------


def test_a_chart_read_at_its_borders() -> None:
    chart = Chart(SBER, TimeFrame.M1, 100)
    for minute in range(3):
        chart.update(_bar(minute, 100 + minute), True)
    chart.update(_bar(3, 200), False)
    assert chart.bar(-1) is None and chart.bar(0) == _bar(3, 200) and chart.bar(4) is None
    assert chart.closed_bars(0) == [] and chart.closes(2) == [101.0, 102.0]
    assert [b.close for b in chart.bars(2)] == [102.0, 200.0]  # the last one in progress
    assert chart.bars(0) == []


def test_a_new_timeframe_is_built_from_the_minutes_held_including_the_one_in_progress() -> None:
    charts = InstrumentCharts(SBER, 100)
    assert charts.timeframes == (TimeFrame.M1,)
    for minute in range(5):
        charts.update(_bar(minute, 100 + minute), True)
    charts.update(_bar(5, 300), False)
    m5 = charts.get(TimeFrame.M5)
    assert charts.timeframes == (TimeFrame.M1, TimeFrame.M5)
    assert m5.last is not None and m5.last.close == 104.0
    assert m5.now is not None and m5.now.close == 300.0


# --- logging --------------------------------------------------------------------------------------


def test_a_record_that_cannot_be_formatted_is_kept_with_its_raw_message() -> None:
    book = LogBook(10)
    bad = logging.LogRecord(
        "avin.x", logging.ERROR, __file__, 1, "%d orders token=abc123", ("x",), None
    )
    book.emit(bad)

    info = (ValueError, ValueError("x"), "not a traceback")  # a handler got a mangled one
    broken = logging.LogRecord(
        "avin.y",
        logging.ERROR,
        __file__,
        1,
        "failed",
        (),
        info,  # type: ignore[arg-type]
    )
    book.emit(broken)
    first, second = book.entries_since(0)
    assert first.message == "%d orders token=***" and first.source == "x"
    assert second.message == "failed" and second.detail == ""


def test_short_secrets_are_not_registered() -> None:
    register_secret("abc")  # too short: masking it would blank ordinary words
    register_secret(None)
    assert redact("abc is here") == "abc is here"
    register_secret("s3cr3t-value")
    assert redact("the s3cr3t-value leaked") == "the *** leaked"


def test_enums_in_a_snapshot_become_their_values() -> None:
    class Colour(Enum):
        RED = "red"

    assert _plain({"c": Colour.RED, "l": (Decimal("1.5"), None)}) == {
        "c": "red",
        "l": ["1.5", None],
    }


# --- start-up -------------------------------------------------------------------------------------


def _engine(store: Any = None, **options: Any) -> Engine:
    broker = SimBroker(seed=7, start=START, realtime=False)
    spec = StrategySpec("sma_cross", "SBER", params={"fast": 5, "slow": 20, "lots": 1})
    return Engine(broker, [spec], EngineOptions(history_days=1, **options), store=store)


async def test_an_instrument_without_a_figi_gets_no_empty_alias() -> None:
    engine = _engine()
    real = engine.broker.find_instrument

    async def no_figi(query: str) -> Any:
        import dataclasses

        return dataclasses.replace(await real(query), figi="")

    engine.broker.find_instrument = no_figi  # type: ignore[method-assign]
    await resolve_slot(engine.parts, engine.slots[0])
    assert "" not in engine.parts.aliases and engine.parts.aliases["SBER"] == SBER


async def test_a_damaged_saved_market_time_is_logged_and_the_market_starts_anew(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with StatusStore(tmp_path) as store:
        store.save_snapshot({"market_ts": "not a time", "mode": "sim"})
        engine = _engine(store)
        resumed: list[datetime] = []
        engine.broker.resume_at = resumed.append  # type: ignore[attr-defined,method-assign]
        with caplog.at_level(logging.WARNING, "avin"):
            await continue_replay(engine.parts)
    assert resumed == []
    assert "cannot carry on the previous run's market time" in caplog.text


async def test_history_that_cannot_be_loaded_leaves_the_chart_empty(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = _engine()
    await resolve_slot(engine.parts, engine.slots[0])

    async def refuse(*args: Any) -> Any:
        raise ConnectionError("candles unavailable")

    engine.broker.candles = refuse  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, "avin"):
        await load_chart_history(engine.parts, [SBER])
    assert f"no history for {SBER}: candles unavailable" in caplog.text
    assert engine.charts[SBER].read(TimeFrame.M1, 10) == []


async def test_an_empty_history_window_asks_the_broker_nothing() -> None:
    engine = _engine()
    await resolve_slot(engine.parts, engine.slots[0])
    asked: list[Any] = []

    async def candles(*args: Any) -> Any:
        asked.append(args)
        return []

    engine.broker.candles = candles  # type: ignore[method-assign]
    now = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
    instrument = engine.instruments[SBER]
    assert await load_history(engine.broker, instrument, now, now, use_store=False) == []
    assert asked == []


# --- the order book -------------------------------------------------------------------------------


def test_the_order_book_leaves_what_it_has_alone() -> None:
    book = OrderManager(lambda code: 10)
    order = Order(SBER, Side.BUY, OrderType.MARKET, 1, "sim-1")
    book.record(order)
    book.mark_submitted(order.id, START)
    version = book.version
    assert book.mark_submitted(order.id, START) is order and book.version == version
    order.transition(OrderStatus.ACCEPTED, START)
    order.transition(OrderStatus.CANCELLED, START)
    book.reject_local(order, "too late", START)  # known and finished: stays cancelled
    assert order.status is OrderStatus.CANCELLED and book.orders[order.id] is order
    # an allocated order that did not fill closes no strategy's position
    book.allocate(order.id, ["s1"])
    book._close_allocated(order, ["s1"])
    assert book.strategy_positions == {}


def test_an_engine_built_for_a_given_broker_uses_that_broker() -> None:
    from engine.config import Settings
    from engine.runtime.launch import build_engine

    broker = SimBroker(seed=3, start=START, realtime=False)
    engine = build_engine(Settings(), broker=broker, persist=False)
    assert engine.broker is broker and engine.store is None


async def test_a_failed_cancel_is_reported_only_while_the_order_is_open(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.runtime.simkit import Driver

    async with Driver([StrategySpec("test_resting", "SBER")], EngineOptions(history_days=1)) as d:
        engine = d.engine
        (order,) = engine.book.open_orders()
        calls: list[str] = []

        async def cancel_fails(account: str, key: str) -> Any:
            calls.append(key)
            raise ConnectionError("cancel refused")

        engine.broker.cancel_order = cancel_fails  # type: ignore[method-assign]
        with caplog.at_level(logging.WARNING, "avin.engine"):
            await engine.router._send_cancel(order)
            assert f"cancel of order {order.id[:8]} failed: cancel refused" in caplog.text
            caplog.clear()
            order.transition(OrderStatus.FILLED, START)  # it filled while the cancel was on its way
            await engine.router._send_cancel(order)
        assert calls == [order.id, order.id] and "failed" not in caplog.text
