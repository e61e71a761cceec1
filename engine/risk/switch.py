"""The kill switch: the one owner of the trading state, its reason and its latch.

Every change of the trading state goes through :class:`TradingSwitch` (a kill, an automatic
trigger, a flatten, a reduce, a deliberate resume, the latch restored at start, a recovery that
cannot reconcile); nothing else writes it. Each change is announced to the listeners as one
:class:`TradingChange`: the engine saves the latch at once, holds the running strategies when the
change ``holds`` them and runs the held ones again when it ``releases`` them, and the risk desk
re-arms its triggers on a resume.

The rules (docs/risk.md):

- ``halt``: HALTED from any state (again while HALTED: the newer reason);
- ``reduce``: REDUCING; asked for by the operator it leaves HALTED too (a deliberate act), fired
  by a trigger (``automatic``) it only ever tightens ACTIVE;
- ``flatten``: REDUCING while the positions are closed; the strategies are held until a resume;
- ``resume``: ACTIVE, the only way out of a latched HALTED; held strategies run again;
- ``restore``: the state latched by the previous run, at start, before anything trades.

What an order may do in each state is one rule, :func:`engine.risk.checks.trading_state`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from engine.model.snapshot import TradingState

log = logging.getLogger("avin.risk")


@dataclass(frozen=True, slots=True)
class TradingChange:
    """One decision of the switch: the state before and after, why, and what it does to the
    strategies (``holds``: running ones are held; ``releases``: held ones run again)."""

    action: str  # "halt", "reduce", "flatten", "resume", "restore"
    before: TradingState
    after: TradingState
    reason: str
    holds: bool = False
    releases: bool = False

    @property
    def changed(self) -> bool:
        return self.before is not self.after


Listener = Callable[[TradingChange], None]


class TradingSwitch:
    """State, reason and latch of trading; thread-safe (the UI's kill key calls it directly)."""

    def __init__(self) -> None:
        self._state = TradingState.ACTIVE
        self._reason = ""
        self._flattening = False
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    # --- reading --------------------------------------------------------------------------------

    @property
    def state(self) -> TradingState:
        return self._state

    @property
    def reason(self) -> str:
        """Why trading is HALTED or REDUCING; empty when ACTIVE."""
        return self._reason

    @property
    def flattening(self) -> bool:
        """A flatten is closing the positions (from :meth:`flatten` to :meth:`flatten_done`)."""
        return self._flattening

    @property
    def halted(self) -> bool:
        return self._state is TradingState.HALTED

    def holds(self) -> str:
        """What holds the strategies now: "halted", "flattening", or "" when nothing does."""
        if self._state is TradingState.HALTED:
            return "halted"
        if self._flattening:
            return "flattening"
        return ""

    def subscribe(self, listener: Listener) -> None:
        """``listener(change)`` after every decision, in the thread that made it."""
        self._listeners.append(listener)

    # --- deciding -------------------------------------------------------------------------------

    def halt(self, reason: str = "manual") -> bool:
        """HALTED now; True when trading was not HALTED before."""
        change = self._set("halt", TradingState.HALTED, reason or "manual", holds=True)
        return change.changed

    def reduce(self, reason: str = "manual", *, automatic: bool = False) -> bool:
        """REDUCING; ``automatic`` (a trigger) only from ACTIVE. True when the state changed."""
        if automatic and self._state is not TradingState.ACTIVE:
            return False
        return self._set("reduce", TradingState.REDUCING, reason).changed

    def flatten(self, reason: str = "manual") -> None:
        """REDUCING while a flatten closes the positions; the strategies are held."""
        self._flattening = True
        self._set("flatten", TradingState.REDUCING, f"flatten: {reason}", holds=True)

    def flatten_done(self) -> None:
        """The flatten has sent its closing orders (or gave up): it no longer holds anything
        new; the strategies it held stay held until a resume."""
        self._flattening = False

    def resume(self, reason: str = "resumed") -> None:
        """ACTIVE, deliberately (the only way out of HALTED): held strategies run again."""
        self._flattening = False
        self._set("resume", TradingState.ACTIVE, reason or "resumed", releases=True)

    def restore(self, state: TradingState, reason: str) -> None:
        """The state the previous run latched (at start, before recovery and trading)."""
        if state is TradingState.ACTIVE:
            return
        log.warning("trading state %s latched from the previous run (%s)", state.value, reason)
        self._set("restore", state, reason, holds=state is TradingState.HALTED, quiet=True)

    def _set(
        self,
        action: str,
        state: TradingState,
        reason: str,
        *,
        holds: bool = False,
        releases: bool = False,
        quiet: bool = False,
    ) -> TradingChange:
        with self._lock:
            before = self._state
            self._state = state
            self._reason = "" if state is TradingState.ACTIVE else reason
        change = TradingChange(action, before, state, reason, holds, releases)
        if change.changed and not quiet and state is not TradingState.HALTED:
            log.warning(
                "trading state %s -> %s %s",
                before.value,
                state.value,
                f"({reason})" if reason else "",
            )
        for listener in list(self._listeners):
            listener(change)
        return change
