"""Helpers for the T-Invest tests: an event sink and a broker tuned for loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from engine.broker.base import BrokerEvent
from engine.broker.fake_tinvest import DEFAULT_TOKEN, FakeTInvestServer
from engine.broker.sim.market import tick_path
from engine.broker.tinvest.broker import TInvestBroker
from engine.broker.tinvest.limiter import RateLimiter
from engine.broker.tinvest.streams import StreamPolicy
from engine.model import Instrument, Mode, Order

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
        "stop_poll_interval": 0.1,
        # the fake's default profile is the production service, which has stop orders; the
        # sandbox tests (no stop-order service) pass local_stops=None or True
        "local_stops": False,
    }
    options.update(kw)
    return TInvestBroker(token, **options)


async def post_journalled(broker: TInvestBroker, order: Order) -> Order:
    """Post ``order`` as the engine does: the router journals its intent first (the adapter
    itself only resolves keys in the journal)."""
    broker.journal.record(order.id, order)
    return await broker.post_order(order)


def future_prices(server: FakeTInvestServer, inst: Instrument, minutes: int = 240) -> list[Decimal]:
    """The tick prices the fake market will trade next (it is deterministic); call it at a minute
    boundary (after ``advance``, or before the first step)."""
    market = server.exchange.market
    begin = market.now
    bars = market.generator.bar_list(inst, begin, begin + timedelta(minutes=minutes))
    return [p for bar in bars for p in tick_path(inst, bar)]


def crossing_level(
    server: FakeTInvestServer,
    inst: Instrument,
    *,
    rising: bool,
    quiet_ticks: int = 6,
    skip_ticks: int = 0,
) -> Decimal:
    """A price the market crosses (upwards when ``rising``) only after ``quiet_ticks`` ticks
    (counted after the next ``skip_ticks``): a stop there waits a while, then triggers."""
    prices = future_prices(server, inst)[skip_ticks:]
    head = prices[:quiet_ticks]
    level = max(head) + inst.step if rising else min(head) - inst.step
    crossed = [p for p in prices[quiet_ticks:] if (p >= level if rising else p <= level)]
    assert crossed, "the market never gets there: pick another instrument or horizon"
    return level


class Polls:
    """Counts the adapter's finished order polls (the stream's catch-up after a (re)connect and
    every polling round). ``await polls.next(after)`` waits, bounded, for a poll that finished
    after ``after`` polls and for the events it emitted to be taken off the broker's queue: a
    "nothing was repeated" assertion after it has seen the poll run, never a sleep."""

    def __init__(self, broker: TInvestBroker) -> None:
        self.broker = broker
        self.done = 0
        real = broker.orders.poll

        async def counted() -> None:
            try:
                await real()
            finally:
                self.done += 1

        broker.orders.poll = counted  # type: ignore[method-assign]

    async def run(self) -> None:
        """Poll now and wait until what it emitted is taken."""
        await self.broker.orders.poll()
        await self.next(after=self.done - 1)

    async def next(self, after: int | None = None, timeout: float = 5.0) -> None:
        target = (self.done if after is None else after) + 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.done < target or not self.broker._queue.empty():
            assert loop.time() < deadline, f"no order poll finished ({self.done} < {target})"
            await asyncio.sleep(0.01)
