"""The engine's persistent state: journal hooks, state snapshots, workspace, recovery results.

The engine owns one :class:`StateKeeper`, given the engine's parts and its ``kill`` (never the
engine). With a store that has a journal (any :class:`~engine.state.BaseStore`) it writes every
order intent before the order is sent (through the router), every order change and fill after it
happens, and a full state snapshot whenever the engine saves its status (every
``snapshot_interval`` seconds and on every significant change); start-up recovery
(:func:`engine.runtime.recovery.restore`) fills in what it restored. With a plain status store
(or none) it does nothing. A journal write that fails halts trading.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from engine.model import Fill, Order
from engine.model.snapshot import StrategyState
from engine.state.base import BaseStore
from engine.state.codec import encode_order, encode_position
from engine.state.journal import OrderJournal
from engine.state.workspace import read_workspace, save_workspace

if TYPE_CHECKING:
    from engine.runtime.parts import EngineParts
    from engine.runtime.slots import StrategySlot

log = logging.getLogger("avin.state")


class Report(Protocol):
    def to_json(self) -> dict[str, Any]: ...


FORMAT = 1
FINISHED_KEPT = 200  # finished orders kept in a state snapshot (all stay in the journal)
FILL_IDS_KEPT = 5000
COMPACT_EVERY = 100  # state saves between journal compactions
REARM = "risk_rearm"  # ``avin resume`` while no engine ran: re-arm the triggers at the next start


@dataclass(frozen=True)
class Captured:
    """A state snapshot taken on the engine loop, to be written elsewhere."""

    journal_seq: int
    data: dict[str, Any]


class StateKeeper:
    def __init__(self, parts: EngineParts, kill: Callable[[str], None]) -> None:
        self.parts = parts
        self._kill = kill  # a journal that cannot be written halts trading
        store = parts.store
        self.store: BaseStore | None = store if isinstance(store, BaseStore) else None
        self.journal: OrderJournal | None = None
        self.report: Report | None = None  # what the last start recovered (engine.runtime.recovery)
        self.strategy_states: dict[str, dict[str, Any]] = {}  # restored, by strategy id
        self.credits: dict[str, int] = {}  # lots of synthesized fills not yet seen from the broker
        self.restored_fill_ids: list[str] = []  # booked before the restart (kept in snapshots)
        self._workspace: dict[str, Any] = {}
        self._failed = False
        self._saves = 0
        if self.store is not None:
            self.journal = OrderJournal(self.store)

    @property
    def enabled(self) -> bool:
        return self.journal is not None

    # --- recovery (engine.runtime.recovery.restore fills these in) ----------------------------

    def start_hook(self, slot: StrategySlot) -> str:
        """``on_resume`` (after ``restore(state)``) for a strategy with saved state, else ``on_start``."""
        saved = self.strategy_states.get(slot.id)
        strategy = slot.strategy
        if saved is None or strategy is None:
            return "on_start"
        restore = getattr(strategy, "restore", None)
        if callable(restore):
            try:
                restore(dict(saved.get("data") or {}))
            except Exception as exc:
                log.error("strategy %s cannot restore its state: %s", slot.id, exc)
                return "on_start"
        return "on_resume" if hasattr(strategy, "on_resume") else "on_start"

    # --- journal hooks (engine loop) ------------------------------------------------------------

    def order_changed(self, order: Order) -> None:
        if self.journal is not None:
            self._write(self.journal.order, order)

    def fill(self, fill: Fill) -> None:
        if self.journal is not None:
            self._write(self.journal.fill, fill)

    def net(self, data: dict[str, Any]) -> None:
        """A netting: the net order's key and its shares (engine.runtime.netting)."""
        if self.journal is not None:
            self._write(self.journal.net, data)

    def absorb(self, fill: Fill) -> bool:
        """A broker fill already booked by a fill recovery synthesized: drop it (True)."""
        credit = self.credits.get(fill.order_id, 0)
        if credit <= 0:
            return False
        self.credits[fill.order_id] = credit - min(credit, fill.lots)
        log.info("fill %s was already booked during recovery", fill.fill_id)
        return True

    def _write(self, fn: Any, item: Any) -> None:
        try:
            fn(item)
        except Exception as exc:
            if not self._failed:
                self._failed = True
                log.critical("the order journal cannot be written: %s", exc)
                self._kill(f"the order journal cannot be written: {exc}")

    # --- workspace ------------------------------------------------------------------------------

    def save_workspace(self, data: dict[str, Any]) -> None:
        """The UI's workspace record (:mod:`engine.state.workspace`; its layout version is
        ``data["version"]``, 1 when absent)."""
        self._workspace = dict(data)
        if self.store is not None:
            try:
                version = data.get("version", 1)
                save_workspace(
                    self.store, self._workspace, version if isinstance(version, int) else 1
                )
            except Exception as exc:
                log.error("saving the workspace failed: %s", exc)

    def workspace(self) -> dict[str, Any]:
        return dict(self._workspace)

    # --- a resume asked for while no engine ran -------------------------------------------------

    def take_rearm(self) -> bool:
        """Whether ``avin resume`` ran while no engine did (the request is consumed)."""
        if self.store is None:
            return False
        try:
            if not self.store.get(REARM):
                return False
            self.store.put(REARM, None)
        except Exception as exc:
            log.error("reading the resume request failed: %s", exc)
            return False
        return True

    def load_workspace(self, fallback: Any) -> None:
        """The workspace record in the store; ``fallback``: a state snapshot's copy (written by
        versions before the record had its own place)."""
        data = read_workspace(self.store).data if self.store is not None else None
        if not isinstance(data, dict):
            data = fallback if isinstance(fallback, dict) else {}
        self._workspace = dict(data)

    # --- snapshots (worker thread) --------------------------------------------------------------

    def public(self, data: dict[str, Any]) -> dict[str, Any]:
        """The status JSON plus what the last start recovered and reconciled."""
        if self.report is not None:
            data["recovery"] = self.report.to_json()
        return data

    def prepare(self) -> Captured | None:
        """The state to save and the last journal event it includes, taken together ON THE
        ENGINE LOOP: a capture in another thread could see a fill's id but not its position,
        and recovery would then skip that fill's journal event as already booked."""
        if self.store is None or self.journal is None:
            return None
        return Captured(self.journal.last_seq, self.capture())

    def write(self, captured: Captured | None) -> None:
        """Write what :meth:`prepare` took (in any thread)."""
        if self.store is None or captured is None:
            return
        self.store.save_state(captured.data, captured.journal_seq)
        self._saves += 1
        if self._saves % COMPACT_EVERY == 0:  # replay reads the archive too: always safe
            self.store.compact(captured.journal_seq)

    def save(self) -> None:
        """Prepare and write at once (on the engine loop, or while it does not run)."""
        self.write(self.prepare())

    def compact_now(self) -> int:
        if self.store is None or self.journal is None:
            return 0
        return self.store.compact(self.journal.last_seq)

    def capture(self) -> dict[str, Any]:
        parts = self.parts
        book = parts.book
        orders = list(book.orders.values())
        finished = [o for o in orders if not o.is_open][-FINISHED_KEPT:]
        kept = [o for o in orders if o.is_open] + finished
        strategies: dict[str, Any] = {}
        for slot in parts.slots.all:
            persist = getattr(slot.strategy, "persist", None)
            data: Any = {}
            if callable(persist):
                try:
                    data = copy.deepcopy(persist())  # written in another thread: no live dict
                except Exception as exc:
                    log.error("strategy %s cannot persist its state: %s", slot.id, exc)
                    data = self.strategy_states.get(slot.id, {}).get("data", {})
            state = slot.state
            if state is StrategyState.STOPPED:
                state = StrategyState.RUNNING  # stopped by the shutdown: runs again next time
            strategies[slot.id] = {"state": state.value, "error": slot.error, "data": data}
        market = parts.market.now
        return {
            "format": FORMAT,
            "mode": parts.options.mode.value,
            "trading_state": parts.switch.state.value,
            "halt_reason": parts.switch.reason,
            "market_ts": market.isoformat() if market else None,
            "counters": dict(parts.counters),
            "orders": [encode_order(o) for o in kept],
            "positions": [encode_position(p) for p in list(book.positions.values())],
            "strategy_positions": {
                sid: encode_position(p) for sid, p in list(book.strategy_positions.items())
            },
            # the ids booked before the last restart too, or a third run forgets them
            "fill_ids": list(
                dict.fromkeys(
                    [*self.restored_fill_ids, *(f.fill_id for f in book.fills[-FILL_IDS_KEPT:])]
                )
            )[-FILL_IDS_KEPT:],
            "strategies": strategies,
            "credits": dict(self.credits),
            # net orders still to fill -> their internal orders' open shares (engine.orders.netting)
            "net_shares": {k: dict(v) for k, v in list(book.net_shares.items())},
            # trigger baselines (trading day, peak), fired ones
            "risk": parts.risk.to_json() if parts.risk is not None else {},
        }


def keys_of(orders: Iterable[Order]) -> list[str]:
    return [o.id for o in orders]
