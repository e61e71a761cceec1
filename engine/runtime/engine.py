"""The trading engine: broker events -> charts -> strategies -> orders -> broker.

A kernel plus a loop. One asyncio task consumes ``broker.events()`` and hands each event to the
:class:`~engine.runtime.kernel.Kernel` (charts, positions, strategy hooks, orders). The rest are
components given the parts they need (callables, :class:`~engine.runtime.parts.EngineParts`),
never the engine: the risk desk, the control API (:mod:`engine.runtime.controls`), the worklist,
the state keeper and recovery, the status saver, the order router and the strategy host. The
outside world (TUI, headless mode, ``avin status``) uses the
:class:`~engine.model.snapshot.EngineControl` methods: synchronous, they return at once and may
be called from another thread (work that needs the loop is handed to it).

Kill switch: the trading state has one owner, :class:`~engine.risk.switch.TradingSwitch`.
:meth:`Engine.kill` halts it, which holds every running strategy, and schedules the cancel of
every open order. While HALTED no order is sent (rejected locally). It trips by itself on an
error storm. HALTED is persisted and latched: it survives a restart until
:meth:`Engine.resume_trading` clears it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from engine.broker.base import Broker, market_clock
from engine.config import RiskSettings
from engine.model import Bar, MarketTrade, Order, OrderBook, TimeFrame
from engine.model.order_book import OrderManager
from engine.model.snapshot import EngineSnapshot, StrategyState, TradingState
from engine.risk.switch import TradingSwitch
from engine.runtime.accounts import resolve_accounts
from engine.runtime.factory import EngineHooks, wire
from engine.runtime.parts import EngineOptions, EngineParts
from engine.runtime.recovery import restore, settle_open_orders
from engine.runtime.rows import order_rows, position_rows, strategy_row
from engine.runtime.slots import SlotTable, StrategySlot, slot_ids
from engine.runtime.startup import (
    begin_run,
    build_strategies,
    continue_replay,
    load_chart_history,
    resolve_slot,
    subscribe,
)
from engine.runtime.worklist import SpecCheck, StrategySpec
from engine.state.status_store import StatusStore

__all__ = ["Engine", "EngineOptions"]

CONSUME_SLICE = 0.002  # seconds of event handling before the loop runs other work
log = logging.getLogger("avin.engine")


class Engine:
    """The robot. ``await engine.run(duration)``; control it with the EngineControl methods."""

    def __init__(
        self,
        broker: Broker,
        worklist: Sequence[StrategySpec],
        options: EngineOptions | None = None,
        *,
        store: StatusStore | None = None,
        logbook: Any = None,
        risk: RiskSettings | None = None,
    ) -> None:
        self.options = options = options or EngineOptions()
        self.store = store
        self.logbook = logbook  # the LogBook the UI reads (engine.runtime.logbook), if any
        specs = list(worklist)
        self.parts = parts = EngineParts(
            broker,
            store,
            options,
            OrderManager(lambda code: parts.lot_size(code)),
            SlotTable(StrategySlot(i, s) for i, s in zip(slot_ids(specs), specs, strict=True)),
            TradingSwitch(),  # the trading state, its reason and latch (engine.risk.switch)
            counters={
                "events": 0,
                "orders_sent": 0,
                "orders_rejected": 0,
                "fills": 0,
                "strategy_errors": 0,
            },
            changed=self._significant,
            own_clock=self._market_clock,
            broker_clock=self._broker_clock,
        )
        self.book, self.switch, self.market = parts.book, parts.switch, parts.market
        self.charts, self.instruments = parts.charts, parts.instruments
        self.counters = parts.counters
        self.recovered = False
        # the order keys start-up recovery brought back (None until it is over): the UI
        # announces only the rejections of this run
        self.restored_orders: frozenset[str] | None = None
        self.started = False  # history loaded, subscribed, strategies started
        self._version = 0
        self._heartbeat: datetime | None = None
        self._heartbeat_mono = 0.0
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        hooks = EngineHooks(
            kill=self.kill,
            touch=self._touch,
            significant=self._significant,
            market_clock=lambda: self._market_clock(),  # looked up per call (tests replace it)
            running=lambda: self.running,
            connected=lambda: self.connected,
            started=lambda: self.started,
            version=self._current_version,
            build_snapshot=self._build_snapshot,
            snapshot=lambda: self.snapshot(),
        )
        c = wire(parts, risk, hooks)  # the components (engine.runtime.factory)
        self.tasks, self.keeper, self.market_feed = c.tasks, c.keeper, c.market_feed
        self.kernel, self.router, self.host = c.kernel, c.kernel.router, c.kernel.host
        self.budgets, self.risk, self.worklist = c.budgets, c.risk, c.worklist
        self.controls, self.snapshots, self.saver = c.controls, c.snapshots, c.saver
        build_strategies(self.slots)

    @property
    def broker(self) -> Broker:
        return self.parts.broker

    @property
    def slots(self) -> list[StrategySlot]:
        """The strategy rows in worklist order (a new list after each change)."""
        return self.parts.slots.all

    @property
    def running(self) -> bool:
        return self.tasks.open

    @property
    def connected(self) -> bool:
        return self.kernel.connected

    @property
    def trading_state(self) -> TradingState:
        return self.switch.state

    @property
    def halt_reason(self) -> str:
        """Why trading is HALTED or REDUCING (empty when ACTIVE)."""
        return self.switch.reason

    # ==========================================================================================
    # EngineControl: synchronous, non-blocking, callable from any thread
    # ==========================================================================================

    def snapshot(self) -> EngineSnapshot:
        return self.snapshots.get()

    def chart(self, instrument: str, timeframe: TimeFrame, count: int) -> list[Bar]:
        code = self.parts.code_of(instrument)
        charts = self.charts.get(code) if code else None
        if charts is None or count <= 0:
            return []
        return charts.read(timeframe, count)

    def order_book(self, instrument: str) -> OrderBook | None:
        """The newest order book of ``instrument`` (after :meth:`watch_book`), or None."""
        code = self.parts.code_of(instrument)
        return self.market_feed.book(code) if code else None

    def tape(self, instrument: str, count: int) -> list[MarketTrade]:
        """The newest ``count`` trades on the tape of ``instrument``, newest first."""
        code = self.parts.code_of(instrument)
        return self.market_feed.tape(code, count) if code else []

    def watch_book(self, instrument: str, depth: int = 10) -> None:
        """Keep the order book of ``instrument`` streaming (depth 0: stop); thread-safe."""
        code = self.parts.code_of(instrument)
        if code is not None:
            feed, tasks = self.market_feed, self.tasks
            tasks.in_loop(lambda: tasks.spawn(feed.watch(code, depth), "book"))

    def cancel_order(self, order_key: str) -> None:
        """The user's cancel (``x``): acted on, or the log says why not."""
        if not self.running:
            log.warning("cancel of order %s: the engine is not running", order_key[:8])
        self.tasks.in_loop(lambda: self.router.cancel(order_key, asked=True))

    # the kill switch and strategies by hand (engine.runtime.controls.TradingControls)

    def kill(self, reason: str = "manual") -> None:
        self.controls.kill(reason)

    def set_trading_state(self, state: TradingState, reason: str = "") -> None:
        self.controls.set_trading_state(state, reason)

    def flatten(self, reason: str = "manual") -> None:
        self.controls.flatten(reason)

    def reduce(self, reason: str = "manual") -> None:
        self.controls.reduce(reason)

    def resume_trading(self, reason: str = "") -> None:
        self.controls.resume_trading(reason)

    def holds_strategies(self) -> str:
        """What holds the strategies now: "halted", "flattening", or "" when nothing does."""
        return self.switch.holds()

    def pause_strategy(self, strategy_id: str) -> None:
        self.controls.pause_strategy(strategy_id)

    def resume_strategy(self, strategy_id: str) -> None:
        self.controls.resume_strategy(strategy_id)

    # the worklist at runtime (engine.runtime.worklist_manager.WorklistManager)

    def add_strategy(self, spec: StrategySpec) -> str:
        return self.worklist.add(spec)

    def remove_strategy(self, strategy_id: str) -> None:
        self.worklist.remove(strategy_id)

    def stop_strategy(self, strategy_id: str) -> None:
        self.worklist.stop(strategy_id)

    def start_strategy(self, strategy_id: str) -> None:
        self.worklist.start(strategy_id)

    def check_strategy(self, spec: StrategySpec) -> SpecCheck:
        """Whether ``spec`` may be added (errors, warnings); asks the broker (thread-safe)."""
        return self.worklist.check(spec)

    def close_strategy_position(self, strategy_id: str) -> int:
        """Pause the row and close its position at market; returns the lots being closed."""
        return self.worklist.close_position(strategy_id)

    def save_workspace(self, data: dict[str, Any]) -> None:
        """Keep the UI's workspace (opaque, JSON-able); it comes back after a restart."""
        self.keeper.save_workspace(data)

    def workspace(self) -> dict[str, Any]:
        """The workspace saved last (restored from the store on start), or {}."""
        return self.keeper.workspace()

    def request_stop(self) -> None:
        """Ask :meth:`run` to finish (thread-safe, signal-handler safe)."""
        self._stop_requested = True
        stop = self._stop
        if stop is not None:
            self.tasks.in_loop(stop.set)

    def strategy(self, strategy_id: str) -> StrategySlot | None:
        return self.parts.slots.get(strategy_id)

    @property
    def pending_requests(self) -> int:
        """Order posts and cancels still on their way to the broker."""
        return self.tasks.pending_requests

    # ==========================================================================================
    # lifecycle
    # ==========================================================================================

    async def run(self, duration: float | None = None) -> None:
        """Start, trade until ``duration`` seconds pass or :meth:`request_stop`, shut down."""
        self.tasks.attach()
        self.saver.attach()
        self._stop = asyncio.Event()
        if self._stop_requested:
            self._stop.set()
        consumer: asyncio.Task[None] | None = None
        try:
            await self._start()
            consumer = self.tasks.spawn(self._consume(), "events")
            self.tasks.spawn(self._heartbeat_loop(), "heartbeat")
            if self.store is not None:
                self.tasks.spawn(self.saver.run(), "persist")
            waiters = [asyncio.ensure_future(self._stop.wait()), consumer]
            await asyncio.wait(waiters, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
            waiters[0].cancel()
            if consumer.done() and not consumer.cancelled() and consumer.exception():
                raise consumer.exception()  # type: ignore[misc]
        finally:
            await self._shutdown()

    async def _start(self) -> None:
        self.tasks.open = True
        self._heartbeat = datetime.now(UTC)
        if self.store is not None:
            self.recovered = await begin_run(self.store, self.switch)  # the latch comes back
            self.saver.own()  # from here on, this run writes the status
        await continue_replay(self.parts)  # the simulated market goes on from the last run's time
        log.info("connecting to %s (%s)", self.broker.name, self.options.mode.value)
        await self.broker.connect()
        self.kernel.connected = True
        await resolve_accounts(self.broker, self.slots)
        for slot in self.slots:
            await resolve_slot(self.parts, slot)
        await load_chart_history(self.parts, list(self.charts))
        await restore(self.parts, self.keeper, self.recovered)  # state, journal, broker
        self.restored_orders = frozenset(self.book.orders)
        clock = self._broker_clock()
        if clock is not None:
            self.market.advance(clock)
        await self.budgets.evaluate()  # share budgets from the equity, before any trade
        self.risk.on_start(rearm=self.keeper.take_rearm())  # before any strategy trades
        await subscribe(self.parts, [self.instruments[c] for c in self.charts], self.market_feed)
        self.tasks.spawn(self.market_feed.run(), "ticks")
        for slot in self.slots:
            if slot.ctx is not None and slot.state is not StrategyState.FAILED:
                slot.started = True
                self.host.dispatch(slot, self.keeper.start_hook(slot))  # on_resume after a restore
        self.started = True
        log.info(
            "engine started: %d strategies on %s",
            len(self.slots),
            ", ".join(sorted(self.charts)) or "no instruments",
        )
        self._significant()

    async def _shutdown(self) -> None:
        for slot in self.slots:
            if slot.started and slot.ctx is not None and slot.state is not StrategyState.FAILED:
                self.host.dispatch(slot, "on_stop")
            if slot.state is not StrategyState.FAILED:
                slot.state = StrategyState.STOPPED
        requests = self.tasks.requests()
        if requests:  # orders placed or cancelled at on_stop (or just before) get their answer
            await asyncio.wait(requests, timeout=self.options.stop_grace)
        if self.started and self.connected:  # fills that raced the stop are booked now
            await settle_open_orders(self.parts, self.keeper)
        await self.tasks.cancel_all()
        self.tasks.open = False
        self.started = False
        await self.market_feed.flush()  # the last trades into the tick store
        try:
            await self.broker.close()
        except Exception as exc:
            log.warning("closing the broker failed: %s", exc)
        self.kernel.connected = False
        self._touch()
        await self.saver.save_final()
        log.info("engine stopped (%s)", ", ".join(f"{k} {v}" for k, v in self.counters.items()))

    # ==========================================================================================
    # the loop
    # ==========================================================================================

    async def _consume(self) -> None:
        # A queue with a backlog hands out events without suspending: yield to the loop every
        # few milliseconds so that commands (kill, cancels) never wait behind the whole backlog.
        turn_started = time.monotonic()
        async for event in self.broker.events():
            self.kernel.last_event_ts = datetime.now(UTC)
            self.counters["events"] += 1
            try:
                self.kernel.handle(event)
            except Exception as exc:  # an engine bug: keep trading safe, keep the loop alive
                self.kernel.engine_error(event, exc)
            self._beat()
            if time.monotonic() - turn_started > CONSUME_SLICE:
                await asyncio.sleep(0)
                turn_started = time.monotonic()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.heartbeat_interval)
            self._beat(force=True)
            clock = self._broker_clock()
            if clock is not None:
                self.market.advance(clock)
            self.risk.on_heartbeat()
            self.budgets.tick()  # a new trading day: share budgets from the day's equity
            if self.store is not None:  # ``avin kill`` / ``avin resume`` from another process
                await self.controls.take_command(self.store)

    def _beat(self, force: bool = False) -> None:
        mono = time.monotonic()
        self._heartbeat = datetime.now(UTC)
        if force or mono - self._heartbeat_mono >= self.options.heartbeat_interval:
            self._heartbeat_mono = mono
            self._touch()

    def submit(self, order: Order) -> Order:
        """Record ``order`` and schedule its sending, unless the pre-trade rules reject it."""
        return self.kernel.submit(order)

    # ==========================================================================================
    # versions, clocks, the snapshot
    # ==========================================================================================

    def _touch(self) -> None:
        self._version += 1

    def _significant(self) -> None:
        """A change worth saving at once (order, fill, strategy or trading state)."""
        self._touch()
        self.saver.wake()

    def _current_version(self) -> int:
        return self._version + self.book.version

    def _broker_clock(self) -> datetime | None:
        """The market's clock: the simulated market's own, else the broker's server clock (so a
        skewed local clock never decides the market time), else None."""
        return self._market_clock() or self.risk.server_now()

    def _market_clock(self) -> datetime | None:
        """A clock the broker's market keeps itself (the simulated market's replay), or None."""
        return market_clock(self.parts.broker)

    def _build_snapshot(self, version: int) -> EngineSnapshot:
        trading = self.switch.state
        return EngineSnapshot(
            version=version,
            mode=self.options.mode,
            trading_state=trading,
            running=self.running,
            connected=self.connected,
            pid=os.getpid(),
            recovered=self.recovered,
            heartbeat_ts=self._heartbeat,
            market_ts=self.market.now,
            last_event_ts=self.kernel.last_event_ts,
            strategies=tuple(
                strategy_row(slot, self.book, trading.value.lower()) for slot in self.slots
            ),
            orders=order_rows(self.book),
            positions=position_rows(self.book.positions.values()),
            instruments=tuple(self.charts),
            started=self.started,
            counters={**self.counters, **self.risk.counters()},
            halt_reason=self.switch.reason,
            risk=self.risk.status(),
            budgets=self.budgets.rows(),
        )
