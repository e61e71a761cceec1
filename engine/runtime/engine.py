"""The trading engine: broker events -> charts -> strategies -> orders -> broker.

One asyncio task consumes ``broker.events()``; each event is handled synchronously (charts,
positions, strategy hooks), and the orders strategies queue are recorded in the
:class:`~engine.model.order_book.OrderManager` and sent by small tasks. The outside world (TUI,
headless mode, ``avin status``) uses the :class:`~engine.model.snapshot.EngineControl` methods:
they are synchronous, return at once and may be called from another thread (work that needs the
loop is handed to it with ``call_soon_threadsafe``).

Kill switch: the trading state has one owner, :class:`~engine.risk.switch.TradingSwitch`.
:meth:`Engine.kill` halts it, which holds every running strategy, and schedules the cancel of
every open order in the same call. While HALTED no order is sent (rejected locally). It trips by
itself on an error storm (``error_storm`` strategy errors within a minute). HALTED is persisted
and latched: it survives a restart until :meth:`Engine.resume_trading` clears it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.broker.base import (
    BarEvent,
    Broker,
    BrokerEvent,
    ConnectionEvent,
    FillEvent,
    JournalAware,
    OrderUpdate,
    PriceEvent,
    market_clock,
)
from engine.config import RiskSettings
from engine.model import (
    Bar,
    Fill,
    Instrument,
    MarketTrade,
    Mode,
    Order,
    OrderBook,
    OrderStatus,
    TimeFrame,
)
from engine.model.incidents import incident
from engine.model.order_book import OrderManager
from engine.model.snapshot import (
    EngineSnapshot,
    StrategyState,
    TradingState,
)
from engine.risk.control import RiskControl
from engine.risk.switch import TradingChange, TradingSwitch
from engine.runtime.accounts import resolve_accounts
from engine.runtime.guards import ErrorStorm
from engine.runtime.keeper import StateKeeper
from engine.runtime.market_feed import MarketFeed
from engine.runtime.recovery import book_missed_fill, settle_open_orders
from engine.runtime.router import REQUEST, OrderRouter
from engine.runtime.rows import order_rows, position_rows, strategy_row
from engine.runtime.slots import StrategySlot, hold_running, release_held, slot_ids
from engine.runtime.startup import (
    build_strategies,
    continue_replay,
    load_chart_history,
    resolve_slot,
)
from engine.runtime.worklist import SpecCheck, StrategySpec, WorklistManager
from engine.state.status_store import StatusStore
from engine.strategy.chart import DEFAULT_DEPTH, InstrumentCharts
from engine.strategy.host import StrategyHost

CONSUME_SLICE = 0.002  # seconds of event handling before the loop runs other work
log = logging.getLogger("avin.engine")


@dataclass(slots=True)
class EngineOptions:
    mode: Mode = Mode.SIM
    snapshot_interval: float = 5.0  # seconds between status saves (and on every significant change)
    history_days: int = 3  # sessions of 1-minute history loaded per instrument on start
    history_from_store: bool = False  # stored bars first (not on the simulated market)
    error_storm: int = 5  # strategy errors within ``error_window`` seconds that halt trading
    error_window: float = 60.0
    chart_depth: int = DEFAULT_DEPTH
    record_ticks: bool = False  # the tape of every charted instrument into the tick store
    persist_min_gap: float = 0.2  # at most this often on bursts of significant changes
    heartbeat_interval: float = 1.0
    stop_grace: float = 2.0  # seconds order requests get to finish at shutdown


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
        self.broker = broker
        self.options = options or EngineOptions()
        self.store = store
        self.logbook = logbook  # the LogBook the UI reads (engine.runtime.logbook), if any
        self.book = OrderManager(self._lot_size)
        self.charts: dict[str, InstrumentCharts] = {}
        self.instruments: dict[str, Instrument] = {}  # by code
        self._aliases: dict[str, str] = {}  # ticker / code / uid -> code
        specs = list(worklist)
        self.slots: list[StrategySlot] = [
            StrategySlot(sid, spec) for sid, spec in zip(slot_ids(specs), specs, strict=True)
        ]
        self._slots_by_id = {s.id: s for s in self.slots}
        self.switch = TradingSwitch()  # the trading state, its reason and latch (engine.risk)
        self.recovered = False
        # the order keys start-up recovery brought back (None until it is over): the UI
        # announces only the rejections of this run
        self.restored_orders: frozenset[str] | None = None
        self.running = False
        self.started = False  # history loaded, subscribed, strategies started
        self.connected = False
        self.counters: dict[str, int] = {
            "events": 0,
            "orders_sent": 0,
            "orders_rejected": 0,
            "fills": 0,
            "strategy_errors": 0,
        }
        self._storm = ErrorStorm(self.options.error_storm, self.options.error_window)
        self._engine_storm = ErrorStorm(self.options.error_storm, self.options.error_window)
        self._version = 0
        self._snap: EngineSnapshot | None = None
        self._heartbeat: datetime | None = None
        self._heartbeat_mono = 0.0
        self._market_ts: datetime | None = None
        self._last_event_ts: datetime | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        self._persist_wake: asyncio.Event | None = None
        self._persisted_state: tuple[TradingState, str] | None = None
        self._store_lock = threading.Lock()
        self._store_closed = False
        self._store_owned = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.keeper = StateKeeper(self)  # journal, state snapshots, recovery (engine.state)
        self.market_feed = MarketFeed(broker, record=self.options.record_ticks)  # books, tape
        if self.keeper.journal is not None and isinstance(broker, JournalAware):
            # the broker resolves keys (and links stop order ids) in the persistent journal
            broker.use_journal(self.keeper.journal)
        self.router = OrderRouter(
            broker,
            self.book,
            spawn=self._spawn,
            clock=lambda: self._market_ts,
            changed=self._order_changed,
            reject=self._reject_local,
            counters=self.counters,
            blocked=lambda order: self.risk.post_check(order),
            journal=self.keeper.journal,
            settle=lambda order, view: book_missed_fill(self, self.keeper, order, view),
        )
        self.risk = RiskControl(self, risk)
        # strategy hooks, their intents, the pre-trade rules and posting (engine.strategy.host)
        self.host: StrategyHost[StrategySlot] = StrategyHost(
            post=self._post,
            reject=self._reject_local,
            cancel=self.router.cancel,
            failed=self._fail,
            clock=lambda: self._market_ts,
            gate=self._pre_trade,
            admit=_admit,
        )
        self.worklist = WorklistManager(self)
        build_strategies(self.slots)
        self.switch.subscribe(self._on_trading)

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
        version = self._current_version()
        cached = self._snap
        if cached is not None and cached.version == version:
            return cached
        for _ in range(3):  # another thread may be mutating a dict mid-build: just retry
            try:
                snap = self._build_snapshot(version)
            except RuntimeError:
                continue
            self._snap = snap
            return snap
        return cached if cached is not None else self._build_snapshot(version)

    def chart(self, instrument: str, timeframe: TimeFrame, count: int) -> list[Bar]:
        code = self._aliases.get(instrument.strip().upper())
        charts = self.charts.get(code) if code else None
        if charts is None or count <= 0:
            return []
        return charts.read(timeframe, count)

    def order_book(self, instrument: str) -> OrderBook | None:
        """The newest order book of ``instrument`` (after :meth:`watch_book`), or None."""
        code = self._aliases.get(instrument.strip().upper())
        return self.market_feed.book(code) if code else None

    def tape(self, instrument: str, count: int) -> list[MarketTrade]:
        """The newest ``count`` trades on the tape of ``instrument``, newest first."""
        code = self._aliases.get(instrument.strip().upper())
        return self.market_feed.tape(code, count) if code else []

    def watch_book(self, instrument: str, depth: int = 10) -> None:
        """Keep the order book of ``instrument`` streaming (depth 0: stop); thread-safe."""
        code = self._aliases.get(instrument.strip().upper())
        if code is not None:
            feed = self.market_feed

            def start() -> None:
                self._spawn(feed.watch(code, depth), "book")

            self._in_loop(start)

    def pause_strategy(self, strategy_id: str) -> None:
        """Pause by hand: it stays paused until resumed by hand (a resume of trading and a
        restart leave it paused)."""
        slot = self._slots_by_id.get(strategy_id)
        if slot is not None and slot.state in (StrategyState.RUNNING, StrategyState.HELD):
            slot.state = StrategyState.PAUSED
            log.info("strategy %s paused", slot.id)
            self.worklist.persist()
            self._significant()

    def resume_strategy(self, strategy_id: str) -> None:
        """Resume a paused strategy, or restart a failed one (its error is cleared). While
        trading is HALTED (or a flatten holds every strategy) it is HELD: it runs when trading
        resumes."""
        slot = self._slots_by_id.get(strategy_id)
        if slot is None or slot.strategy is None or slot.ctx is None:
            return
        if slot.state in (StrategyState.PAUSED, StrategyState.FAILED):
            if slot.state is StrategyState.FAILED:
                log.warning("strategy %s restarted after: %s", slot.id, slot.error)
                slot.error = ""
            held_by = self.holds_strategies()
            slot.state = StrategyState.HELD if held_by else StrategyState.RUNNING
            if held_by:
                log.warning(
                    "strategy %s held: trading is %s; it runs when trading resumes (R)",
                    slot.id,
                    held_by,
                )
            else:
                log.info("strategy %s resumed", slot.id)
            self.worklist.persist()
            self._significant()

    def cancel_order(self, order_key: str) -> None:
        """The user's cancel (``x``): acted on, or the log says why not."""
        if not self.running:
            log.warning("cancel of order %s: the engine is not running", order_key[:8])
        self._in_loop(lambda: self.router.cancel(order_key, asked=True))

    def kill(self, reason: str = "manual") -> None:
        """Halt now: HALTED, every strategy held, every open order's cancel scheduled."""
        first = self.switch.halt(reason)
        keys = [o.id for o in self.book.open_orders()]
        self._in_loop(lambda: self.router.cancel_all(keys))
        if first:
            log.critical(
                "KILL: trading HALTED (%s); cancelling %d open order(s)", reason, len(keys)
            )
            incident("kill switch: trading halted", reason=reason, open_orders=len(keys))

    # --- beyond the protocol ------------------------------------------------------------------

    def set_trading_state(self, state: TradingState, reason: str = "") -> None:
        """Deliberately change the trading state: HALTED is a kill, REDUCING a reduce, ACTIVE
        a resume (the only way out of a latched HALTED)."""
        if state is TradingState.HALTED:
            self.kill(reason or "manual")
        elif state is TradingState.REDUCING:
            self.reduce(reason or "manual")
        else:
            self.resume_trading(reason)

    def flatten(self, reason: str = "manual") -> None:
        """FLATTEN: REDUCING, cancel every open order, then close every position at market."""
        self.risk.flatten(reason)

    def reduce(self, reason: str = "manual") -> None:
        """REDUCING: only orders that reduce a position are sent."""
        self.switch.reduce(reason)

    # --- the worklist at runtime (engine.runtime.worklist.WorklistManager) ---------------------

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

    def resume_trading(self, reason: str = "") -> None:
        """Leave HALTED deliberately: trading ACTIVE and every held strategy running again; a
        strategy paused by hand stays paused."""
        self.switch.resume(reason or "resumed")

    def _on_trading(self, change: TradingChange) -> None:
        """Every decision of the kill switch: hold or release the strategies, save at once."""
        if change.holds:  # a kill, a flatten, a latched halt: those paused by hand stay paused
            hold_running(self.slots)
        if change.releases:
            for slot in release_held(self.slots):
                log.info("strategy %s resumed", slot.id)
            paused = [s.id for s in self.slots if s.state is StrategyState.PAUSED]
            if paused:
                log.info("paused by hand, staying paused: %s", ", ".join(paused))
            self.worklist.persist()
        self._significant()

    def holds_strategies(self) -> str:
        """What holds the strategies now: "halted", "flattening", or "" when nothing does."""
        return self.switch.holds()

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
            self._in_loop(stop.set)

    def strategy(self, strategy_id: str) -> StrategySlot | None:
        return self._slots_by_id.get(strategy_id)

    @property
    def pending_requests(self) -> int:
        """Order posts and cancels still on their way to the broker."""
        return sum(
            1 for t in list(self._tasks) if not t.done() and t.get_name().startswith(REQUEST)
        )

    # ==========================================================================================
    # lifecycle
    # ==========================================================================================

    async def run(self, duration: float | None = None) -> None:
        """Start, trade until ``duration`` seconds pass or :meth:`request_stop`, shut down."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._stop = asyncio.Event()
        self._persist_wake = asyncio.Event()
        if self._stop_requested:
            self._stop.set()
        consumer: asyncio.Task[None] | None = None
        try:
            await self._start()
            consumer = self._spawn(self._consume(), "events")
            self._spawn(self._heartbeat_loop(), "heartbeat")
            if self.store is not None:
                self._spawn(self._persist_loop(), "persist")
            waiters = [asyncio.ensure_future(self._stop.wait()), consumer]
            await asyncio.wait(waiters, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
            waiters[0].cancel()
            if consumer.done() and not consumer.cancelled() and consumer.exception():
                raise consumer.exception()  # type: ignore[misc]
        finally:
            await self._shutdown()

    async def _start(self) -> None:
        self.running = True
        self._heartbeat = datetime.now(UTC)
        if self.store is not None:
            start = await asyncio.to_thread(self.store.begin_run, os.getpid())
            self._store_owned = True  # from here on, this run writes the status
            self.recovered = start.recovered
            if start.recovered and start.previous is not None:
                log.warning(
                    "the previous run (pid %d, started %s) did not shut down cleanly: recovered",
                    start.previous.pid,
                    start.previous.start_ts,
                )
                incident("previous run crashed", pid=start.previous.pid)
            self.switch.restore(start.trading_state, start.halt_reason)
            self._persisted_state = (self.trading_state, self.halt_reason)
        await continue_replay(self)  # the simulated market goes on from the last run's time
        log.info("connecting to %s (%s)", self.broker.name, self.options.mode.value)
        await self.broker.connect()
        self.connected = True
        await resolve_accounts(self.broker, self.slots)
        for slot in self.slots:
            await resolve_slot(self, slot)
        await load_chart_history(self, list(self.charts))
        await self.keeper.restore(self.recovered)  # snapshot + journal + broker reconciliation
        self.restored_orders = frozenset(self.book.orders)
        clock = self._broker_clock()
        if clock is not None:
            self._advance_market(clock)
        self.risk.on_start(rearm=self.keeper.take_rearm())  # before any strategy trades
        for code in self.charts:
            instrument = self.instruments[code]
            await self.broker.subscribe_bars(instrument, TimeFrame.M1)
            await self.broker.subscribe_prices(instrument)
        await self.market_feed.start([self.instruments[code] for code in self.charts])
        self._spawn(self.market_feed.run(), "ticks")
        for slot in self.slots:
            if slot.ctx is not None and slot.state is not StrategyState.FAILED:
                slot.started = True
                self._dispatch(slot, self.keeper.start_hook(slot))  # on_resume after a restore
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
                self._dispatch(slot, "on_stop")
            if slot.state is not StrategyState.FAILED:
                slot.state = StrategyState.STOPPED
        requests = [t for t in self._tasks if t.get_name().startswith(REQUEST)]
        if requests:  # orders placed or cancelled at on_stop (or just before) get their answer
            await asyncio.wait(requests, timeout=self.options.stop_grace)
        if self.started and self.connected:  # fills that raced the stop are booked now
            await settle_open_orders(self, self.keeper)
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.running = False
        self.started = False
        await self.market_feed.flush()  # the last trades into the tick store
        try:
            await self.broker.close()
        except Exception as exc:
            log.warning("closing the broker failed: %s", exc)
        self.connected = False
        self._touch()
        if self.store is not None and self._store_owned:
            try:
                await asyncio.to_thread(self._save_status, True)
            except Exception as exc:
                log.error("saving the final status failed: %s", exc)
        log.info("engine stopped (%s)", _counters_text(self.counters))

    # ==========================================================================================
    # the loop
    # ==========================================================================================

    async def _consume(self) -> None:
        # A queue with a backlog hands out events without suspending: yield to the loop every
        # few milliseconds so that commands (kill, cancels) never wait behind the whole backlog.
        turn_started = time.monotonic()
        async for event in self.broker.events():
            self._last_event_ts = datetime.now(UTC)
            self.counters["events"] += 1
            try:
                self._handle(event)
            except Exception as exc:  # an engine bug: keep trading safe, keep the loop alive
                self._engine_error(event, exc)
            self._beat()
            if time.monotonic() - turn_started > CONSUME_SLICE:
                await asyncio.sleep(0)
                turn_started = time.monotonic()

    def _engine_error(self, event: BrokerEvent, exc: Exception) -> None:
        self.counters["engine_errors"] = self.counters.get("engine_errors", 0) + 1
        log.error("the engine failed on %s: %s", type(event).__name__, exc, exc_info=exc)
        incident("engine error", event=type(event).__name__, error=f"{type(exc).__name__}: {exc}")
        if self._engine_storm.record(time.monotonic()):
            self.kill(f"engine errors: {self._engine_storm.recent} within a minute")
        self._significant()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.heartbeat_interval)
            self._beat(force=True)
            clock = self._broker_clock()
            if clock is not None:
                self._advance_market(clock)
            self.risk.on_heartbeat()
            if self.store is not None:
                await self._take_command(self.store)

    async def _take_command(self, store: StatusStore) -> None:
        """Obey ``avin kill`` / ``avin resume`` sent from another process."""
        try:
            command = await asyncio.to_thread(store.take_command)
        except Exception as exc:
            log.warning("reading commands from the status store failed: %s", exc)
            return
        if command is None:
            return
        name, reason = command
        log.warning("command from the command line: %s %s", name, reason)
        if name == "kill":
            self.kill(reason or "avin kill")
        elif name == "flatten":
            self.flatten(reason or "avin kill --flatten")
        elif name == "reduce":
            self.reduce(reason or "avin kill --reduce")
        elif name == "resume":
            self.resume_trading(reason or "avin resume")

    def _beat(self, force: bool = False) -> None:
        mono = time.monotonic()
        self._heartbeat = datetime.now(UTC)
        if force or mono - self._heartbeat_mono >= self.options.heartbeat_interval:
            self._heartbeat_mono = mono
            self._touch()

    def _handle(self, event: BrokerEvent) -> None:
        self.risk.on_event(event)
        if isinstance(event, BarEvent):
            self._on_bar_event(event)
        elif isinstance(event, PriceEvent):
            self._advance_market(event.ts)
            self.book.mark(event.instrument, event.price)
        elif isinstance(event, FillEvent):
            self._on_fill(event.fill)
        elif isinstance(event, OrderUpdate):
            self._advance_market(event.ts)
            changed = self.book.apply_update(event.order, event.ts)
            if changed is not None:
                self._order_changed(changed)
        elif isinstance(event, ConnectionEvent):
            if self.connected and not event.connected:
                self.counters["disconnects"] = self.counters.get("disconnects", 0) + 1
            self.connected = event.connected
            level = logging.INFO if event.connected else logging.WARNING
            log.log(
                level,
                "broker %s %s",
                "connected" if event.connected else "disconnected",
                event.reason,
            )
            self._significant()
        else:
            self.market_feed.on_event(event)  # order books and the tape

    def _on_bar_event(self, event: BarEvent) -> None:
        if event.timeframe is not TimeFrame.M1:
            return  # the engine aggregates every other timeframe itself
        code = self._aliases.get(event.instrument.upper(), event.instrument)
        charts = self.charts.get(code)
        if charts is None:
            return
        bar = event.bar
        self._advance_market(bar.ts + timedelta(minutes=1) if event.closed else bar.ts)
        self.book.mark(code, Decimal(str(bar.close)))
        closed = charts.update(bar, event.closed)
        if not closed:
            return
        self._touch()
        for slot in self.slots:
            if slot.state is not StrategyState.RUNNING or slot.instrument_code != code:
                continue
            strategy = slot.strategy
            assert strategy is not None
            for timeframe, done in closed:
                if timeframe in strategy.timeframes and slot.state is StrategyState.RUNNING:
                    self._dispatch(slot, "on_bar", timeframe, done)

    def _on_fill(self, fill: Fill) -> None:
        if self.keeper.absorb(fill):  # already booked by recovery
            return
        result = self.book.apply_fill(fill)
        if result.duplicate:
            return
        self.keeper.fill(fill)
        self.counters["fills"] += 1
        self._advance_market(fill.ts)
        order = result.order
        log.info(
            "fill: %s %s %d lot(s) @ %s on %s (order %s%s)",
            fill.instrument,
            fill.side.value,
            fill.lots,
            fill.price,
            fill.account or (order.account if order else "?"),
            fill.order_id[:8],
            f", strategy {order.strategy}" if order is not None and order.strategy else "",
        )
        self._significant()
        if order is None:
            return
        slot = self._slots_by_id.get(order.strategy)
        if slot is not None and slot.active:
            self._dispatch(slot, "on_fill", fill)
        self._order_changed(order)

    def _order_changed(self, order: Order) -> None:
        self.keeper.order_changed(order)
        level = logging.WARNING if order.status is OrderStatus.REJECTED else logging.INFO
        price = order.avg_fill_price if order.avg_fill_price is not None else order.price
        log.log(
            level,
            "order %s %s: %s %s %d/%d lot(s)%s%s",
            order.id[:8],
            order.status.value,
            order.instrument,
            order.side.value,
            order.filled_lots,
            order.lots,
            f" @ {price.normalize():f}" if price is not None else "",
            f" ({order.reason})" if order.reason else "",
        )
        self._significant()
        if order.status is OrderStatus.REJECTED:
            self.risk.on_rejected(order)
        slot = self._slots_by_id.get(order.strategy)
        if slot is not None and slot.active:
            self._dispatch(slot, "on_order", order)

    # ==========================================================================================
    # strategies
    # ==========================================================================================

    def _dispatch(self, slot: StrategySlot, hook: str, *args: Any) -> None:
        self.host.dispatch(slot, hook, *args)

    def _fail(self, slot: StrategySlot, hook: str, exc: BaseException, dropped: int = 0) -> None:
        """A hook of ``slot`` raised (the host's ``failed``): FAILED, counted, logged; an error
        storm halts trading."""
        slot.state = StrategyState.FAILED
        slot.errors += 1
        slot.error = f"{hook}: {type(exc).__name__}: {exc}"
        self.counters["strategy_errors"] += 1
        log.error(
            "strategy %s FAILED in %s: %s%s",
            slot.id,
            hook,
            slot.error,
            f" ({dropped} queued order(s) dropped)" if dropped else "",
            exc_info=exc,
        )
        self._significant()
        if self._storm.record(time.monotonic()) and self.trading_state is not TradingState.HALTED:
            self.kill(
                f"error storm: {self._storm.recent} strategy errors within "
                f"{self.options.error_window:.0f} s"
            )

    # ==========================================================================================
    # orders
    # ==========================================================================================

    def submit(self, order: Order) -> Order:
        """Record ``order`` and schedule its sending (on the engine loop), unless the pre-trade
        rules reject it (then it is recorded as rejected)."""
        return self.host.submit(order)

    def _pre_trade(self, order: Order) -> str:
        """The host's gate: the pre-trade rules, the trading state first ("" when it may go)."""
        return self.risk.pre_trade(order)

    def _post(self, order: Order) -> None:
        self.book.record(order)
        self._significant()
        self.router.post(order)

    def _reject_local(self, order: Order, reason: str) -> Order:
        self.counters["orders_rejected"] += 1
        self.book.reject_local(order, reason, self._market_ts)
        self._order_changed(order)
        return order

    # ==========================================================================================
    # plumbing
    # ==========================================================================================

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("engine task %s failed", task.get_name(), exc_info=task.exception())

    def _in_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the engine loop: now when already on it, else as soon as it can."""
        loop = self._loop
        if loop is None or loop.is_closed() or not self.running:
            return
        if threading.get_ident() == self._loop_thread:
            fn()
        else:
            loop.call_soon_threadsafe(fn)

    def _touch(self) -> None:
        self._version += 1

    def _significant(self) -> None:
        """A change worth saving at once (order, fill, strategy or trading state)."""
        self._touch()
        wake = self._persist_wake
        if wake is not None and not wake.is_set():
            self._in_loop(wake.set)

    def _current_version(self) -> int:
        return self._version + self.book.version

    def _advance_market(self, ts: datetime) -> None:
        if self._market_ts is None or ts > self._market_ts:
            self._market_ts = ts

    def _broker_clock(self) -> datetime | None:
        """The market's clock: the simulated market's own, else the broker's server clock (so a
        skewed local clock never decides the market time), else None."""
        return self._market_clock() or self.risk.server_now()

    def _market_clock(self) -> datetime | None:
        """A clock the broker's market keeps itself (the simulated market's replay), or None."""
        return market_clock(self.broker)

    def _lot_size(self, code: str) -> int:
        instrument = self.instruments.get(code)
        return instrument.lot if instrument else 1

    # --- persistence ----------------------------------------------------------------------------

    async def _persist_loop(self) -> None:
        wake = self._persist_wake
        assert wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self.options.snapshot_interval)
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # 3.11 wait_for can turn it into a timeout
                raise asyncio.CancelledError
            wake.clear()
            try:
                await asyncio.to_thread(self._save_status)
            except Exception as exc:
                log.error("saving the engine status failed: %s", exc)
            await asyncio.sleep(self.options.persist_min_gap)

    def _save_status(self, final: bool = False) -> None:
        """Write the latch and the snapshot (in a worker thread); ``final`` ends the run."""
        store = self.store
        if store is None:
            return
        with self._store_lock:
            if self._store_closed:
                return  # a periodic save that lost the race with the final one
            state = (self.trading_state, self.halt_reason)
            if state != self._persisted_state:  # the latch first: it matters most
                store.save_trading_state(*state)
                self._persisted_state = state
            store.save_snapshot(self.keeper.public(self.snapshot().to_json()))
            self.keeper.save()
            if final:
                self._store_closed = True
                store.end_run()

    # --- snapshot -------------------------------------------------------------------------------

    def _build_snapshot(self, version: int) -> EngineSnapshot:
        return EngineSnapshot(
            version=version,
            mode=self.options.mode,
            trading_state=self.trading_state,
            running=self.running,
            connected=self.connected,
            pid=os.getpid(),
            recovered=self.recovered,
            heartbeat_ts=self._heartbeat,
            market_ts=self._market_ts,
            last_event_ts=self._last_event_ts,
            strategies=tuple(
                strategy_row(slot, self.book, self.trading_state.value.lower())
                for slot in self.slots
            ),
            orders=order_rows(self.book),
            positions=position_rows(self.book.positions.values()),
            instruments=tuple(self.charts),
            started=self.started,
            counters={**self.counters, **self.risk.counters()},
            halt_reason=self.halt_reason,
            risk=self.risk.status(),
        )


def _admit(slot: StrategySlot) -> str:
    """Why ``slot``'s strategy may not place orders now ("" while it runs)."""
    if slot.state is StrategyState.RUNNING:
        return ""
    return f"strategy is {slot.state.value}"


def _counters_text(counters: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counters.items())
