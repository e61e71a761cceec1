"""Drive an Engine on a SimBroker deterministically: the market moves only when the test steps it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from engine.broker.sim import SimBroker
from engine.model import Bar, TimeFrame
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.worklist import StrategySpec
from engine.strategy import Strategy, StrategyContext, register

START = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)  # a Monday, main-session open


class Driver:
    def __init__(
        self,
        worklist: list[StrategySpec],
        options: EngineOptions | None = None,
        **engine_kw: Any,
    ) -> None:
        self.broker = SimBroker(seed=7, start=START, realtime=False)
        self.engine = Engine(self.broker, worklist, options or EngineOptions(), **engine_kw)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Driver:
        self.task = asyncio.create_task(self.engine.run())
        for _ in range(2000):
            if self.engine.started or self.task.done():
                break
            await asyncio.sleep(0.001)
        if self.task.done():
            self.task.result()  # raise what stopped it
        assert self.engine.started
        await self.settle()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        self.engine.request_stop()
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)

    async def settle(self) -> None:
        """Let the engine take every queued event and finish its order requests."""
        for _ in range(10_000):
            await asyncio.sleep(0)
            if self.broker._queue.empty() and self.engine.pending_requests == 0:
                await asyncio.sleep(0)
                if self.broker._queue.empty() and self.engine.pending_requests == 0:
                    return
        raise AssertionError("the engine did not settle")

    async def minutes(self, n: int) -> None:
        """Replay ``n`` simulated minutes slot by slot, settling after each slot."""
        for _ in range(n):
            for _slot in range(7):
                self.broker.step()
                await self.settle()


# --- test strategies ----------------------------------------------------------------------------


class Script(Strategy):
    """Trades a fixed plan: ``{closed bar number: signed lots}``."""

    name = "test_script"

    def on_start(self, ctx: StrategyContext) -> None:
        self.count = 0

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        self.count += 1
        lots = self.params.get("plan", {}).get(str(self.count), 0)
        if lots > 0:
            ctx.buy(lots)
        elif lots < 0:
            ctx.sell(-lots)


class Boom(Strategy):
    """Raises on its ``at``-th closed bar."""

    name = "test_boom"

    def on_start(self, ctx: StrategyContext) -> None:
        self.count = 0

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        self.count += 1
        if self.count >= int(self.params.get("at", 1)):
            ctx.buy(1)  # queued, then dropped because the hook fails
            raise ValueError(f"boom at bar {self.count}")


class Resting(Strategy):
    """Places one limit buy far below the market on start; it never fills."""

    name = "test_resting"

    def on_start(self, ctx: StrategyContext) -> None:
        last = ctx.chart().last
        assert last is not None, "history should be loaded before on_start"
        self.order = ctx.buy(1, price=last.close * 0.8)


for _cls in (Script, Boom, Resting):
    register(_cls)
