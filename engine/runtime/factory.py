"""The engine's components, wired: each is given the parts and the callables it needs, never the
engine (decision 0013).

:func:`wire` builds them from the :class:`~engine.runtime.parts.EngineParts` and the
:class:`EngineHooks` (the few things a component may ask of the engine: halt, mark a change, the
clocks and states, the snapshot), in the order their callables need each other: the task runner,
the state keeper, the market feed, the kernel (with its order router and strategy host), the
budgets, the risk desk, the worklist, the trading controls, the snapshot cache and the status
saver. :class:`~engine.runtime.engine.Engine` calls it once, in its constructor, and keeps what it
returns; a test may wire components from parts without an engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from engine.broker.base import JournalAware
from engine.config import RiskSettings
from engine.model.snapshot import EngineSnapshot
from engine.risk.control import RiskControl
from engine.runtime.budgets import BudgetKeeper
from engine.runtime.controls import TradingControls
from engine.runtime.keeper import StateKeeper
from engine.runtime.kernel import Kernel
from engine.runtime.market_feed import MarketFeed
from engine.runtime.parts import EngineParts
from engine.runtime.startup import bring_up
from engine.runtime.status_saver import SnapshotCache, StatusSaver
from engine.runtime.tasks import TaskRunner
from engine.runtime.worklist_manager import WorklistManager


@dataclass(frozen=True, slots=True)
class EngineHooks:
    """What the components may call back on the engine: its callables, never the engine."""

    kill: Callable[[str], None]  # halt trading (the kill switch)
    touch: Callable[[], None]  # something changed (the snapshot version)
    significant: Callable[[], None]  # a change worth saving at once
    market_clock: Callable[[], datetime | None]  # the market's own clock, if it keeps one
    running: Callable[[], bool]
    connected: Callable[[], bool]
    started: Callable[[], bool]
    version: Callable[[], int]  # the engine's snapshot version
    build_snapshot: Callable[[int], EngineSnapshot]
    snapshot: Callable[[], EngineSnapshot]  # the current one (cached by version)


@dataclass(frozen=True, slots=True)
class Components:
    tasks: TaskRunner  # the loop's tasks; work handed to the loop
    keeper: StateKeeper  # journal, state snapshots, recovery results
    market_feed: MarketFeed  # order books and the tape
    kernel: Kernel  # events, strategy hooks, order flow (its router and host)
    budgets: BudgetKeeper
    risk: RiskControl
    worklist: WorklistManager
    controls: TradingControls
    snapshots: SnapshotCache
    saver: StatusSaver


def wire(parts: EngineParts, risk: RiskSettings | None, hooks: EngineHooks) -> Components:
    """The engine's components over ``parts``; ``risk``: the risk settings (None: defaults)."""
    broker, options = parts.broker, parts.options
    tasks = TaskRunner()
    keeper = StateKeeper(parts, hooks.kill)
    market_feed = MarketFeed(broker, record=options.record_ticks)
    if keeper.journal is not None and isinstance(broker, JournalAware):
        # the broker resolves keys (and links stop order ids) in the persistent journal
        broker.use_journal(keeper.journal)
    kernel = Kernel(parts, keeper, market_feed, tasks, kill=hooks.kill, touch=hooks.touch)
    router = kernel.router
    budgets = BudgetKeeper.of(parts, tasks, lambda: desk, changed=hooks.touch)
    desk = parts.risk = kernel.risk = RiskControl(
        risk,
        switch=parts.switch,
        book=parts.book,
        instruments=parts.instruments,
        broker=broker,
        charted=lambda: list(parts.charts),
        last_close=parts.last_close,
        market_time=parts.market,
        own_clock=hooks.market_clock,
        budget=budgets.money,
        changed=hooks.significant,
        kill=hooks.kill,
        cancel_all=router.cancel_all,
        submit=kernel.submit,
        spawn=tasks.spawn,
        in_loop=tasks.in_loop,
    )
    worklist = WorklistManager(
        parts.slots,
        parts.store,
        parts.book,
        broker,
        tasks,
        running=hooks.running,
        connected=hooks.connected,
        started=hooks.started,
        holds=parts.switch.holds,
        halted=lambda: parts.switch.halted,
        bring_up=lambda slot: bring_up(parts, slot, market_feed),
        dispatch=kernel.host.dispatch,
        cancel_all=router.cancel_all,
        submit=kernel.submit,
        changed=hooks.significant,
        cancel_timeout=lambda: desk.settings.flatten_cancel_timeout,
    )
    controls = TradingControls(
        parts.slots,
        parts.switch,
        tasks,
        open_orders=lambda: [o.id for o in parts.book.open_orders()],
        cancel_all=router.cancel_all,
        flatten=desk.flatten,
        persist=worklist.persist,
        changed=hooks.significant,
    )
    saver = StatusSaver(
        parts.store,
        tasks,
        latch=lambda: (parts.switch.state, parts.switch.reason),
        status=lambda: keeper.public(hooks.snapshot().to_json()),
        prepare_state=keeper.prepare,
        write_state=keeper.write,
        interval=options.snapshot_interval,
        min_gap=options.persist_min_gap,
    )
    snapshots = SnapshotCache(hooks.version, hooks.build_snapshot)
    return Components(
        tasks, keeper, market_feed, kernel, budgets, desk, worklist, controls, snapshots, saver
    )
