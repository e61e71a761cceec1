"""Which strategies run where: the configured rows (or the demo), and their management at runtime.

A row is a :class:`StrategySpec`: strategy x instrument x account x parameters x budget
(``configs/worklist.example.toml``). At runtime :class:`WorklistManager` adds, removes, starts
and stops rows (the Engine's ``add_strategy`` / ``remove_strategy`` / ``start_strategy`` /
``stop_strategy``; pause and resume are the engine's own) and saves the worklist with each row's
state in the status store. The next run brings the saved worklist back (paused and stopped rows
stay so) unless the configured rows changed since it was saved: then the configuration wins.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from engine.runtime.engine import Engine
    from engine.runtime.slots import StrategySlot
    from engine.runtime.status_store import StatusStore

log = logging.getLogger("avin.worklist")


@dataclass(frozen=True, slots=True)
class StrategySpec:
    name: str  # registry name (``sma_cross``) or ``package.module:ClassName``
    instrument: str  # ticker or code
    account: str = "sim-1"
    timeframe: str = "1M"
    params: dict[str, Any] = field(default_factory=dict)
    budget: Decimal | None = None  # capital budget (RUB) the row's orders cannot exceed

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "instrument": self.instrument,
            "account": self.account,
            "timeframe": self.timeframe,
            "params": dict(self.params),
            "budget": None if self.budget is None else str(self.budget),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StrategySpec:
        budget = data.get("budget")
        return cls(
            str(data["name"]),
            str(data["instrument"]),
            str(data.get("account", "sim-1")),
            str(data.get("timeframe", "1M")),
            dict(data.get("params") or {}),
            None if budget in (None, "") else Decimal(str(budget)),
        )


DEMO_WORKLIST: tuple[StrategySpec, ...] = (
    StrategySpec("sma_cross", "SBER"),
    StrategySpec("sma_cross", "GAZP"),
    StrategySpec("sma_cross", "LKOH"),
)


class _Row(Protocol):
    name: str
    instrument: str
    account: str
    timeframe: str
    params: dict[str, Any]


def worklist_from_rows(rows: Iterable[_Row]) -> list[StrategySpec]:
    """The configured strategy rows, or the demo worklist when the list is empty."""
    specs = [
        StrategySpec(
            r.name,
            r.instrument,
            r.account,
            r.timeframe,
            dict(r.params),
            getattr(r, "budget", None),
        )
        for r in rows
    ]
    return specs or list(DEMO_WORKLIST)


def _fingerprint(specs: Iterable[StrategySpec]) -> str:
    text = json.dumps([s.to_json() for s in specs], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def initial_worklist(rows: Iterable[_Row], store: StatusStore | None) -> list[StrategySpec]:
    """The worklist saved at runtime when the configured rows are unchanged, else the config's."""
    configured = worklist_from_rows(rows)
    saved = store.load_worklist() if store is not None else None
    if not saved:
        return configured
    if saved.get("config") != _fingerprint(configured):
        log.warning("the configured worklist changed since the last run: using the configuration")
        return configured
    try:
        return [StrategySpec.from_json(row) for row in saved.get("rows", [])]
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        log.error("the saved worklist is unreadable (%s): using the configuration", exc)
        return configured


def unique_id(base: str, taken: Iterable[str]) -> str:
    used = set(taken)
    if base not in used:
        return base
    n = 2
    while f"{base}#{n}" in used:
        n += 1
    return f"{base}#{n}"


class WorklistManager:
    """Runtime changes to the engine's worklist, saved in the status store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # the fingerprint of the *configured* rows the saved worklist derives from
        self.config_fingerprint = _fingerprint(s.spec for s in engine.slots)
        self._restore_states()

    # --- persistence ----------------------------------------------------------------------------

    def _restore_states(self) -> None:
        """When the engine runs the saved worklist, bring back each row's paused/stopped state."""
        from engine.runtime.snapshot import StrategyState

        store = self.engine.store
        saved = store.load_worklist() if store is not None else None
        if not saved:
            return
        try:
            rows = [StrategySpec.from_json(r) for r in saved.get("rows", [])]
        except (KeyError, TypeError, ValueError, ArithmeticError):
            return
        if _fingerprint(rows) != _fingerprint(s.spec for s in self.engine.slots):
            return  # the configuration won (see initial_worklist)
        self.config_fingerprint = str(saved.get("config", self.config_fingerprint))
        states = saved.get("states", {})
        for slot in self.engine.slots:
            state = states.get(slot.id)
            if state in ("paused", "stopped"):
                slot.state = StrategyState(state)

    def persist(self) -> None:
        """Save the rows and their states (the next run starts from them)."""
        store = self.engine.store
        if store is None:
            return
        slots = list(self.engine.slots)
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

    # --- changes --------------------------------------------------------------------------------

    def add(self, spec: StrategySpec) -> str:
        """Add a row; it starts at once when the engine runs (paused while HALTED)."""
        from engine.runtime.slots import StrategySlot
        from engine.runtime.snapshot import StrategyState
        from engine.strategy.registry import build

        engine = self.engine
        base = f"{spec.name}:{spec.instrument.upper()}:{spec.account}"
        slot = StrategySlot(unique_id(base, (s.id for s in engine.slots)), spec)
        try:
            slot.strategy = build(spec.name, spec.params, spec.timeframe)
        except Exception as exc:
            raise ValueError(f"cannot add {base}: {exc}") from exc
        slot.state = StrategyState.PAUSED if self._halted() else StrategyState.RUNNING
        engine.slots = [*engine.slots, slot]  # a new list: readers in other threads stay safe
        engine._slots_by_id[slot.id] = slot
        log.warning("worklist: %s added", slot.id)
        if engine.running:
            engine._in_loop(lambda: self._spawn_activate(slot))
        self.persist()
        engine._significant()
        return slot.id

    def remove(self, strategy_id: str) -> None:
        """Remove a row; refused while its position is open (stop it and flatten first)."""
        engine = self.engine
        slot = self._slot(strategy_id)
        position = engine.book.strategy_positions.get(slot.id)
        if position is not None and position.lots:
            raise ValueError(
                f"{slot.id} holds {position.lots:+d} lot(s): close the position before removing it"
            )
        self.stop(strategy_id, save=False)
        engine.slots = [s for s in engine.slots if s.id != slot.id]
        engine._slots_by_id.pop(slot.id, None)
        log.warning("worklist: %s removed", slot.id)
        self.persist()
        engine._significant()

    def stop(self, strategy_id: str, *, save: bool = True) -> None:
        """Stop a row: its ``on_stop`` runs and its open orders are cancelled."""
        from engine.runtime.snapshot import StrategyState

        engine = self.engine
        slot = self._slot(strategy_id)
        if slot.state is not StrategyState.STOPPED:
            was = slot.state
            slot.state = StrategyState.STOPPED
            keys = [o.id for o in engine.book.open_orders(strategy=slot.id)]
            engine._in_loop(lambda: self._stopped(slot, keys, was))
            log.warning("worklist: %s stopped (%d open order(s) cancelled)", slot.id, len(keys))
        if save:
            self.persist()
        engine._significant()

    def start(self, strategy_id: str) -> None:
        """Start a stopped (or failed) row again: a fresh instance, ``on_start`` again."""
        from engine.runtime.snapshot import StrategyState
        from engine.strategy.registry import build

        engine = self.engine
        slot = self._slot(strategy_id)
        if slot.state in (StrategyState.RUNNING, StrategyState.PAUSED):
            return
        try:
            slot.strategy = build(slot.spec.name, slot.spec.params, slot.spec.timeframe)
        except Exception as exc:
            raise ValueError(f"cannot start {slot.id}: {exc}") from exc
        slot.error = ""
        slot.ctx = None
        slot.started = False
        slot.state = StrategyState.PAUSED if self._halted() else StrategyState.RUNNING
        if engine.running:
            engine._in_loop(lambda: self._spawn_activate(slot))
        log.warning("worklist: %s started", slot.id)
        self.persist()
        engine._significant()

    # --- on the engine loop ---------------------------------------------------------------------

    def _stopped(self, slot: StrategySlot, keys: list[str], was: Any) -> None:
        from engine.runtime.snapshot import StrategyState

        engine = self.engine
        if slot.started and slot.ctx is not None and was is not StrategyState.FAILED:
            engine._dispatch(slot, "on_stop")
            slot.state = StrategyState.STOPPED
        engine.router.cancel_all(keys + [o.id for o in engine.book.open_orders(strategy=slot.id)])

    def _spawn_activate(self, slot: StrategySlot) -> None:
        self.engine._spawn(self._activate(slot), "worklist")

    async def _activate(self, slot: StrategySlot) -> None:
        """Resolve the row's instrument, load its history and subscribe, then ``on_start``."""
        from engine.model import TimeFrame
        from engine.runtime.snapshot import StrategyState
        from engine.runtime.startup import load_chart_history, resolve_slot

        engine = self.engine
        known = set(engine.charts)
        await resolve_slot(engine, slot)
        if slot.ctx is None or slot.instrument is None:
            engine._significant()
            return
        code = slot.instrument.code
        if code not in known:
            await load_chart_history(engine, [code])
            await engine.broker.subscribe_bars(slot.instrument, TimeFrame.M1)
            await engine.broker.subscribe_prices(slot.instrument)
        if slot.state is not StrategyState.STOPPED and engine.started:
            slot.started = True
            engine._dispatch(slot, "on_start")
        engine._significant()

    def _slot(self, strategy_id: str) -> StrategySlot:
        slot = self.engine.strategy(strategy_id)
        if slot is None:
            raise KeyError(f"no strategy {strategy_id!r} in the worklist")
        return slot

    def _halted(self) -> bool:
        from engine.runtime.snapshot import TradingState

        return self.engine.trading_state is TradingState.HALTED
