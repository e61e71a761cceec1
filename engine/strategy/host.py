"""The strategy host: how a strategy's hooks are called and what happens to the orders it queues.

One host serves the live engine (:class:`~engine.runtime.engine.Engine`) and the backtester
(:class:`~engine.backtest.runner.Backtester`), so both run a strategy the same way:

1. **Calling a hook** (:meth:`StrategyHost.dispatch`): ``on_start``, ``on_bar``, ``on_order``,
   ``on_fill``, ``on_stop``... with the strategy's :class:`StrategyContext`. A hook the strategy
   does not override (the base class's no-op) is skipped. An exception never escapes the host:
   the orders queued in that hook are dropped and the ``failed`` callback decides (the engine
   marks the strategy FAILED, counts it and halts trading on an error storm; a backtest stops
   the run with the hook, the time and the error). Hooks nested deeper than ``max_depth`` (an
   ``on_order`` that places an order whose rejection calls ``on_order`` again...) fail the same
   way.
2. **Draining intents** after the hook returned: cancels go to ``cancel``; each order is first
   ``admit``-ted (may this strategy place orders now?), then :meth:`submit`-ted.
3. **Submitting** (:meth:`submit`): the pre-trade ``gate`` (the risk rules; a reason, empty when
   the order may go) and either ``reject`` (recorded as rejected, the strategy learns it in
   ``on_order``) or ``post`` (recorded and sent, or matched in a backtest).

The host knows no engine, no broker and no risk module: they are handed in as callables.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from engine.model import Order
from engine.strategy.base import Strategy
from engine.strategy.context import CancelIntent, PostIntent, StrategyContext

MAX_DEPTH = 8  # hooks nested in one another (orders placed from on_order, ...)

# the hooks of the base class that do nothing: skipped when a strategy does not override them
_NO_OPS = ("on_start", "on_bar", "on_order", "on_fill", "on_stop")


class Hosted(Protocol):
    """One strategy instance as the host sees it (the engine's slot, a backtest's run)."""

    @property
    def id(self) -> str: ...

    @property
    def strategy(self) -> Strategy | None: ...

    @property
    def ctx(self) -> StrategyContext | None: ...


S = TypeVar("S", bound=Hosted)

Gate = Callable[[Order], str]  # the pre-trade rules: why the order may not go, "" when it may
Failed = Callable[[S, str, BaseException, int], None]  # slot, hook, error, dropped intents


class HostedStrategy:
    """A strategy and its context, for callers without slots of their own (a backtest)."""

    def __init__(self, id: str, strategy: Strategy, ctx: StrategyContext) -> None:
        self.id = id
        self.strategy: Strategy | None = strategy
        self.ctx: StrategyContext | None = ctx


class StrategyHost(Generic[S]):
    """Calls hooks fail-safe, drains their intents, runs the pre-trade gate and posts."""

    def __init__(
        self,
        *,
        post: Callable[[Order], Any],
        reject: Callable[[Order, str], Any],
        cancel: Callable[[str], Any],
        failed: Failed[S],
        clock: Callable[[], datetime | None],
        gate: Gate | None = None,
        admit: Callable[[S], str] | None = None,
        max_depth: int = MAX_DEPTH,
    ) -> None:
        self._post = post
        self._reject = reject
        self._cancel = cancel
        self._failed = failed
        self._clock = clock
        self.gate = gate
        self._admit = admit
        self.max_depth = max_depth
        self.depth = 0  # hooks running now (nested ones included)
        self._skips: dict[type, frozenset[str]] = {}

    def skips(self, strategy: Strategy) -> frozenset[str]:
        """The no-op hooks ``strategy`` does not override (never called)."""
        kind = type(strategy)
        found = self._skips.get(kind)
        if found is None:
            found = self._skips[kind] = frozenset(
                hook for hook in _NO_OPS if getattr(kind, hook) is getattr(Strategy, hook)
            )
        return found

    def overrides(self, strategy: Strategy, hook: str) -> bool:
        """Whether dispatching ``hook`` would call ``strategy`` (a caller's shortcut)."""
        return hook not in self.skips(strategy)

    def dispatch(self, slot: S, hook: str, *args: Any) -> bool:
        """Call ``hook`` of ``slot``'s strategy, then act on what it queued. False: it failed."""
        ctx, strategy = slot.ctx, slot.strategy
        if ctx is None or strategy is None:
            return True
        if self.depth < self.max_depth:  # (too deep: it fails, called or not)
            skips = self._skips.get(strategy.__class__)
            if hook in (skips if skips is not None else self.skips(strategy)):
                return True
        try:
            method = getattr(strategy, hook)
        except AttributeError as exc:  # a hook name the strategy lacks (a subclass deleted it)
            ctx.take_intents()
            self._failed(slot, hook, exc, 0)
            return False
        return self._call(slot, ctx, hook, method, *args)

    def bind(self, slot: S, hook: str) -> Callable[..., bool]:
        """:meth:`dispatch` of ``hook`` with its lookups done once, for a hot path (a backtest's
        ``on_bar``); valid while ``slot`` keeps its strategy and context."""
        ctx, strategy = slot.ctx, slot.strategy
        if ctx is None or strategy is None or hook in self.skips(strategy):
            return partial(self.dispatch, slot, hook)
        return partial(self._call, slot, ctx, hook, getattr(strategy, hook))

    def _call(
        self, slot: S, ctx: StrategyContext, hook: str, method: Callable[..., Any], *args: Any
    ) -> bool:
        if self.depth >= self.max_depth:
            dropped = ctx.take_intents()
            error = RecursionError(f"orders placed from {hook} loop endlessly")
            self._failed(slot, hook, error, len(dropped))
            return False
        self.depth += 1
        try:
            try:
                method(ctx, *args)
            except Exception as exc:
                dropped = ctx.take_intents()
                self._failed(slot, hook, exc, len(dropped))
                return False
            if ctx.pending_intents:
                self.drain(slot)
            return True
        finally:
            self.depth -= 1

    def drain(self, slot: S) -> None:
        """Act on the intents ``slot``'s strategy queued: cancel, or admit and submit."""
        ctx = slot.ctx
        if ctx is None:
            return
        admit = self._admit
        for intent in ctx.take_intents():
            if isinstance(intent, CancelIntent):
                self._cancel(intent.order_key)
            elif isinstance(intent, PostIntent):
                why = admit(slot) if admit is not None else ""
                if why:
                    self._reject(intent.order, why)
                else:
                    self.submit(intent.order)

    def submit(self, order: Order) -> Order:
        """The pre-trade gate, then ``post`` (or ``reject`` with the gate's reason)."""
        gate = self.gate
        reason = gate(order) if gate is not None else ""
        if reason:
            self._reject(order, reason)
            return order
        if order.created_ts is None:
            order.created_ts = self._clock()
        self._post(order)
        return order
