"""The control API of the engine for strategies and the kill switch (``EngineControl``).

:class:`TradingControls` acts on the strategy slots and the :class:`TradingSwitch`: a kill (the
switch halts, every open order's cancel is scheduled), reduce, flatten, a deliberate resume,
pause and resume by hand, and the commands ``avin kill`` / ``avin resume`` leave in the status
store for a running engine. It listens to the switch: a decision that holds the strategies holds
every running one (those paused by hand stay paused), a resume runs the held ones again. It is
given the parts it needs (callables, the slot table, the switch), never the engine.
Synchronous, non-blocking and callable from any thread: work that needs the loop goes through
``TaskRunner.in_loop``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from engine.model.incidents import incident
from engine.model.snapshot import StrategyState, TradingState
from engine.risk.switch import TradingChange, TradingSwitch
from engine.runtime.slots import SlotTable, hold_running, release_held
from engine.runtime.tasks import TaskRunner
from engine.state.status_store import StatusStore

log = logging.getLogger("avin.engine")


class TradingControls:
    def __init__(
        self,
        slots: SlotTable,
        switch: TradingSwitch,
        tasks: TaskRunner,
        *,
        open_orders: Callable[[], list[str]],
        cancel_all: Callable[[list[str]], None],
        flatten: Callable[[str], None],
        persist: Callable[[], None],
        changed: Callable[[], None],
    ) -> None:
        self.slots = slots
        self.switch = switch
        self._tasks = tasks
        self._open_orders = open_orders  # keys of every open order
        self._cancel_all = cancel_all  # on the loop
        self._flatten = flatten  # the risk desk's FLATTEN
        self._persist = persist  # the worklist with each row's state
        self._changed = changed  # save soon
        switch.subscribe(self.on_trading)

    # --- the kill switch ------------------------------------------------------------------------

    def kill(self, reason: str = "manual") -> None:
        """Halt now: HALTED, every strategy held, every open order's cancel scheduled."""
        first = self.switch.halt(reason)
        keys = self._open_orders()
        self._tasks.in_loop(lambda: self._cancel_all(keys))
        if first:
            log.critical(
                "KILL: trading HALTED (%s); cancelling %d open order(s)", reason, len(keys)
            )
            incident("kill switch: trading halted", reason=reason, open_orders=len(keys))

    def reduce(self, reason: str = "manual") -> None:
        """REDUCING: only orders that reduce a position are sent."""
        self.switch.reduce(reason)

    def flatten(self, reason: str = "manual") -> None:
        """FLATTEN: REDUCING, cancel every open order, then close every position at market."""
        self._flatten(reason)

    def resume_trading(self, reason: str = "") -> None:
        """Leave HALTED deliberately: trading ACTIVE and every held strategy running again; a
        strategy paused by hand stays paused."""
        self.switch.resume(reason or "resumed")

    def set_trading_state(self, state: TradingState, reason: str = "") -> None:
        """HALTED is a kill, REDUCING a reduce, ACTIVE a resume (the only way out of HALTED)."""
        if state is TradingState.HALTED:
            self.kill(reason or "manual")
        elif state is TradingState.REDUCING:
            self.reduce(reason or "manual")
        else:
            self.resume_trading(reason)

    def on_trading(self, change: TradingChange) -> None:
        """Every decision of the switch: hold or release the strategies, save at once."""
        if change.holds:  # a kill, a flatten, a latched halt: those paused by hand stay paused
            hold_running(self.slots.all)
        if change.releases:
            for slot in release_held(self.slots.all):
                log.info("strategy %s resumed", slot.id)
            paused = [s.id for s in self.slots.all if s.state is StrategyState.PAUSED]
            if paused:
                log.info("paused by hand, staying paused: %s", ", ".join(paused))
            self._persist()
        self._changed()

    async def take_command(self, store: StatusStore) -> None:
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

    # --- strategies by hand ---------------------------------------------------------------------

    def pause_strategy(self, strategy_id: str) -> None:
        """Pause by hand: it stays paused until resumed by hand (a resume of trading and a
        restart leave it paused)."""
        slot = self.slots.get(strategy_id)
        if slot is not None and slot.state in (StrategyState.RUNNING, StrategyState.HELD):
            slot.state = StrategyState.PAUSED
            log.info("strategy %s paused", slot.id)
            self._persist()
            self._changed()

    def resume_strategy(self, strategy_id: str) -> None:
        """Resume a paused strategy, or restart a failed one (its error is cleared). While
        trading is HALTED (or a flatten holds every strategy) it is HELD: it runs when trading
        resumes."""
        slot = self.slots.get(strategy_id)
        if slot is None or slot.strategy is None or slot.ctx is None:
            return
        if slot.state in (StrategyState.PAUSED, StrategyState.FAILED):
            if slot.state is StrategyState.FAILED:
                log.warning("strategy %s restarted after: %s", slot.id, slot.error)
                slot.error = ""
            held_by = self.switch.holds()
            slot.state = StrategyState.HELD if held_by else StrategyState.RUNNING
            if held_by:
                log.warning(
                    "strategy %s held: trading is %s; it runs when trading resumes (R)",
                    slot.id,
                    held_by,
                )
            else:
                log.info("strategy %s resumed", slot.id)
            self._persist()
            self._changed()
