"""The worklist at runtime: rows added, removed, started and stopped while the engine runs.

:class:`WorklistManager` is the engine's ``add_strategy`` / ``remove_strategy`` /
``start_strategy`` / ``stop_strategy`` / ``check_strategy`` / ``close_strategy_position`` (pause
and resume are :mod:`engine.runtime.controls`), and it saves the worklist with each row's state
in the status store (:mod:`engine.runtime.worklist` says how the next run takes it back). It is
given the parts it needs (the slot table, the store, the book, the broker, the loop's task
runner and callables), never the engine.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from engine.broker.base import Broker, InstantLookup, UnknownInstrument
from engine.model import Order, OrderType, Side
from engine.model.order_book import OrderManager
from engine.model.snapshot import StrategyState
from engine.runtime.accounts import DEFAULT_ACCOUNTS
from engine.runtime.slots import SlotTable, StrategySlot
from engine.runtime.tasks import TaskRunner
from engine.runtime.worklist import (
    CHECK_TIMEOUT,
    SpecCheck,
    StrategySpec,
    _fingerprint,
    duplicate_problems,
    spec_problems,
    unique_id,
)
from engine.state.status_store import StatusStore
from engine.strategy.registry import build

log = logging.getLogger("avin.worklist")


class WorklistManager:
    """Runtime changes to the engine's worklist, saved in the status store."""

    def __init__(
        self,
        slots: SlotTable,
        store: StatusStore | None,
        book: OrderManager,
        broker: Broker,
        tasks: TaskRunner,
        *,
        running: Callable[[], bool],
        connected: Callable[[], bool],
        started: Callable[[], bool],
        holds: Callable[[], str],
        halted: Callable[[], bool],
        bring_up: Callable[[StrategySlot], Awaitable[None]],
        dispatch: Callable[[StrategySlot, str], object],
        cancel_all: Callable[[list[str]], None],
        submit: Callable[[Order], Order],
        changed: Callable[[], None],
        cancel_timeout: Callable[[], float],
    ) -> None:
        self.slots = slots
        self.store = store
        self.book = book
        self.broker = broker
        self._tasks = tasks
        self._running = running  # the engine runs (started or starting)
        self._connected = connected  # the broker is connected
        self._started = started  # start-up is over: strategies get on_start at once
        self._holds = holds  # what holds the strategies now ("" when nothing does)
        self._halted = halted
        self._bring_up = bring_up  # resolve the row's instrument, its history, subscribe
        self._dispatch = dispatch  # call a strategy hook (the strategy host)
        self._cancel_all = cancel_all
        self._submit = submit
        self._changed = changed
        self._cancel_timeout = cancel_timeout  # seconds a close waits for its cancels
        # the fingerprint of the *configured* rows the saved worklist derives from
        self.config_fingerprint = _fingerprint(s.spec for s in slots.all)
        self._restore_states()
        self._warn_duplicates()

    def _warn_duplicates(self) -> None:
        """Repeated rows from the configuration run (they always did), but say so loudly."""
        slots = list(self.slots.all)
        for i, slot in enumerate(slots):
            earlier = [(s.id, s.spec, "") for s in slots[:i]]
            for message in duplicate_problems(slot.spec, earlier)[0]:
                log.error("worklist row %s: %s (`avin config check`)", slot.id, message)

    # --- persistence ----------------------------------------------------------------------------

    def _restore_states(self) -> None:
        """When the engine runs the saved worklist, bring back each row's paused/stopped state."""
        store = self.store
        saved = store.load_worklist() if store is not None else None
        if not saved:
            return
        try:
            rows = [StrategySpec.from_json(r) for r in saved.get("rows", [])]
        except (KeyError, TypeError, ValueError, ArithmeticError):
            return
        if _fingerprint(rows) != _fingerprint(s.spec for s in self.slots.all):
            return  # the configuration won (see initial_worklist)
        self.config_fingerprint = str(saved.get("config", self.config_fingerprint))
        states = saved.get("states", {})
        for slot in self.slots.all:
            state = states.get(slot.id)
            if state in ("paused", "stopped"):
                slot.state = StrategyState(state)

    def persist(self) -> None:
        """Save the rows and their states (the next run starts from them)."""
        store = self.store
        if store is None:
            return
        slots = list(self.slots.all)
        data = {
            "config": self.config_fingerprint,
            "saved_ts": datetime.now(UTC).isoformat(),
            "rows": [s.spec.to_json() for s in slots],
            "states": {s.id: s.state.value for s in slots},
        }
        try:
            store.save_worklist(data)
        except Exception as exc:  # a full disk must not take the engine down
            log.error("saving the worklist failed: %s", exc)

    # --- checks ---------------------------------------------------------------------------------

    def check(self, spec: StrategySpec, *, timeout: float = CHECK_TIMEOUT) -> SpecCheck:
        """Whether ``spec`` may be added: the row itself, the broker's word on its instrument
        and account (while the engine runs), and the rows already there. Thread-safe; from a
        thread other than the engine's it waits up to ``timeout`` for the broker."""
        errors = spec_problems(spec)
        code = ""
        if not errors and spec.instrument.strip():
            found, broker_errors = self._ask_broker(spec, timeout)
            errors.extend(broker_errors)
            if found is not None:
                code, account = found
                spec = self._with_account(spec, account)
        existing = [(s.id, s.spec, s.instrument.code if s.instrument else "") for s in self._rows()]
        dup_errors, warnings = duplicate_problems(spec, existing, code)
        return SpecCheck(spec, tuple(errors + dup_errors), tuple(warnings))

    def _rows(self) -> list[StrategySlot]:
        return [s for s in self.slots.all if s.state is not StrategyState.FAILED]

    @staticmethod
    def _with_account(spec: StrategySpec, account: str) -> StrategySpec:
        return spec if account == spec.account else dataclasses.replace(spec, account=account)

    def _ask_broker(
        self, spec: StrategySpec, timeout: float
    ) -> tuple[tuple[str, str] | None, list[str]]:
        """((instrument code, account id) or None, errors) from the broker; (None, []) when it
        cannot be asked now (the engine is not connected): the row is then resolved on start."""
        loop = self._tasks.loop
        if not (self._running() and self._connected()) or loop is None or loop.is_closed():
            return None, []
        if self._tasks.on_loop:
            broker = self.broker
            if not isinstance(broker, InstantLookup):  # a broker that can answer at once
                return None, []
            try:
                instrument = broker.lookup(spec.instrument)
            except Exception as exc:
                return None, [self._instrument_error(spec, exc)]
            return (instrument.code, spec.account), []
        future = asyncio.run_coroutine_threadsafe(self._broker_facts(spec), loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            return None, [f"the broker did not answer within {timeout:.0f} s: try again"]
        except Exception as exc:
            return None, [f"cannot check the row at the broker: {exc}"]

    async def _broker_facts(self, spec: StrategySpec) -> tuple[tuple[str, str] | None, list[str]]:
        broker = self.broker
        try:
            instrument = await broker.find_instrument(spec.instrument)
        except Exception as exc:
            return None, [self._instrument_error(spec, exc)]
        try:
            accounts = [a.id for a in await broker.accounts()]
        except Exception as exc:
            return None, [f"cannot list the broker's accounts: {exc}"]
        account = spec.account
        if account not in accounts:
            if account in DEFAULT_ACCOUNTS and accounts:
                account = accounts[0]
            else:
                known = ", ".join(accounts) or "none"
                return None, [f"account {spec.account!r} is not at the broker (accounts: {known})"]
        return (instrument.code, account), []

    @staticmethod
    def _instrument_error(spec: StrategySpec, exc: Exception) -> str:
        if isinstance(exc, UnknownInstrument):
            return f"instrument {spec.instrument!r} is not known to the broker: {exc}"
        return f"cannot look up instrument {spec.instrument!r} at the broker: {exc}"

    # --- changes --------------------------------------------------------------------------------

    def add(self, spec: StrategySpec) -> str:
        """Add a row after :meth:`check` (a ValueError says what is wrong); it starts at once
        when the engine runs (paused while HALTED). Warnings do not refuse it."""
        base = f"{spec.name}:{spec.instrument.upper()}:{spec.account}"
        checked = self.check(spec)
        if checked.errors:
            raise ValueError(f"cannot add {base}: " + "; ".join(checked.errors))
        spec = checked.spec
        slot = StrategySlot(unique_id(base, self.slots.ids()), spec)
        try:
            slot.strategy = build(spec.name, spec.params, spec.timeframe)
        except Exception as exc:
            raise ValueError(f"cannot add {base}: {exc}") from exc
        slot.state = StrategyState.HELD if self._held() else StrategyState.RUNNING
        self.slots.add(slot)  # a new list: readers in other threads stay safe
        log.warning("worklist: %s added", slot.id)
        if self._running():
            self._tasks.in_loop(lambda: self._spawn_activate(slot))
        self.persist()
        self._changed()
        return slot.id

    def remove(self, strategy_id: str) -> None:
        """Remove a row; refused while its position is open (stop it and flatten first)."""
        slot = self._slot(strategy_id)
        position = self.book.strategy_positions.get(slot.id)
        if position is not None and position.lots:
            raise ValueError(
                f"{slot.id} holds {position.lots:+d} lot(s): close the position before removing it"
            )
        self.stop(strategy_id, save=False)
        self.slots.remove(slot.id)
        log.warning("worklist: %s removed", slot.id)
        self.persist()
        self._changed()

    def stop(self, strategy_id: str, *, save: bool = True) -> None:
        """Stop a row: its ``on_stop`` runs and its open orders are cancelled."""
        slot = self._slot(strategy_id)
        if slot.state is not StrategyState.STOPPED:
            was = slot.state
            slot.state = StrategyState.STOPPED
            keys = [o.id for o in self.book.open_orders(strategy=slot.id)]
            self._tasks.in_loop(lambda: self._stopped(slot, keys, was))
            log.warning("worklist: %s stopped (%d open order(s) cancelled)", slot.id, len(keys))
        if save:
            self.persist()
        self._changed()

    def start(self, strategy_id: str) -> None:
        """Start a stopped (or failed) row again: a fresh instance, ``on_start`` again."""
        slot = self._slot(strategy_id)
        if slot.state in (StrategyState.RUNNING, StrategyState.PAUSED, StrategyState.HELD):
            return
        others = [
            (s.id, s.spec, s.instrument.code if s.instrument else "")
            for s in self._rows()
            if s.id != slot.id and s.state is not StrategyState.STOPPED
        ]
        code = slot.instrument.code if slot.instrument else ""
        duplicates, _ = duplicate_problems(slot.spec, others, code)
        if duplicates:
            raise ValueError(f"cannot start {slot.id}: {duplicates[0]}")
        try:
            slot.strategy = build(slot.spec.name, slot.spec.params, slot.spec.timeframe)
        except Exception as exc:
            raise ValueError(f"cannot start {slot.id}: {exc}") from exc
        slot.error = ""
        slot.ctx = None
        slot.started = False
        slot.state = StrategyState.HELD if self._held() else StrategyState.RUNNING
        if self._running():
            self._tasks.in_loop(lambda: self._spawn_activate(slot))
        log.warning("worklist: %s started", slot.id)
        self.persist()
        self._changed()

    def close_position(self, strategy_id: str) -> int:
        """Close one row's position at market: the row is paused first (so it does not open
        again), its open orders are cancelled, then a market order for its lots is sent on its
        behalf. Returns the lots being closed (signed); a ValueError says why not."""
        slot = self._slot(strategy_id)
        position = self.book.strategy_positions.get(slot.id)
        lots = position.lots if position is not None else 0
        if not lots:
            raise ValueError(f"{slot.id} holds no position: nothing to close")
        if self._halted():
            raise ValueError(
                f"trading is HALTED: nothing can be sent; R resumes trading (or F flattens "
                f"everything), then close {slot.id}"
            )
        if not self._running():
            raise ValueError("the engine is not running")
        if slot.state is StrategyState.RUNNING:
            slot.state = StrategyState.PAUSED
            self.persist()
        keys = [o.id for o in self.book.open_orders(strategy=slot.id)]
        log.warning(
            "close position: %s holds %+d lot(s); paused, cancelling %d open order(s), then "
            "closing at market",
            slot.id,
            lots,
            len(keys),
        )
        self._tasks.in_loop(lambda: self._start_close(slot, keys))
        self._changed()
        return lots

    # --- on the engine loop ---------------------------------------------------------------------

    def _start_close(self, slot: StrategySlot, keys: list[str]) -> None:
        self._cancel_all(keys)
        self._tasks.spawn(self._close(slot), "close-position")

    async def _close(self, slot: StrategySlot) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._cancel_timeout()
        while self.book.open_orders(strategy=slot.id) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        position = self.book.strategy_positions.get(slot.id)
        if position is None or not position.lots:
            log.warning("close position: %s is flat already", slot.id)
            return
        order = Order(
            instrument=position.instrument,
            side=Side.SELL if position.lots > 0 else Side.BUY,
            type=OrderType.MARKET,
            lots=abs(position.lots),
            account=position.account or slot.spec.account,
            strategy=slot.id,
        )
        result = self._submit(order)
        log.warning(
            "close position: %s %s %d lot(s) of %s: %s%s",
            slot.id,
            order.side.value,
            order.lots,
            order.instrument,
            result.status.value,
            f" ({result.reason})" if result.reason else "",
        )

    def _stopped(self, slot: StrategySlot, keys: list[str], was: Any) -> None:
        if slot.started and slot.ctx is not None and was is not StrategyState.FAILED:
            self._dispatch(slot, "on_stop")
            slot.state = StrategyState.STOPPED
        self._cancel_all(keys + [o.id for o in self.book.open_orders(strategy=slot.id)])

    def _spawn_activate(self, slot: StrategySlot) -> None:
        self._tasks.spawn(self._activate(slot), "worklist")

    async def _activate(self, slot: StrategySlot) -> None:
        """Resolve the row's instrument, load its history and subscribe, then ``on_start``."""
        await self._bring_up(slot)
        if slot.ctx is not None and slot.state is not StrategyState.STOPPED and self._started():
            slot.started = True
            self._dispatch(slot, "on_start")
        self._changed()

    def _slot(self, strategy_id: str) -> StrategySlot:
        slot = self.slots.get(strategy_id)
        if slot is None:
            raise KeyError(f"no strategy {strategy_id!r} in the worklist")
        return slot

    def _held(self) -> bool:
        """Whether a row that starts now is HELD (trading HALTED, a flatten under way): the
        same rule as a resume by hand."""
        return bool(self._holds())
