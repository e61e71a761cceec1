"""The app's kill-switch and worklist commands beyond the halt key (mixed into ``AvinApp``).

``F`` flattens (cancel everything, close every position at market, trading REDUCING after)
after an explicit ``y``; ``R`` resets the kill switch to ACTIVE after an explicit ``y``. The kill
keys (``ctrl+k``, ``K``) never ask. In the Strategies pane ``a`` adds a row (a form that checks
it with the engine first), ``d`` removes one (refused at once while it holds a position, else
confirmed), ``C`` closes one row's position at market (confirmed), ``S`` stops one, space starts a
stopped one and pauses or resumes the others; the Orders pane's cancel key cancels an order.
Each action only signals the engine and never waits on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from avin_tui.messages import (
    OrderCancelRequested,
    StrategyAddRequested,
    StrategyCloseRequested,
    StrategyRemoveRequested,
    StrategyStopRequested,
    StrategyToggleRequested,
)
from avin_tui.screens.add_strategy import AddStrategyScreen
from avin_tui.screens.confirm import ConfirmScreen
from avin_tui.widgets.banner import Banner
from engine.model.snapshot import StrategyRow, TradingState


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
        """Ask first: flattening sends market orders for every position (not a kill key)."""
        if isinstance(getattr(self, "screen", None), ConfirmScreen):
            return
        try:
            snap = self.engine.snapshot()
            positions = sum(1 for p in snap.positions if getattr(p, "lots", 0))
            orders = len(snap.open_orders)
        except Exception:
            positions = orders = -1
        what = (
            f"{orders} open order(s) are cancelled and {positions} position(s) closed"
            if positions >= 0
            else "every open order is cancelled and every position closed"
        )
        self.push_screen(
            ConfirmScreen(
                f"[b]Flatten everything?[/b] {what} at market; trading goes REDUCING and the "
                "strategies pause. (The kill switch, ctrl+k, halts without asking.)",
                yes="Flatten",
            ),
            self._flatten_answer,
        )

    def _flatten_answer(self, yes: bool | None) -> None:
        if yes and self._engine_call("flatten", "manual: keyboard (confirmed)"):
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
                "and runs the held strategies again (those paused by hand stay paused).",
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
        self.push_screen(AddStrategyScreen(self.engine), self._add_answer)

    def _add_answer(self, new_id: str | None) -> None:
        if new_id:
            self.notify(f"{new_id} added")
            self.call_later(self.poll)

    def _strategy_row(self, sid: str) -> StrategyRow | None:
        try:
            rows = self.engine.snapshot().strategies
        except Exception:
            return None
        return next((r for r in rows if r.id == sid), None)

    def on_strategy_remove_requested(self, message: StrategyRemoveRequested) -> None:
        sid = message.strategy_id
        row = self._strategy_row(sid)
        if row is not None and row.position:
            self.notify(
                f"{sid} holds {row.position:+d} lot(s): close its position first (C closes "
                "this row's position at market, F flattens everything), then remove it",
                title="cannot remove",
                severity="warning",
                timeout=8,
            )
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._engine_call("remove_strategy", sid)

        self.push_screen(
            ConfirmScreen(f"Remove [b]{sid}[/b] from the worklist?", yes="Remove"), answer
        )

    def on_strategy_close_requested(self, message: StrategyCloseRequested) -> None:
        sid = message.strategy_id
        row = self._strategy_row(sid)
        if row is None or not row.position:
            self.notify(f"{sid} holds no position: nothing to close", timeout=4)
            return
        if isinstance(getattr(self, "screen", None), ConfirmScreen):
            return
        try:
            halted = self.engine.snapshot().trading_state is TradingState.HALTED
        except Exception:
            halted = False
        if halted:  # nothing can be sent: say so before asking
            self.notify(
                f"trading is HALTED: no order can go out. R resumes trading (or F flattens "
                f"everything), then C closes {sid}",
                title="cannot close",
                severity="warning",
                timeout=8,
            )
            return
        side = "sell" if row.position > 0 else "buy"

        def answer(yes: bool | None) -> None:
            if yes and self._engine_call("close_strategy_position", sid):
                self.notify(f"closing {sid}: {side} {abs(row.position)} lot(s) at market")

        self.push_screen(
            ConfirmScreen(
                f"Close the position of [b]{sid}[/b]? It holds {row.position:+d} lot(s): the "
                f"strategy is paused, its open orders cancelled, then {side} "
                f"{abs(row.position)} lot(s) at market.",
                yes="Close position",
            ),
            answer,
        )

    def on_strategy_stop_requested(self, message: StrategyStopRequested) -> None:
        self._engine_call("stop_strategy", message.strategy_id)

    # --- pause, resume, start, cancel -------------------------------------------------------------

    def on_strategy_toggle_requested(self, message: StrategyToggleRequested) -> None:
        if message.state == "stopped" and hasattr(self.engine, "start_strategy"):
            self._command(self.engine.start_strategy, message.strategy_id)
            return
        self._command(
            self.engine.resume_strategy
            if message.state == "paused"
            else self.engine.pause_strategy,
            message.strategy_id,
        )

    def on_order_cancel_requested(self, message: OrderCancelRequested) -> None:
        self._command(self.engine.cancel_order, message.order_key)

    def _command(self, command: Callable[[str], None], arg: str) -> None:
        try:
            command(arg)
        except Exception as exc:
            self.notify(f"{exc}", title="refused", severity="warning")
        self.call_later(self.poll)
