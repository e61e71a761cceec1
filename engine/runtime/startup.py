"""Bringing strategies up: build them, resolve their instruments, fill their charts with history.

Used by the engine at start and by the worklist when a row is added at runtime, so a row added
later gets exactly what a row configured at start gets.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime, timedelta

from engine.broker.base import ReplayResume, UnknownInstrument
from engine.model import Instrument, TimeFrame
from engine.model.incidents import incident
from engine.model.snapshot import StrategyState
from engine.risk.switch import TradingSwitch
from engine.runtime.history import load_history
from engine.runtime.market_feed import MarketFeed
from engine.runtime.parts import EngineParts
from engine.runtime.slots import StrategySlot
from engine.state.status_store import StatusStore
from engine.strategy.chart import InstrumentCharts
from engine.strategy.context import StrategyContext
from engine.strategy.registry import build

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


async def resolve_slot(parts: EngineParts, slot: StrategySlot) -> None:
    """Find the slot's instrument, create its charts and its strategy context."""
    if slot.strategy is None or slot.state is StrategyState.FAILED:
        return
    try:
        instrument = await parts.broker.find_instrument(slot.spec.instrument)
    except Exception as exc:  # a configuration problem, not an error storm
        slot.state = StrategyState.FAILED
        # the broker's own words name the instrument (and what it trades); anything else is not
        # "unknown" but could not be asked
        slot.error = (
            str(exc)
            if isinstance(exc, UnknownInstrument)
            else f"the instrument {slot.spec.instrument!r} could not be looked up: {exc}"
        )
        log.error("strategy %s cannot start: %s", slot.id, slot.error)
        return
    code = instrument.code
    parts.instruments[code] = instrument
    for alias in (code, instrument.ticker, instrument.uid, instrument.figi):
        if alias:
            parts.aliases[alias.upper()] = code
    charts = parts.charts.get(code)
    if charts is None:
        charts = InstrumentCharts(code, parts.options.chart_depth)
        parts.charts[code] = charts
    for tf in slot.strategy.timeframes:
        charts.get(tf)
    slot.instrument = instrument
    parts.book.bind_strategy(slot.id, code, slot.spec.account)
    slot.ctx = StrategyContext(
        strategy_id=slot.id,
        instrument=instrument,
        account=slot.spec.account,
        timeframe=slot.strategy.timeframe,
        charts=charts,
        book=parts.book,
        clock=parts.market,
        params=slot.strategy.params,
        logger=logging.getLogger(f"avin.strategy.{slot.id}"),
    )


async def continue_replay(parts: EngineParts) -> None:
    """A market replayed on its own clock (the simulated one: ``resume_at``) carries on from the
    previous run's market time, so a restart goes on trading where it stopped instead of replaying
    the same session again behind the state it restored (before ``connect``)."""
    broker, store = parts.broker, parts.store
    if store is None or not isinstance(broker, ReplayResume):
        return
    try:
        saved = await asyncio.to_thread(store.load_snapshot) or {}
        text = saved.get("market_ts")
        if not text or saved.get("mode") != parts.options.mode.value:
            return
        ts = datetime.fromisoformat(str(text))
        if broker.resume_at(ts):
            log.info("the simulated market carries on from %s", ts.isoformat())
    except Exception as exc:  # a damaged status: the market starts where it would anyway
        log.warning("cannot carry on the previous run's market time: %s", exc)


async def load_chart_history(parts: EngineParts, codes: list[str]) -> None:
    """``history_days`` sessions of 1-minute bars into the charts of ``codes`` (store first in
    sandbox and live, then the broker); a failure leaves that instrument's charts empty."""
    days = parts.options.history_days
    if days <= 0:
        return
    end = parts.broker_clock() or datetime.now(UTC)
    begin = weekdays_back(end, days)
    for code in codes:
        try:
            bars = await load_history(
                parts.broker,
                parts.instruments[code],
                begin,
                end,
                use_store=parts.options.history_from_store,
            )
        except Exception as exc:
            log.warning("no history for %s: %s", code, exc)
            continue
        charts = parts.charts[code]
        for bar in bars:
            charts.update(bar, True)
        if bars:
            parts.market.advance(bars[-1].ts + timedelta(minutes=1))
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


async def begin_run(store: StatusStore, switch: TradingSwitch) -> bool:
    """Mark the run in the status store and take back the trading state the last run latched;
    True when the last run did not stop cleanly (recovery says what it repaired)."""
    start = await asyncio.to_thread(store.begin_run, os.getpid())
    if start.recovered and start.previous is not None:
        log.warning(
            "the previous run (pid %d, started %s) did not shut down cleanly: recovered",
            start.previous.pid,
            start.previous.start_ts,
        )
        incident("previous run crashed", pid=start.previous.pid)
    switch.restore(start.trading_state, start.halt_reason)
    return start.recovered


async def subscribe(parts: EngineParts, instruments: list[Instrument], feed: MarketFeed) -> None:
    """Bars and prices of ``instruments`` from the broker, and their tape (book if watched)."""
    for instrument in instruments:
        await parts.broker.subscribe_bars(instrument, TimeFrame.M1)
        await parts.broker.subscribe_prices(instrument)
    await feed.start(instruments)


async def bring_up(parts: EngineParts, slot: StrategySlot, feed: MarketFeed) -> None:
    """A row added at runtime gets what a row configured at start gets: its instrument and
    context, and for an instrument not charted yet its history and subscriptions."""
    known = set(parts.charts)
    await resolve_slot(parts, slot)
    if slot.ctx is None or slot.instrument is None:
        return
    if slot.instrument.code not in known:
        await load_chart_history(parts, [slot.instrument.code])
        await subscribe(parts, [slot.instrument], feed)
