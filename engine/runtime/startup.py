"""Bringing strategies up: build them, resolve their instruments, fill their charts with history.

Used by the engine at start and by the worklist when a row is added at runtime, so a row added
later gets exactly what a row configured at start gets.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from engine.broker.base import ReplayResume
from engine.model.snapshot import StrategyState
from engine.runtime.history import load_history
from engine.runtime.slots import StrategySlot
from engine.strategy.chart import InstrumentCharts
from engine.strategy.context import StrategyContext
from engine.strategy.registry import build

if TYPE_CHECKING:
    from engine.runtime.engine import Engine

log = logging.getLogger("avin.engine")


def build_strategies(slots: list[StrategySlot]) -> None:
    """Each slot's strategy from its spec; a slot that cannot be built is FAILED with why."""
    for slot in slots:
        spec = slot.spec
        try:
            slot.strategy = build(spec.name, spec.params, spec.timeframe)
        except Exception as exc:
            slot.state = StrategyState.FAILED
            slot.error = f"cannot build: {exc}"
            log.error("strategy %s cannot be built: %s", slot.id, exc)


async def resolve_slot(engine: Engine, slot: StrategySlot) -> None:
    """Find the slot's instrument, create its charts and its strategy context."""
    if slot.strategy is None or slot.state is StrategyState.FAILED:
        return
    try:
        instrument = await engine.broker.find_instrument(slot.spec.instrument)
    except Exception as exc:  # a configuration problem, not an error storm
        slot.state = StrategyState.FAILED
        slot.error = f"unknown instrument {slot.spec.instrument!r}: {exc}"
        log.error("strategy %s cannot start: %s", slot.id, slot.error)
        return
    code = instrument.code
    engine.instruments[code] = instrument
    for alias in (code, instrument.ticker, instrument.uid, instrument.figi):
        if alias:
            engine._aliases[alias.upper()] = code
    charts = engine.charts.get(code)
    if charts is None:
        charts = InstrumentCharts(code, engine.options.chart_depth)
        engine.charts[code] = charts
    for tf in slot.strategy.timeframes:
        charts.get(tf)
    slot.instrument = instrument
    engine.book.bind_strategy(slot.id, code, slot.spec.account)
    slot.ctx = StrategyContext(
        strategy_id=slot.id,
        instrument=instrument,
        account=slot.spec.account,
        timeframe=slot.strategy.timeframe,
        charts=charts,
        book=engine.book,
        clock=lambda: engine._market_ts,
        params=slot.strategy.params,
        logger=logging.getLogger(f"avin.strategy.{slot.id}"),
    )


async def continue_replay(engine: Engine) -> None:
    """A market replayed on its own clock (the simulated one: ``resume_at``) carries on from the
    previous run's market time, so a restart goes on trading where it stopped instead of replaying
    the same session again behind the state it restored (before ``connect``)."""
    broker = engine.broker
    if engine.store is None or not isinstance(broker, ReplayResume):
        return
    try:
        saved = await asyncio.to_thread(engine.store.load_snapshot) or {}
        text = saved.get("market_ts")
        if not text or saved.get("mode") != engine.options.mode.value:
            return
        ts = datetime.fromisoformat(str(text))
        if broker.resume_at(ts):
            log.info("the simulated market carries on from %s", ts.isoformat())
    except Exception as exc:  # a damaged status: the market starts where it would anyway
        log.warning("cannot carry on the previous run's market time: %s", exc)


async def load_chart_history(engine: Engine, codes: list[str]) -> None:
    """``history_days`` sessions of 1-minute bars into the charts of ``codes`` (store first in
    sandbox and live, then the broker); a failure leaves that instrument's charts empty."""
    days = engine.options.history_days
    if days <= 0:
        return
    end = engine._broker_clock() or datetime.now(UTC)
    begin = weekdays_back(end, days)
    for code in codes:
        try:
            bars = await load_history(
                engine.broker,
                engine.instruments[code],
                begin,
                end,
                use_store=engine.options.history_from_store,
            )
        except Exception as exc:
            log.warning("no history for %s: %s", code, exc)
            continue
        charts = engine.charts[code]
        for bar in bars:
            charts.update(bar, True)
        if bars:
            engine._advance_market(bars[-1].ts + timedelta(minutes=1))
        log.info("%s: %d bars of 1-minute history loaded", code, len(bars))


def weekdays_back(end: datetime, days: int) -> datetime:
    """Midnight UTC of the ``days``-th weekday before ``end`` (so ``days`` sessions fit)."""
    day = end.date()
    count = 0
    while count < days:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            count += 1
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
