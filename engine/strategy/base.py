"""The strategy base class: lifecycle hooks the engine calls, nothing else.

A strategy never talks to the broker and never blocks: it reads its charts and position through the
:class:`~engine.strategy.context.StrategyContext` and places orders with it; the engine sends them
after the hook returns. Hooks:

- ``on_start(ctx)`` once, after history is loaded (charts have depth);
- ``on_bar(ctx, timeframe, bar)`` when a bar of one of ``timeframes`` CLOSES;
- ``on_order(ctx, order)`` when one of its orders changes status;
- ``on_fill(ctx, fill)`` for each fill of its orders;
- ``on_stop(ctx)`` once, at shutdown;
- ``on_resume(ctx)`` instead of ``on_start`` after a restart that restored ``state``.

An exception in a hook marks the strategy FAILED; the engine keeps running.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from engine.model import Bar, Fill, Order, TimeFrame

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from engine.strategy.context import StrategyContext


class StrategyParamError(ValueError):
    """A strategy parameter is unknown or has a bad value."""


class Strategy:
    """Subclass it, set ``name``, ``timeframes`` and ``default_params``, override the hooks.

    ``timeframes[0]`` is the main timeframe; a configured timeframe replaces it.
    """

    name: ClassVar[str] = ""
    timeframes: tuple[TimeFrame, ...] = (TimeFrame.M1,)
    default_params: ClassVar[Mapping[str, Any]] = {}

    def __init__(
        self, params: Mapping[str, Any] | None = None, timeframe: TimeFrame | None = None
    ) -> None:
        given = dict(params or {})
        if self.default_params:
            unknown = sorted(set(given) - set(self.default_params))
            if unknown:
                known = ", ".join(sorted(self.default_params))
                raise StrategyParamError(
                    f"{self.name or type(self).__name__}: unknown parameter(s) "
                    f"{', '.join(unknown)}; known: {known}"
                )
        self.params: dict[str, Any] = {**self.default_params, **given}
        declared = type(self).timeframes or (TimeFrame.M1,)
        main = timeframe or declared[0]
        self.timeframe = main
        self.timeframes = (main, *(tf for tf in declared[1:] if tf is not main))
        self.state: dict[str, Any] = {}  # persisted (JSON-able): survives a crash and a restart
        self.validate()

    def validate(self) -> None:
        """Check ``self.params``; raise :class:`StrategyParamError` with what to fix."""

    # --- hooks --------------------------------------------------------------------------------

    def on_start(self, ctx: StrategyContext) -> None:
        pass

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        pass

    def on_order(self, ctx: StrategyContext, order: Order) -> None:
        pass

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        pass

    def on_stop(self, ctx: StrategyContext) -> None:
        pass

    # --- backtest pre-screen (engine.backtest.sparse) -----------------------------------------

    def wake(self, bars: pl.DataFrame) -> np.ndarray | None:
        """Where ``on_bar`` may act, for a sparse backtest; None (the default): on every bar.

        ``bars`` are all bars of the main timeframe of the run (``ts, open, high, low, close,
        volume``, oldest first). Return one boolean per bar, True wherever ``on_bar`` of that bar
        might place or cancel an order or change :attr:`state`; False promises it does nothing
        there. Extra True values cost speed, never correctness, so compute it with a tolerance
        rather than exactly. ``BacktestOptions(verify_wake=True)`` checks the promise. The live
        engine ignores it.
        """
        return None

    # --- persistent state (engine.runtime.keeper) ---------------------------------------------

    def persist(self) -> dict[str, Any]:
        """What to save with every engine snapshot (JSON-able); default: ``self.state``."""
        return dict(getattr(self, "state", {}))

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what :meth:`persist` saved, before ``on_resume`` after a restart."""
        self.state = dict(state)

    def on_resume(self, ctx: StrategyContext) -> None:
        """Instead of ``on_start`` when saved state was restored; default: ``on_start``."""
        self.on_start(ctx)
