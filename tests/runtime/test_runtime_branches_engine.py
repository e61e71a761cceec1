"""The engine's less travelled paths: a snapshot that races a writer, controls that name nothing
or come too early, events that are not for it, strategies that loop, and failures of the broker,
the store or a task that must not take it down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine.broker.base import BarEvent
from engine.broker.sim import SimBroker
from engine.model import Bar, Order, OrderStatus, OrderType, TimeFrame
from engine.model.snapshot import StrategyState, TradingState
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.worklist import StrategySpec
from engine.state.status_store import StatusStore
from engine.strategy import Strategy, StrategyContext, register
from tests.runtime.simkit import START, Driver

OPTIONS = EngineOptions(history_days=1)
SMA = StrategySpec("sma_cross", "SBER", params={"fast": 5, "slow": 20, "lots": 1})


class LastWords(Strategy):
    """Places a limit buy far below the market when it is stopped."""

    name = "test_last_words"

    def on_stop(self, ctx: StrategyContext) -> None:
        last = ctx.chart().last
        assert last is not None
        self.order = ctx.buy(1, price=last.close * 0.8)


register(LastWords)


def _engine(store: Any = None) -> Engine:
    return Engine(SimBroker(seed=7, start=START, realtime=False), [SMA], OPTIONS, store=store)


# --- off the loop ---------------------------------------------------------------------------------


def test_a_snapshot_that_races_a_writer_is_built_again(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine()
    real = engine.snapshots.build
    failures = {"left": 1}

    def racing(version: int) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("dictionary changed size during iteration")
        return real(version)

    monkeypatch.setattr(engine.snapshots, "build", racing)
    first = engine.snapshot()
    assert first.version == engine._current_version()
    engine._touch()
    failures["left"] = 3  # three races in a row: the last good snapshot is shown
    assert engine.snapshot() is first
    engine.snapshots.last = None
    failures["left"] = 3  # and with none yet, a fourth try is made
    assert engine.snapshot().version == engine._current_version()


def test_controls_that_name_nothing_or_come_too_early_change_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = _engine()
    slot = engine.slots[0]
    engine.resume_strategy("nope")
    engine.watch_book("NOPE")
    assert engine.order_book("NOPE") is None and engine.tape("NOPE", 5) == []
    with caplog.at_level(logging.WARNING, "avin.engine"):
        engine.cancel_order("0123456789abcdef")
    assert "cancel of order 01234567: the engine is not running" in caplog.text
    assert slot.state is StrategyState.RUNNING
    engine.request_stop()  # before run: remembered
    assert engine._stop_requested


def test_a_halt_asked_for_as_a_trading_state_is_a_kill() -> None:
    engine = _engine()
    engine.set_trading_state(TradingState.HALTED, "by hand")
    assert engine.trading_state is TradingState.HALTED and engine.halt_reason == "by hand"
    assert engine.slots[0].state is StrategyState.HELD
    engine.set_trading_state(TradingState.ACTIVE)
    engine.set_trading_state(TradingState.HALTED)
    assert engine.halt_reason == "manual"


def test_a_flatten_under_way_holds_the_strategies() -> None:
    engine = _engine()
    assert engine.holds_strategies() == ""
    engine.switch.flatten("test")
    assert engine.holds_strategies() == "flattening"


def test_engine_errors_in_a_storm_halt_trading() -> None:
    engine = _engine()
    event = SimpleNamespace()
    for _ in range(OPTIONS.error_storm - 1):
        engine.kernel.engine_error(event, ValueError("bug"))  # type: ignore[arg-type]
    assert engine.trading_state is TradingState.ACTIVE
    engine.kernel.engine_error(event, ValueError("bug"))  # type: ignore[arg-type]
    assert engine.trading_state is TradingState.HALTED
    assert engine.halt_reason.startswith("engine errors: ")
    assert engine.counters["engine_errors"] == OPTIONS.error_storm


def test_a_broker_that_keeps_its_own_clock_tells_the_market_time() -> None:
    engine = _engine()
    now = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)
    engine.parts.broker = SimpleNamespace(market_time=lambda: now)  # type: ignore[assignment]
    assert engine._market_clock() == now
    # a market clock is declared (MarketClock), never guessed from a `market.now` attribute
    engine.parts.broker = SimpleNamespace(market=SimpleNamespace(now=now))  # type: ignore[assignment]
    assert engine._market_clock() is None
    engine.parts.broker = SimpleNamespace(now=lambda: now)  # type: ignore[assignment]
    assert engine._market_clock() is None


def test_without_a_store_there_is_no_status_to_save() -> None:
    engine = _engine()
    engine.saver.save(final=True)
    assert engine.store is None and engine.saver.persisted is None


# --- on a running engine --------------------------------------------------------------------------


async def test_bars_of_other_timeframes_and_unknown_instruments_are_ignored() -> None:
    async with Driver([SMA], OPTIONS) as d:
        engine = d.engine
        version, market = engine._current_version(), engine.market.now
        bar = Bar(START + timedelta(days=1), 1.0, 1.0, 1.0, 1.0, 1)
        engine.kernel._on_bar_event(BarEvent("MOEX_SHARE_SBER", TimeFrame.H1, bar, True))
        engine.kernel._on_bar_event(BarEvent("MOEX_SHARE_NOPE", TimeFrame.M1, bar, True))
        assert engine._current_version() == version and engine.market.now == market


async def test_a_fill_seen_twice_is_booked_once() -> None:
    plan = {"plan": {"1": 1}}
    async with Driver([StrategySpec("test_script", "SBER", params=plan)], OPTIONS) as d:
        await d.minutes(2)
        engine = d.engine
        (fill,) = engine.book.fills
        fills, position = engine.counters["fills"], dict(engine.book.positions)
        engine.kernel.on_fill(fill)
        assert engine.counters["fills"] == fills and engine.book.positions == position


async def test_orders_placed_from_on_order_in_an_endless_loop_fail_the_strategy() -> None:
    async with Driver([SMA], OPTIONS) as d:
        engine = d.engine
        slot = engine.slots[0]
        slot.ctx.buy(1)  # type: ignore[union-attr]  # queued: dropped with the failure
        engine.host.depth = engine.host.max_depth
        try:
            engine.host.dispatch(slot, "on_start")
        finally:
            engine.host.depth = 0
        assert slot.state is StrategyState.FAILED
        assert "loop endlessly" in slot.error
        assert slot.ctx.take_intents() == []  # type: ignore[union-attr]
        # a row without a context is not called at all
        ctx, slot.ctx = slot.ctx, None
        slot.state = StrategyState.RUNNING
        engine.host.dispatch(slot, "on_start")
        assert slot.state is StrategyState.RUNNING
        slot.ctx = ctx


async def test_resume_of_a_running_strategy_changes_nothing() -> None:
    async with Driver([SMA], OPTIONS) as d:
        slot = d.engine.slots[0]
        version = d.engine._version
        d.engine.resume_strategy(slot.id)
        assert slot.state is StrategyState.RUNNING and d.engine._version == version


async def test_a_watched_book_is_subscribed_only_for_a_known_instrument() -> None:
    async with Driver([SMA], OPTIONS) as d:
        d.engine.watch_book("NOPE", 10)
        d.engine.watch_book("sber", 10)
        await d.settle()
        assert d.engine.market_feed.watched == {"MOEX_SHARE_SBER": 10}


async def test_a_failed_engine_task_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async with Driver([SMA], OPTIONS) as d:

        async def broken() -> None:
            raise LookupError("lost")

        with caplog.at_level(logging.ERROR, "avin.engine"):
            task = d.engine.tasks.spawn(broken(), "broken-task")
            await asyncio.wait([task], timeout=10)
            assert task.done()
            await asyncio.sleep(0)  # the done callback runs on the next turn
        assert "engine task broken-task failed" in caplog.text
        assert task not in d.engine.tasks.tasks


async def test_a_command_store_that_fails_is_logged_and_nothing_changes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = _engine()

    class Broken:
        def take_command(self) -> Any:
            raise OSError("database is locked")

    with caplog.at_level(logging.WARNING, "avin.engine"):
        await engine.controls.take_command(Broken())  # type: ignore[arg-type]
    assert "reading commands from the status store failed: database is locked" in caplog.text
    assert engine.trading_state is TradingState.ACTIVE


async def test_a_stop_requested_before_run_ends_it_after_the_start() -> None:
    engine = _engine()
    engine.request_stop()
    await asyncio.wait_for(engine.run(), 30)
    assert not engine.running and not engine.connected
    assert engine.slots[0].state is StrategyState.STOPPED


async def test_a_failing_event_stream_ends_run_with_its_error() -> None:
    engine = _engine()

    async def events() -> AsyncIterator[Any]:
        raise ConnectionResetError("stream gone")
        yield  # pragma: no cover - makes this an async generator

    engine.broker.events = events  # type: ignore[method-assign]
    with pytest.raises(ConnectionResetError, match="stream gone"):
        await asyncio.wait_for(engine.run(), 30)
    assert not engine.running


async def test_a_broker_that_cannot_close_and_a_final_save_that_fails_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = StatusStore(tmp_path)
    engine = _engine(store)

    async def close() -> None:
        raise OSError("socket already closed")

    saves: list[bool] = []

    def save_status(final: bool = False, captured: object = None) -> None:
        saves.append(final)
        raise OSError("disk full")

    engine.broker.close = close  # type: ignore[method-assign]
    engine.saver.save = save_status  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING):
        await asyncio.wait_for(engine.run(duration=0.01), 30)
    store.close()
    assert "closing the broker failed: socket already closed" in caplog.text
    assert "saving the final status failed: disk full" in caplog.text
    assert True in saves and not engine.running


async def test_a_periodic_save_that_fails_is_logged_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = StatusStore(tmp_path)
    options = EngineOptions(history_days=1, snapshot_interval=0.01, persist_min_gap=0.0)
    engine = Engine(SimBroker(seed=7, start=START, realtime=False), [SMA], options, store=store)
    failures: list[bool] = []

    def save_status(final: bool = False, captured: object = None) -> None:
        if not final:
            failures.append(final)
            raise OSError("disk full")

    engine.saver.save = save_status  # type: ignore[method-assign]
    task = asyncio.create_task(engine.run())
    with caplog.at_level(logging.ERROR, "avin.engine"):
        for _ in range(3000):  # bounded: until the persist loop failed twice
            if len(failures) >= 2 or task.done():
                break
            await asyncio.sleep(0.005)
        engine.request_stop()
        await asyncio.wait_for(task, 30)
    store.close()
    assert len(failures) >= 2, "the persist loop did not run twice"
    assert "saving the engine status failed: disk full" in caplog.text


async def test_an_order_placed_at_on_stop_gets_its_answer_before_the_engine_stops() -> None:
    d = Driver([StrategySpec("test_last_words", "SBER")], OPTIONS)
    async with d:
        await d.minutes(1)
    slot = d.engine.slots[0]
    order = slot.strategy.order  # type: ignore[union-attr]
    assert isinstance(order, Order) and order.type is OrderType.LIMIT
    placed = d.engine.book.orders[order.id]
    assert placed.broker_id and placed.status is OrderStatus.ACCEPTED


class CancelOnBar(Strategy):
    """Rests a limit buy far below the market on start and cancels it on its first closed bar."""

    name = "test_cancel_on_bar"

    def on_start(self, ctx: StrategyContext) -> None:
        last = ctx.chart().last
        assert last is not None
        self.order = ctx.buy(1, price=last.close * 0.8)

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        if self.order.is_open:
            ctx.cancel(self.order)


register(CancelOnBar)


async def test_a_strategy_cancels_its_own_resting_order() -> None:
    async with Driver([StrategySpec("test_cancel_on_bar", "SBER")], OPTIONS) as d:
        strategy = d.engine.slots[0].strategy
        key = strategy.order.id  # type: ignore[union-attr]
        assert d.engine.book.orders[key].status is OrderStatus.ACCEPTED
        for _ in range(5):
            await d.minutes(1)
            if d.engine.book.orders[key].status is OrderStatus.CANCELLED:
                break
        assert d.engine.book.orders[key].status is OrderStatus.CANCELLED
        assert d.engine.book.open_orders() == []
