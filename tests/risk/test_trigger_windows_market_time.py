"""Every counting window of the kill switch counts on the engine's clock.

The rejections trigger (``reject_window``), the disconnects trigger (``disconnect_window``) and
the error storms (strategy errors, engine errors: a minute) count in market time on a market
with its own clock (the simulated market: ``--speed 3000`` lives 3000 market minutes per wall
minute) and in wall time against a real broker. The tests step the simulated market by hand, so
many market minutes pass within a fraction of a wall second: the same sequence of events is
spread out in market time (no trip) and a burst in wall time (a trip).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from engine.config import RiskSettings
from engine.model import Bar, OrderStatus, TimeFrame
from engine.model.snapshot import TradingState
from engine.runtime.engine import EngineOptions
from engine.runtime.worklist import StrategySpec
from engine.strategy import Strategy, StrategyContext, register
from tests.runtime.simkit import Driver

OPTIONS = EngineOptions(heartbeat_interval=0.05, persist_min_gap=0.0, history_days=1)
QUIET: dict[str, Any] = dict(  # every trigger off; each test turns on the one it watches
    daily_loss_limit=None,
    max_drawdown=None,
    reject_limit=0,
    disconnect_limit=0,
    stale_data_seconds=0,
    clock_skew_limit=0,
)


class TooBig(Strategy):
    """Every ``every``-th closed bar: one market buy the account cannot pay for (the broker
    rejects it: not enough cash)."""

    name = "test_too_big"

    def on_start(self, ctx: StrategyContext) -> None:
        self.count = 0

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        self.count += 1
        if self.count % int(self.params.get("every", 1)) == 0:
            ctx.buy(400)


register(TooBig)


def _wall_clock_only(d: Driver) -> None:
    """Make the engine see no market clock, like against T-Invest."""
    d.engine._market_clock = lambda: None  # type: ignore[method-assign]


async def _rejections(*, market_clock: bool) -> Driver:
    settings = RiskSettings(**{**QUIET, "reject_limit": 3, "reject_window": 60.0})
    d = Driver([StrategySpec("test_too_big", "SBER", params={"every": 2})], OPTIONS, risk=settings)
    async with d:
        if not market_clock:
            _wall_clock_only(d)
        await d.minutes(12)  # a broker rejection every second market minute: 6 of them
    return d


async def test_broker_rejections_count_market_seconds_on_the_simulated_market() -> None:
    d = await _rejections(market_clock=True)
    rejected = [o for o in d.engine.book.orders.values() if o.status is OrderStatus.REJECTED]
    assert len(rejected) >= 5 and all("not enough cash" in o.reason for o in rejected)
    assert d.engine.risk.triggers.fired == set()
    assert d.engine.trading_state is TradingState.ACTIVE


async def test_without_a_market_clock_broker_rejections_count_wall_seconds() -> None:
    d = await _rejections(market_clock=False)
    assert d.engine.risk.triggers.fired == {"rejections"}
    assert d.engine.trading_state is TradingState.HALTED
    assert "3 orders rejected within 60 s" in d.engine.halt_reason


async def _disconnects(*, market_clock: bool) -> Driver:
    settings = RiskSettings(**{**QUIET, "disconnect_limit": 3, "disconnect_window": 300.0})
    d = Driver([StrategySpec("sma_cross", "SBER")], OPTIONS, risk=settings)
    async with d:
        if not market_clock:
            _wall_clock_only(d)
        for _ in range(4):  # a drop every 3 market minutes: at most 2 within 300 market s
            await d.broker.drop_connection()
            await d.minutes(3)
    return d


async def test_disconnects_count_market_seconds_on_the_simulated_market() -> None:
    d = await _disconnects(market_clock=True)
    assert d.engine.counters["disconnects"] == 4
    assert d.engine.risk.triggers.fired == set()
    assert d.engine.trading_state is TradingState.ACTIVE


async def test_without_a_market_clock_disconnects_count_wall_seconds() -> None:
    d = await _disconnects(market_clock=False)
    assert d.engine.risk.triggers.fired == {"disconnects"}
    assert d.engine.trading_state is TradingState.HALTED


async def _strategy_errors(*, market_clock: bool) -> Driver:
    # three rows fail on their 2nd, 4th and 6th bar: two market minutes apart
    rows = [
        StrategySpec("test_boom", code, params={"at": at})
        for code, at in (("SBER", 2), ("GAZP", 4), ("LKOH", 6))
    ]
    d = Driver(rows, EngineOptions(**{**_options(), "error_storm": 3, "error_window": 60.0}))
    async with d:
        if not market_clock:
            _wall_clock_only(d)
        await d.minutes(8)
    return d


def _options() -> dict[str, Any]:
    return {name: getattr(OPTIONS, name) for name in ("heartbeat_interval", "persist_min_gap")}


async def test_the_error_storm_counts_market_seconds_on_the_simulated_market() -> None:
    d = await _strategy_errors(market_clock=True)
    assert d.engine.counters["strategy_errors"] == 3
    assert d.engine.trading_state is TradingState.ACTIVE


async def test_without_a_market_clock_the_error_storm_counts_wall_seconds() -> None:
    d = await _strategy_errors(market_clock=False)
    assert d.engine.counters["strategy_errors"] == 3
    assert d.engine.trading_state is TradingState.HALTED
    assert "error storm" in d.engine.halt_reason


async def test_engine_errors_count_market_seconds_on_the_simulated_market() -> None:
    async with Driver([StrategySpec("sma_cross", "SBER")], OPTIONS) as d:
        event = SimpleNamespace()
        for _ in range(OPTIONS.error_storm * 2):  # one engine error every other market minute
            d.engine.kernel.engine_error(event, ValueError("bug"))  # type: ignore[arg-type]
            await d.minutes(2)
        assert d.engine.counters["engine_errors"] == OPTIONS.error_storm * 2
        assert d.engine.trading_state is TradingState.ACTIVE
        _wall_clock_only(d)
        for _ in range(OPTIONS.error_storm):  # the same on the wall clock: a storm
            d.engine.kernel.engine_error(event, ValueError("bug"))  # type: ignore[arg-type]
            await d.minutes(2)
        assert d.engine.trading_state is TradingState.HALTED
        assert d.engine.halt_reason.startswith("engine errors: ")
