"""The engine on the fake T-Invest server, shared by its test modules: a strategy that buys once
and protects the fill with a stop-loss, the engine options, bounded waits. One module, imported
under one name: a test module imported by another is imported twice (pytest's name and the
importer's), and the strategy registered twice, the registry holding the class the test does not
look at."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import ClassVar

from engine.broker.fake_tinvest import FakeTInvestServer
from engine.model import Bar, Fill, Mode, OrderType, Side, TimeFrame
from engine.runtime.engine import Engine, EngineOptions
from engine.strategy import Strategy, StrategyContext, register

GAZP = "MOEX_SHARE_GAZP"  # its path falls through the stop about ten minutes in
OPTIONS = EngineOptions(mode=Mode.SANDBOX, history_days=1, snapshot_interval=60, persist_min_gap=0)


class StopLossOnce(Strategy):
    """Buys ``lots`` at the market on its first bar; when that fills, protects it with a
    stop-loss at ``stop``."""

    name = "test_stop_loss_once"
    default_params: ClassVar[dict[str, object]] = {"lots": 1, "stop": "0"}
    seen: ClassVar[list[Fill]] = []  # every on_fill, for the tests

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        if not self.state.get("entry"):
            self.state["entry"] = ctx.buy(int(self.params["lots"])).id

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        StopLossOnce.seen.append(fill)
        if fill.order_id == self.state.get("entry") and not self.state.get("stop"):
            stop = ctx.place(
                Side.SELL,
                int(self.params["lots"]),
                OrderType.STOP,
                stop_price=Decimal(str(self.params["stop"])),
            )
            self.state["stop"] = stop.id


register(StopLossOnce)


async def until(done: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        assert loop.time() < deadline, f"timed out waiting for {what or done}"
        await asyncio.sleep(0.02)


async def trading(engine: Engine, server: FakeTInvestServer, code: str = GAZP) -> None:
    """The engine started and the server streams it the candles of ``code``: a minute closed
    before that reaches nobody (the subscription is written by the stream's task, which may
    not have run when ``engine.started`` is set), and the strategy would never see its bar."""
    await until(lambda: engine.started, 20, "the engine to start")
    await until(lambda: server.streams_candles(code), what=f"the candles of {code} streamed")
