"""Pre-trade checks by trading state, and the error-storm trip wire of the kill switch."""

from __future__ import annotations

from engine.model import Order, Position
from engine.model.snapshot import TradingState
from engine.risk.window import WindowCounter


def order_block_reason(state: TradingState, order: Order, position: Position | None) -> str:
    """Why the engine refuses ``order`` in ``state`` (empty when it may go)."""
    if state is TradingState.HALTED:
        return "trading is HALTED"
    if state is TradingState.REDUCING:
        lots = position.lots if position else 0
        reduces = lots != 0 and (lots > 0) != (order.side.sign > 0) and order.lots <= abs(lots)
        if not reduces:
            return "trading is REDUCING: only orders that reduce a position are allowed"
    return ""


class ErrorStorm(WindowCounter):
    """Trips when ``limit`` errors happen within ``window`` seconds (a risk window counter)."""
