"""The app's kill-switch and worklist commands beyond the halt key (mixed into ``AvinApp``).

``F`` flattens (cancel everything, close every position at market, trading REDUCING after);
``R`` resets the kill switch to ACTIVE after an explicit ``y`` in a confirmation screen. In the
Strategies pane ``a`` adds a row (a form), ``d`` removes one (confirmed), ``S`` stops one and
space starts a stopped one. Each action only signals the engine and never waits on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from avin_tui.messages import StrategyAddRequested, StrategyRemoveRequested, StrategyStopRequested
from avin_tui.screens.add_strategy import AddStrategyScreen
from avin_tui.screens.confirm import ConfirmScreen
from avin_tui.widgets.banner import Banner
from engine.runtime.snapshot import TradingState
from engine.runtime.worklist import StrategySpec


class RiskActionsMixin:
    """Needs the App's ``engine``, ``notify``, ``push_screen``, ``query_one``, ``call_later``."""

    engine: Any
    notify: Callable[..., None]
    push_screen: Callable[..., Any]
    query_one: Callable[..., Any]
    call_later: Callable[..., Any]
    poll: Callable[[], None]

    def _engine_call(self, name: str, *args: Any) -> bool:
        method = getattr(self.engine, name, None)
        if method is None:
            self.notify(f"the engine cannot {name.replace('_', ' ')}", severity="warning")
            return False
        try:
            method(*args)
        except Exception as exc:
            self.notify(str(exc), title="refused", severity="warning")
            return False
        self.call_later(self.poll)
        return True

    # --- kill switch ----------------------------------------------------------------------------

    def action_flatten(self) -> None:
        if self._engine_call("flatten", "manual: keyboard"):
            self.query_one(Banner).show_message(
                "FLATTEN: cancelling every order, then closing every position at market (REDUCING)"
            )

    def action_resume_trading(self) -> None:
        if isinstance(getattr(self, "screen", None), ConfirmScreen):
            return
        try:
            state = self.engine.snapshot().trading_state
        except Exception:
            state = None
        if state is TradingState.ACTIVE:
            self.notify("trading is already ACTIVE")
            return
        label = state.value if state is not None else "?"
        self.push_screen(
            ConfirmScreen(
                f"[b]Reset the kill switch?[/b] Trading is {label}. Resuming makes it ACTIVE "
                "and restarts every paused strategy.",
                yes="Resume trading",
            ),
            self._resume_answer,
        )

    def _resume_answer(self, yes: bool | None) -> None:
        if yes and self._engine_call("resume_trading", "manual: keyboard (confirmed)"):
            self.query_one(Banner).hide()
            self.notify("trading ACTIVE", title="kill switch reset")

    # --- worklist -------------------------------------------------------------------------------

    def on_strategy_add_requested(self, message: StrategyAddRequested) -> None:
        self.push_screen(AddStrategyScreen(), self._add_answer)

    def _add_answer(self, spec: StrategySpec | None) -> None:
        if spec is not None and self._engine_call("add_strategy", spec):
            self.notify(f"{spec.name} on {spec.instrument} added")

    def on_strategy_remove_requested(self, message: StrategyRemoveRequested) -> None:
        sid = message.strategy_id

        def answer(yes: bool | None) -> None:
            if yes:
                self._engine_call("remove_strategy", sid)

        self.push_screen(
            ConfirmScreen(f"Remove [b]{sid}[/b] from the worklist?", yes="Remove"), answer
        )

    def on_strategy_stop_requested(self, message: StrategyStopRequested) -> None:
        self._engine_call("stop_strategy", message.strategy_id)
