"""Which strategies run where: the configured rows (or the demo), and their management at runtime.

A row is a :class:`StrategySpec`: strategy x instrument x account x parameters x budget
(``configs/worklist.example.toml``). At runtime :class:`WorklistManager` adds, removes, starts
and stops rows (the Engine's ``add_strategy`` / ``remove_strategy`` / ``start_strategy`` /
``stop_strategy``; pause and resume are the engine's own) and saves the worklist with each row's
state in the status store. The next run brings the saved worklist back (paused and stopped rows
stay so) unless the configured rows changed since it was saved: then the configuration wins.

A row is checked before it is added (:meth:`WorklistManager.check`): the strategy builds with its
parameters, the broker knows the instrument and the account, and no row with the same strategy,
instrument, account, timeframe and parameters exists (it would double the position). The offline
part (:func:`spec_problems`, :func:`duplicate_problems`) also checks the configured rows
(``avin config check``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from engine.broker.base import InstantLookup

if TYPE_CHECKING:
    from engine.runtime.engine import Engine
    from engine.runtime.slots import StrategySlot
    from engine.state.status_store import StatusStore

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


CHECK_TIMEOUT = 10.0  # seconds the broker gets to answer the checks of a new row


@dataclass(frozen=True, slots=True)
class SpecCheck:
    """What :meth:`WorklistManager.check` found: errors refuse the row; warnings need a yes."""

    spec: StrategySpec
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def instrument_key(text: str) -> str:
    """``SBER`` and ``MOEX_SHARE_SBER`` alike (a uid or figi stays as it is, upper-cased)."""
    from engine.model import parse_code

    try:
        return "_".join(parse_code(text))
    except ValueError:
        return text.strip().upper()


def _same_row_key(spec: StrategySpec, code: str = "") -> tuple[str, str, str]:
    return (spec.name.strip().lower(), code or instrument_key(spec.instrument), spec.account)


def _params_key(spec: StrategySpec) -> str:
    """The timeframe and the effective parameters (defaults filled in, when it builds)."""
    from engine.strategy.registry import build

    params: Any = spec.params
    timeframe = spec.timeframe.strip().upper()
    try:
        strategy = build(spec.name, spec.params, spec.timeframe)
        params, timeframe = strategy.params, strategy.timeframe.code
    except Exception:
        pass  # a row that does not build is reported as such; compare what it says
    return json.dumps({"tf": timeframe, "params": params}, sort_keys=True, default=str)


def spec_problems(spec: StrategySpec) -> list[str]:
    """What is wrong with a row on its own (no broker needed): names, parameters, budget."""
    from engine.strategy.registry import build

    problems: list[str] = []
    if not spec.name.strip():
        problems.append("strategy: required (e.g. sma_cross)")
    if not spec.instrument.strip():
        problems.append("instrument: required (a ticker like SBER or a code like MOEX_SHARE_SBER)")
    if not spec.account.strip():
        problems.append("account: required (e.g. sim-1)")
    if spec.budget is not None and spec.budget <= 0:
        problems.append("budget: must be positive (or empty for none)")
    if spec.name.strip():
        try:
            build(spec.name, spec.params, spec.timeframe)
        except Exception as exc:
            problems.append(f"strategy {spec.name!r}: {exc}")
    return problems


def duplicate_problems(
    spec: StrategySpec,
    existing: Sequence[tuple[str, StrategySpec, str]],
    code: str = "",
) -> tuple[list[str], list[str]]:
    """(errors, warnings) of ``spec`` against ``existing`` rows ``(id, spec, instrument code)``.

    The same strategy, instrument, account, timeframe and parameters is an error (two rows
    would trade the same signals twice and double the position); the same strategy on the same
    instrument and account with other parameters is a warning (allowed, but easy to do by
    mistake).
    """
    errors: list[str] = []
    warnings: list[str] = []
    key = _same_row_key(spec, code)
    for sid, other, other_code in existing:
        if _same_row_key(other, other_code) != key:
            continue
        where = f"{spec.name} on {spec.instrument.upper()} ({spec.account})"
        if _params_key(other) == _params_key(spec):
            errors.append(
                f"duplicate: {sid} already runs {where} with the same timeframe and parameters "
                "(a second row would double the position); change the parameters or the "
                "account, or start the existing row"
            )
        else:
            warnings.append(
                f"{sid} already runs {where} (timeframe {other.timeframe}, params "
                f"{json.dumps(other.params, sort_keys=True, default=str)}): both rows trade "
                "their own position on the same account"
            )
    return errors, warnings


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
        self._warn_duplicates()

    def _warn_duplicates(self) -> None:
        """Repeated rows from the configuration run (they always did), but say so loudly."""
        slots = list(self.engine.slots)
        for i, slot in enumerate(slots):
            earlier = [(s.id, s.spec, "") for s in slots[:i]]
            for message in duplicate_problems(slot.spec, earlier)[0]:
                log.error("worklist row %s: %s (`avin config check`)", slot.id, message)

    # --- persistence ----------------------------------------------------------------------------

    def _restore_states(self) -> None:
        """When the engine runs the saved worklist, bring back each row's paused/stopped state."""
        from engine.model.snapshot import StrategyState

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
        from engine.model.snapshot import StrategyState

        return [s for s in self.engine.slots if s.state is not StrategyState.FAILED]

    @staticmethod
    def _with_account(spec: StrategySpec, account: str) -> StrategySpec:
        import dataclasses

        return spec if account == spec.account else dataclasses.replace(spec, account=account)

    def _ask_broker(
        self, spec: StrategySpec, timeout: float
    ) -> tuple[tuple[str, str] | None, list[str]]:
        """((instrument code, account id) or None, errors) from the broker; (None, []) when it
        cannot be asked now (the engine is not connected): the row is then resolved on start."""
        engine = self.engine
        loop = engine._loop
        if not (engine.running and engine.connected) or loop is None or loop.is_closed():
            return None, []
        if threading.get_ident() == engine._loop_thread:
            broker = engine.broker
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
        from engine.runtime.accounts import DEFAULT_ACCOUNTS

        broker = self.engine.broker
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
        from engine.broker.base import UnknownInstrument

        if isinstance(exc, UnknownInstrument):
            return f"instrument {spec.instrument!r} is not known to the broker: {exc}"
        return f"cannot look up instrument {spec.instrument!r} at the broker: {exc}"

    # --- changes --------------------------------------------------------------------------------

    def add(self, spec: StrategySpec) -> str:
        """Add a row after :meth:`check` (a ValueError says what is wrong); it starts at once
        when the engine runs (paused while HALTED). Warnings do not refuse it."""
        from engine.model.snapshot import StrategyState
        from engine.runtime.slots import StrategySlot
        from engine.strategy.registry import build

        engine = self.engine
        base = f"{spec.name}:{spec.instrument.upper()}:{spec.account}"
        checked = self.check(spec)
        if checked.errors:
            raise ValueError(f"cannot add {base}: " + "; ".join(checked.errors))
        spec = checked.spec
        slot = StrategySlot(unique_id(base, (s.id for s in engine.slots)), spec)
        try:
            slot.strategy = build(spec.name, spec.params, spec.timeframe)
        except Exception as exc:
            raise ValueError(f"cannot add {base}: {exc}") from exc
        slot.state = StrategyState.HELD if self._halted() else StrategyState.RUNNING
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
        from engine.model.snapshot import StrategyState

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
        from engine.model.snapshot import StrategyState
        from engine.strategy.registry import build

        engine = self.engine
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
        slot.state = StrategyState.HELD if self._halted() else StrategyState.RUNNING
        if engine.running:
            engine._in_loop(lambda: self._spawn_activate(slot))
        log.warning("worklist: %s started", slot.id)
        self.persist()
        engine._significant()

    def close_position(self, strategy_id: str) -> int:
        """Close one row's position at market: the row is paused first (so it does not open
        again), its open orders are cancelled, then a market order for its lots is sent on its
        behalf. Returns the lots being closed (signed); a ValueError says why not."""
        from engine.model.snapshot import StrategyState, TradingState

        engine = self.engine
        slot = self._slot(strategy_id)
        position = engine.book.strategy_positions.get(slot.id)
        lots = position.lots if position is not None else 0
        if not lots:
            raise ValueError(f"{slot.id} holds no position: nothing to close")
        if engine.trading_state is TradingState.HALTED:
            raise ValueError(
                f"trading is HALTED: nothing can be sent; R resumes trading (or F flattens "
                f"everything), then close {slot.id}"
            )
        if not engine.running:
            raise ValueError("the engine is not running")
        if slot.state is StrategyState.RUNNING:
            slot.state = StrategyState.PAUSED
            self.persist()
        keys = [o.id for o in engine.book.open_orders(strategy=slot.id)]
        log.warning(
            "close position: %s holds %+d lot(s); paused, cancelling %d open order(s), then "
            "closing at market",
            slot.id,
            lots,
            len(keys),
        )
        engine._in_loop(lambda: self._start_close(slot, keys))
        engine._significant()
        return lots

    # --- on the engine loop ---------------------------------------------------------------------

    def _start_close(self, slot: StrategySlot, keys: list[str]) -> None:
        self.engine.router.cancel_all(keys)
        self.engine._spawn(self._close(slot), "close-position")

    async def _close(self, slot: StrategySlot) -> None:
        from engine.model import Order, OrderType, Side

        engine = self.engine
        loop = asyncio.get_running_loop()
        deadline = loop.time() + engine.risk.settings.flatten_cancel_timeout
        while engine.book.open_orders(strategy=slot.id) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        position = engine.book.strategy_positions.get(slot.id)
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
        result = engine.submit(order)
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
        from engine.model.snapshot import StrategyState

        engine = self.engine
        if slot.started and slot.ctx is not None and was is not StrategyState.FAILED:
            engine.host.dispatch(slot, "on_stop")
            slot.state = StrategyState.STOPPED
        engine.router.cancel_all(keys + [o.id for o in engine.book.open_orders(strategy=slot.id)])

    def _spawn_activate(self, slot: StrategySlot) -> None:
        self.engine._spawn(self._activate(slot), "worklist")

    async def _activate(self, slot: StrategySlot) -> None:
        """Resolve the row's instrument, load its history and subscribe, then ``on_start``."""
        from engine.model import TimeFrame
        from engine.model.snapshot import StrategyState
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
            await engine.market_feed.start([slot.instrument])  # its tape (and book if watched)
        if slot.state is not StrategyState.STOPPED and engine.started:
            slot.started = True
            engine.host.dispatch(slot, "on_start")
        engine._significant()

    def _slot(self, strategy_id: str) -> StrategySlot:
        slot = self.engine.strategy(strategy_id)
        if slot is None:
            raise KeyError(f"no strategy {strategy_id!r} in the worklist")
        return slot

    def _halted(self) -> bool:
        """Whether a row that starts now is HELD (trading HALTED, a flatten under way): the
        same rule as a resume by hand."""
        return bool(self.engine.holds_strategies())
