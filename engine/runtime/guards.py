"""Pre-trade checks by trading state, and the error-storm trip wire of the kill switch."""

from __future__ import annotations

from collections import deque

from engine.model import Order, Position
from engine.runtime.snapshot import TradingState


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


class ErrorStorm:
    """Trips when ``limit`` errors happen within ``window`` seconds."""

    def __init__(self, limit: int = 5, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def record(self, now: float) -> bool:
        """Count one error at monotonic time ``now``; True when the storm threshold is reached."""
        self._times.append(now)
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()
        return len(self._times) >= self.limit

    @property
    def recent(self) -> int:
        return len(self._times)
