"""A sliding-window request limiter (the history service allows 30 requests per minute)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most ``limit`` acquisitions in any ``period`` seconds; :meth:`acquire` sleeps if needed.

    ``clock`` and ``sleep`` are injectable so tests can run a minute of traffic instantly.
    """

    def __init__(
        self,
        limit: int = 30,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a rate limit needs limit >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait until a request is allowed and count it; returns the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                while self._times and now - self._times[0] >= self.period:
                    self._times.popleft()
                if len(self._times) < self.limit:
                    self._times.append(now)
                    return waited
                delay = self._times[0] + self.period - now
                self._sleep(delay)
                waited += delay
