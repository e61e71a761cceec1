"""Client-side rate limits: one async token bucket per service (with per-method overrides).

The broker's limits are per user and minute (Users 100, Instruments 200, MarketData 600, Operations
200, StopOrders 50, Sandbox 200, Orders 100 with PostOrder 300, CancelOrder 100, GetOrders 200) and
about 50 requests per second in total. Each bucket refills at ``limit / 60`` per second and holds at
most ``burst_fraction * limit`` tokens, so a burst never spends a whole minute's budget. When the
server still answers 80002, :meth:`RateLimiter.pause` stops the service's bucket until the window
resets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

SERVICE_LIMITS: dict[str, int] = {
    "UsersService": 100,
    "InstrumentsService": 200,
    "MarketDataService": 600,
    "OperationsService": 200,
    "StopOrdersService": 50,
    "SandboxService": 200,
    "OrdersService": 100,
}
METHOD_LIMITS: dict[tuple[str, str], int] = {
    ("OrdersService", "PostOrder"): 300,
    ("OrdersService", "CancelOrder"): 100,
    ("OrdersService", "GetOrders"): 200,
}
TOTAL_PER_SECOND = 50.0
DEFAULT_PER_MINUTE = 100


class TokenBucket:
    """``rate`` tokens per second up to ``capacity``; :meth:`acquire` waits for one."""

    def __init__(
        self, rate: float, capacity: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a bucket needs a positive rate and a capacity of at least 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def delay(self) -> float:
        """Seconds until a token is available (0 if one is)."""
        self._refill()
        paused = max(0.0, self._paused_until - self._clock())
        missing = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
        return max(paused, missing)

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                wait = self.delay()
                if wait <= 0:
                    self._tokens -= 1
                    return
                await asyncio.sleep(wait)

    def spare(self) -> float:
        """Tokens free right now (0 while paused)."""
        return 0.0 if self.delay() > 0 else self._tokens

    def try_acquire(self) -> bool:
        """Take a token if one is free now; never waits."""
        if self.spare() < 1:
            return False
        self._tokens -= 1
        return True

    def pause(self, seconds: float) -> None:
        """Hand out nothing for ``seconds`` (the server's limit window has not reset yet)."""
        self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))
        self._tokens = min(self._tokens, 0.0)


class RateLimiter:
    """Buckets per service / method plus a total one."""

    def __init__(
        self,
        *,
        scale: float = 1.0,
        burst_fraction: float = 0.2,
        total_per_second: float = TOTAL_PER_SECOND,
    ) -> None:
        self.scale = scale
        self.burst_fraction = burst_fraction
        self._buckets: dict[str, TokenBucket] = {}
        self._total = TokenBucket(total_per_second * scale, max(1.0, total_per_second * scale))

    def _key(self, service: str, method: str) -> tuple[str, int]:
        if (service, method) in METHOD_LIMITS:
            return f"{service}/{method}", METHOD_LIMITS[(service, method)]
        return service, SERVICE_LIMITS.get(service, DEFAULT_PER_MINUTE)

    def bucket(self, service: str, method: str) -> TokenBucket:
        key, per_minute = self._key(service, method)
        bucket = self._buckets.get(key)
        if bucket is None:
            limit = per_minute * self.scale
            bucket = TokenBucket(limit / 60.0, max(1.0, limit * self.burst_fraction))
            self._buckets[key] = bucket
        return bucket

    async def acquire(self, service: str, method: str) -> None:
        await self.bucket(service, method).acquire()
        await self._total.acquire()

    def pause(self, service: str, method: str, seconds: float) -> None:
        self.bucket(service, method).pause(seconds)
