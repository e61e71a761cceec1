"""One configured strategy inside the engine: its instance, context, state and last error.

A slot's state follows one transition table, :data:`TRANSITIONS` (as an order's does): every
change goes through it and an illegal one raises :class:`IllegalSlotTransition`, whoever asks
(the control API, the kill switch's listeners, the worklist, recovery, the strategy host).
Setting the state it already has changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.model import Instrument
from engine.model.redact import redact
from engine.model.snapshot import StrategyState
from engine.runtime.worklist import StrategySpec
from engine.strategy.base import Strategy
from engine.strategy.context import StrategyContext

_R, _P, _H, _S, _F = (
    StrategyState.RUNNING,
    StrategyState.PAUSED,
    StrategyState.HELD,
    StrategyState.STOPPED,
    StrategyState.FAILED,
)

TRANSITIONS: dict[StrategyState, frozenset[StrategyState]] = {
    # paused by hand, held by the trading state, stopped (row or shutdown), failed in a hook
    _R: frozenset({_P, _H, _S, _F}),
    # resumed by hand (held while trading is halted), held, stopped, failed (a late fill hook)
    _P: frozenset({_R, _H, _S, _F}),
    # released by a resume of trading, paused by hand, stopped, failed
    _H: frozenset({_R, _P, _S, _F}),
    # started again (held while halted); failed in ``on_stop`` or resolving its instrument
    _S: frozenset({_R, _H, _F}),
    # restarted by hand (held while halted), stopped as a row
    _F: frozenset({_R, _H, _S}),
}
# Never: a stopped or failed row "paused" (it runs nothing to pause; start or restart it).


class IllegalSlotTransition(ValueError):
    """A strategy state change the table does not allow (a bug in the caller)."""


def can_move(before: StrategyState, after: StrategyState) -> bool:
    return before is after or after in TRANSITIONS[before]


@dataclass(slots=True)
class StrategySlot:
    id: str
    spec: StrategySpec
    strategy: Strategy | None = None  # None when it could not be built
    ctx: StrategyContext | None = None  # set once the instrument is resolved
    instrument: Instrument | None = None
    errors: int = 0
    started: bool = False
    _state: StrategyState = field(default=StrategyState.RUNNING, init=False, repr=False)
    _error: str = field(default="", init=False, repr=False)

    @property
    def error(self) -> str:
        """The last failure in words; redacted, as it goes to the state, the status store and
        the screen (a strategy's exception may quote the token)."""
        return self._error

    @error.setter
    def error(self, text: str) -> None:
        self._error = redact(text) if text else ""

    @property
    def state(self) -> StrategyState:
        return self._state

    @state.setter
    def state(self, after: StrategyState) -> None:
        if not can_move(self._state, after):
            raise IllegalSlotTransition(
                f"strategy {self.id}: {self._state.value} -> {after.value} is not allowed"
            )
        self._state = after

    @property
    def instrument_code(self) -> str:
        return self.instrument.code if self.instrument else self.spec.instrument.upper()

    @property
    def active(self) -> bool:
        """Receives order and fill notifications (running or paused)."""
        return self.ctx is not None and self._state in _ACTIVE


_ACTIVE = (StrategyState.RUNNING, StrategyState.PAUSED, StrategyState.HELD)


def hold_running(slots: Iterable[StrategySlot]) -> list[StrategySlot]:
    """Every running strategy HELD by the trading state (a kill, a flatten, a latched halt);
    those paused by hand stay paused. Returns the slots it held."""
    held = [s for s in slots if s.state is StrategyState.RUNNING]
    for slot in held:
        slot.state = StrategyState.HELD
    return held


def release_held(slots: Iterable[StrategySlot]) -> list[StrategySlot]:
    """Every HELD strategy running again (a resume of trading). Returns the slots it released."""
    held = [s for s in slots if s.state is StrategyState.HELD]
    for slot in held:
        slot.state = StrategyState.RUNNING
    return held


class SlotTable:
    """The engine's strategy slots in worklist order, by id. A change makes a new list, so a
    reader in another thread (a snapshot) always iterates a whole one."""

    def __init__(self, slots: Iterable[StrategySlot] = ()) -> None:
        self.all: list[StrategySlot] = list(slots)
        self._by_id = {s.id: s for s in self.all}

    def get(self, strategy_id: str) -> StrategySlot | None:
        return self._by_id.get(strategy_id)

    def ids(self) -> list[str]:
        return [s.id for s in self.all]

    def add(self, slot: StrategySlot) -> None:
        self.all = [*self.all, slot]
        self._by_id[slot.id] = slot

    def remove(self, strategy_id: str) -> None:
        self.all = [s for s in self.all if s.id != strategy_id]
        self._by_id.pop(strategy_id, None)


def slot_ids(specs: list[StrategySpec]) -> list[str]:
    """Stable, readable ids: ``sma_cross:SBER:sim-1`` (``#2`` etc. for repeats)."""
    ids: list[str] = []
    seen: dict[str, int] = {}
    for spec in specs:
        base = f"{spec.name}:{spec.instrument.upper()}:{spec.account}"
        n = seen.get(base, 0) + 1
        seen[base] = n
        ids.append(base if n == 1 else f"{base}#{n}")
    return ids
