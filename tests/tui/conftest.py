"""Fixtures for the terminal app: the real Engine on SimBroker (fast), and a test double."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.config import Settings
from engine.model import Bar, Mode, Order, OrderType, Side, TimeFrame
from engine.model.snapshot import (
    EngineSnapshot,
    OrderRow,
    PositionRow,
    StrategyRow,
    TradingState,
)
from engine.runtime.engine import Engine
from engine.runtime.launch import build_engine
from engine.runtime.logbook import LogBook

FAST = 2_000.0  # simulated seconds per real second

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def logbook() -> Iterator[LogBook]:
    book = LogBook()
    logger = logging.getLogger("avin")
    old_level = logger.level
    logger.addHandler(book)
    logger.setLevel(logging.DEBUG)
    yield book
    logger.removeHandler(book)
    logger.setLevel(old_level)


@pytest.fixture
def sim_engine(logbook: LogBook) -> Engine:
    """The real engine on the simulated market, fast, not persisting."""
    return build_engine(Settings(), speed=FAST, seed=7, logbook=logbook, persist=False)


def on_engine_loop(engine: Engine, fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` on the engine's own loop (it runs in another thread) and return the result."""
    loop = engine.tasks.loop
    assert loop is not None, "the engine is not running"
    if engine.tasks.on_loop:
        return fn(*args)
    result: dict[str, Any] = {}
    ready = threading.Event()

    def call() -> None:
        try:
            result["value"] = fn(*args)
        finally:
            ready.set()

    loop.call_soon_threadsafe(call)
    assert ready.wait(5), "the engine loop did not run the call"
    return result.get("value")


def resting_limit(engine: Engine, instrument: str = "MOEX_SHARE_SBER") -> Order:
    """Submit a buy limit far below the market: it stays open until cancelled."""
    bars = engine.chart(instrument, TimeFrame.M1, 1)
    assert bars, "no bars yet: wait until the engine has started"
    # 15% under the market: far from a fill, inside the default 25% price collar
    price = (Decimal(str(bars[-1].close)) * Decimal("0.85")).quantize(Decimal("0.01"))
    for _ in range(100):
        order = Order(instrument, Side.BUY, OrderType.LIMIT, 1, "sim-1", price=price)
        placed = on_engine_loop(engine, engine.submit, order)
        # a strategy's sell at market may be waiting for its fill: the engine rightly refuses a
        # buy that would meet it (self_trade); that sell fills within a bar, so try again
        if not placed.reason.startswith("self_trade"):
            return placed
        time.sleep(0.05)
    raise AssertionError(f"the resting limit was refused each time: {placed.reason}")


async def wait_for(pilot: Any, predicate: Any, timeout: float = 10.0, step: float = 0.05) -> None:
    """Let the app run until ``predicate()`` holds (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        await pilot.pause(step)


# --- the test double ------------------------------------------------------------------------------

T0 = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def make_bars(n: int = 300, start: float = 300.0) -> list[Bar]:
    import random

    rnd = random.Random(3)
    bars, price = [], start
    for i in range(n):
        o = price
        price = round(max(1.0, price + rnd.gauss(0, 1.5)), 2)  # quoted in kopecks, as on MOEX
        c = price
        bars.append(
            Bar(
                T0 + timedelta(minutes=i),
                o,
                round(max(o, c) + rnd.random(), 2),
                round(min(o, c) - rnd.random(), 2),
                c,
                100 + i,
            )
        )
    return bars


def make_snapshot(version: int = 1, **kw: Any) -> EngineSnapshot:
    base = EngineSnapshot(
        version=version,
        mode=Mode.SIM,
        trading_state=TradingState.ACTIVE,
        running=True,
        connected=True,
        pid=1,
        recovered=False,
        heartbeat_ts=datetime.now(UTC),
        market_ts=T0,
        last_event_ts=T0,
        strategies=(
            StrategyRow(
                "s1", "sma_cross", "MOEX_SHARE_SBER", "sim-1", "running", 2, Decimal("15.5")
            ),
            StrategyRow("s2", "sma_cross", "MOEX_SHARE_GAZP", "sim-1", "paused", 0, Decimal("-3")),
        ),
        orders=(
            OrderRow(
                "aaaaaaaa-1111",
                "MOEX_SHARE_SBER",
                "buy",
                "limit",
                2,
                0,
                Decimal("290.50"),
                "accepted",
                T0,
            ),
            OrderRow(
                "bbbbbbbb-2222",
                "MOEX_SHARE_GAZP",
                "sell",
                "market",
                1,
                1,
                Decimal("130.1"),
                "filled",
                T0,
            ),
        ),
        positions=(
            PositionRow(
                "sim-1",
                "MOEX_SHARE_SBER",
                2,
                Decimal("300"),
                Decimal("301.5"),
                Decimal("30"),
                Decimal("5"),
                Decimal("1"),
            ),
        ),
        instruments=("MOEX_SHARE_SBER", "MOEX_SHARE_GAZP"),
    )
    return replace(base, **kw)


class FakeEngine:
    """A test double of the engine: fixed data, records every command."""

    def __init__(
        self, snapshot: EngineSnapshot | None = None, fail: bool = False, store: Any = None
    ) -> None:
        self.store = store  # a state store: the app keeps its workspace there
        self.snap = snapshot or make_snapshot()
        self.calls: list[tuple[str, Any]] = []
        self.bars = {
            code: make_bars(start=300 if "SBER" in code else 130)
            for code in ("MOEX_SHARE_SBER", "MOEX_SHARE_GAZP")
        }
        self.logbook = LogBook()
        self.fail = fail
        self._stop = threading.Event()
        for i, level in enumerate(("INFO", "WARNING", "ERROR", "DEBUG")):
            self.logbook.emit(
                logging.LogRecord(
                    "avin.test", getattr(logging, level), __file__, 1, f"message {i}", None, None
                )
            )

    def snapshot(self) -> EngineSnapshot:
        return self.snap

    def set(self, **kw: Any) -> None:
        self.snap = replace(self.snap, version=self.snap.version + 1, **kw)

    def chart(self, instrument: str, timeframe: TimeFrame, count: int) -> list[Bar]:
        self.calls.append(("chart", (instrument, timeframe)))
        return self.bars.get(instrument, [])[-count:]

    def pause_strategy(self, strategy_id: str) -> None:
        self.calls.append(("pause", strategy_id))

    def resume_strategy(self, strategy_id: str) -> None:
        self.calls.append(("resume", strategy_id))

    def cancel_order(self, order_key: str) -> None:
        self.calls.append(("cancel", order_key))

    def kill(self, reason: str = "manual") -> None:
        self.calls.append(("kill", reason))
        self.set(trading_state=TradingState.HALTED)

    async def run(self, duration: float | None = None) -> None:
        if self.fail:
            raise RuntimeError("boom: broker exploded")
        while not self._stop.is_set():
            await asyncio.sleep(0.02)

    def request_stop(self) -> None:
        self.calls.append(("stop", None))
        self._stop.set()


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()
