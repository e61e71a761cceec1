"""A sliding-window event counter: the building block of rate limits and trip wires."""

from __future__ import annotations

from collections import deque


class WindowCounter:
    """Counts events in the last ``window`` seconds; trips when ``limit`` are reached.

    Times are whatever monotonic clock the caller uses (seconds). ``limit`` 0 never trips.
    """

    def __init__(self, limit: int = 5, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()

    def record(self, now: float) -> bool:
        """Count one event at ``now``; True when ``limit`` events fall within the window."""
        self._times.append(now)
        self._expire(now)
        return 0 < self.limit <= len(self._times)

    def count(self, now: float) -> int:
        """Events within the window ending at ``now``."""
        self._expire(now)
        return len(self._times)

    def would_exceed(self, now: float, limit: int) -> bool:
        """Whether one more event at ``now`` would make more than ``limit`` in the window."""
        return self.count(now) + 1 > limit

    def clear(self) -> None:
        self._times.clear()

    @property
    def recent(self) -> int:
        return len(self._times)
