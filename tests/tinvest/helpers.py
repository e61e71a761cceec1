"""Helpers for the T-Invest tests: an event sink and a broker tuned for loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

from engine.broker.base import BrokerEvent
from engine.broker.fake_tinvest import DEFAULT_TOKEN
from engine.broker.tinvest.broker import TInvestBroker
from engine.broker.tinvest.limiter import RateLimiter
from engine.broker.tinvest.streams import StreamPolicy
from engine.model import Mode

START = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)  # a Monday, the session open


class EventSink:
    """Consumes broker.events() in the background; tests wait on predicates with a deadline."""

    def __init__(self, broker: TInvestBroker) -> None:
        self.events: list[BrokerEvent] = []
        self._task = asyncio.get_running_loop().create_task(self._pump(broker))

    async def _pump(self, broker: TInvestBroker) -> None:
        async for event in broker.events():
            self.events.append(event)

    async def wait(
        self, predicate: Callable[[list[BrokerEvent]], bool], timeout: float = 5.0
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self.events):
            if loop.time() > deadline:
                raise AssertionError(f"timed out; events: {self.events[-10:]}")
            await asyncio.sleep(0.01)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def make_broker(target: str, token: str = DEFAULT_TOKEN, **kw: object) -> TInvestBroker:
    options: dict = {
        "mode": Mode.SANDBOX,
        "target": target,
        "stream_policy": StreamPolicy(
            ping_interval=0.1, stall_factor=3, backoff_base=0.05, backoff_max=0.3
        ),
        "poll_interval": 0.05,
        "deadline_scale": 10.0,
        "backoff_base": 0.02,
        "limiter": RateLimiter(scale=100),
    }
    options.update(kw)
    return TInvestBroker(token, **options)
