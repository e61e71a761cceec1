"""Risk paths no other test runs: the per-strategy position limit, the last check before sending
(REDUCING / HALTED), the trigger action "flatten", and a flatten whose cancels are still out when
the kill switch lands (positions are then left alone, never closed into a HALTED market)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from engine.config import RiskSettings, StrategyRiskSettings
from engine.model import Order, OrderStatus, OrderType, Side
from engine.model.snapshot import TradingState
from engine.risk.checks import first_rejection
from engine.risk.exposure import Book
from engine.runtime.engine import EngineOptions
from engine.runtime.worklist import StrategySpec
from tests.log_records import Records
from tests.risk.test_checks import inp, order
from tests.risk.test_triggers import OPTIONS, QUIET, until
from tests.runtime.simkit import Driver

SBER = "MOEX_SHARE_SBER"
BUY_EARLY = StrategySpec("test_script", "SBER", params={"plan": {"1": 3}})


def test_the_strategy_position_limit() -> None:
    risk = RiskSettings(strategies={"s1": StrategyRiskSettings(max_position_lots=2)})
    rej = first_rejection(inp(order(lots=3, strategy="s1"), risk))
    assert rej is not None and rej.rule == "strategy_position"
    assert str(rej) == "strategy_position: s1 could reach 3 lots > limit 2"
    assert first_rejection(inp(order(lots=2, strategy="s1"), risk)) is None
    assert first_rejection(inp(order(lots=3), risk)) is None  # no strategy: no sub-limit
    long2 = Book(lots=2)
    grow = inp(order(lots=1, strategy="s1"), risk, strategy_book=long2)
    assert first_rejection(grow) is not None
    shrink = inp(order(Side.SELL, lots=2, strategy="s1"), risk, strategy_book=long2)
    assert first_rejection(shrink) is None  # reducing is always allowed


async def test_the_last_check_before_sending_follows_the_trading_state() -> None:
    async with Driver([]) as d:
        risk = d.engine.risk
        buy = Order(SBER, Side.BUY, OrderType.MARKET, 1, "sim-1")
        assert risk.post_check(buy) == ""
        d.engine.set_trading_state(TradingState.REDUCING, "test")
        reason = risk.post_check(buy)
        assert reason.startswith("trading_state:") and "REDUCING" in reason
        d.engine.kill("test")
        assert "HALTED" in risk.post_check(buy)
        assert risk.gate.rejections["trading_state"] == 2


async def test_reducing_lets_a_closing_order_through_the_last_check() -> None:
    async with Driver([BUY_EARLY], EngineOptions(**OPTIONS)) as d:  # type: ignore[arg-type]
        await market_until(d, lambda: _lots(d) == 3)
        d.engine.set_trading_state(TradingState.REDUCING, "test")
        sell = Order(SBER, Side.SELL, OrderType.MARKET, 2, "sim-1")
        assert d.engine.risk.post_check(sell) == ""
        too_much = Order(SBER, Side.SELL, OrderType.MARKET, 4, "sim-1")
        assert "REDUCING" in d.engine.risk.post_check(too_much)


async def market_until(d: Driver, predicate: Callable[[], bool], minutes: int = 30) -> None:
    """Replay the simulated market a minute at a time until ``predicate`` (bounded)."""
    for _ in range(minutes):
        if predicate():
            return
        await d.minutes(1)
    assert predicate(), f"not reached in {minutes} simulated minutes"


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` (without settling the engine: a request is held open), bounded."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


class SlowCancels:
    """The SimBroker, but a cancel is answered only once ``release`` is set (as a remote broker
    answers later); no synchronous ``cancel_now``."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        if name == "cancel_now":
            raise AttributeError(name)
        return getattr(self._inner, name)

    async def cancel_order(self, account: str, key: str) -> Order:
        self.entered.set()
        await self.release.wait()
        return await self._inner.cancel_order(account, key)


def _lots(d: Driver) -> int:
    pos = d.engine.book.positions.get(("sim-1", SBER))
    return pos.lots if pos is not None else 0


async def test_trigger_action_flatten_closes_the_position() -> None:
    settings = RiskSettings(**{**QUIET, "disconnect_limit": 1, "trigger_action": "flatten"})
    async with Driver([BUY_EARLY], EngineOptions(**OPTIONS), risk=settings) as d:  # type: ignore[arg-type]
        await market_until(d, lambda: _lots(d) == 3)
        await d.broker.drop_connection(0)
        await until(d, lambda: d.engine.trading_state is TradingState.REDUCING)
        assert "disconnects" in d.engine.halt_reason
        await market_until(d, lambda: _lots(d) == 0)
        sells = [o for o in d.engine.book.orders.values() if o.side is Side.SELL]
        assert [(o.lots, o.status) for o in sells] == [(3, OrderStatus.FILLED)]
        assert not d.engine.risk.flattening


async def test_a_kill_while_flatten_waits_for_its_cancels_leaves_positions_open() -> None:
    settings = RiskSettings(**{**QUIET, "flatten_cancel_timeout": 30.0})
    async with Driver([BUY_EARLY], EngineOptions(**OPTIONS), risk=settings) as d:  # type: ignore[arg-type]
        await market_until(d, lambda: _lots(d) == 3)
        last = d.engine.risk.gate.last_prices[SBER]
        price = d.broker.lookup(SBER).round_price(last * 95 / 100)
        resting = d.engine.submit(Order(SBER, Side.BUY, OrderType.LIMIT, 1, "sim-1", price=price))
        await d.settle()
        assert resting.status is OrderStatus.ACCEPTED
        slow = SlowCancels(d.broker)
        d.engine.router.broker = slow  # type: ignore[assignment]
        orders_before = set(d.engine.book.orders)
        with Records("avin.risk") as log:
            d.engine.flatten("test")
            await asyncio.wait_for(slow.entered.wait(), 5)  # the cancel is out, flatten waits on it
            assert d.engine.trading_state is TradingState.REDUCING and d.engine.risk.flattening
            d.engine.kill("manual stop during flatten")
            slow.release.set()
            await until(d, lambda: resting.status is OrderStatus.CANCELLED)
            await until(d, lambda: any("positions are left open" in m for m in log.messages))
        assert d.engine.trading_state is TradingState.HALTED
        assert set(d.engine.book.orders) == orders_before  # no closing order was sent
        assert _lots(d) == 3
        assert not d.engine.risk.flattening  # the flatten is over (status must not say otherwise)


async def test_flatten_closes_anyway_when_the_cancels_time_out() -> None:
    settings = RiskSettings(**{**QUIET, "flatten_cancel_timeout": 0.05})
    async with Driver([BUY_EARLY], EngineOptions(**OPTIONS), risk=settings) as d:  # type: ignore[arg-type]
        await market_until(d, lambda: _lots(d) == 3)
        last = d.engine.risk.gate.last_prices[SBER]
        price = d.broker.lookup(SBER).round_price(last * 95 / 100)
        resting = d.engine.submit(Order(SBER, Side.BUY, OrderType.LIMIT, 1, "sim-1", price=price))
        await d.settle()
        slow = SlowCancels(d.broker)  # the cancel never comes back in time
        d.engine.router.broker = slow  # type: ignore[assignment]
        with Records("avin.risk") as log:
            d.engine.flatten("test")
            await wait_for(lambda: any("closing anyway" in m for m in log.messages))
            await wait_for(lambda: not d.engine.risk.flattening)
        assert resting.is_open  # still waiting for its cancel
        sells = [o for o in d.engine.book.orders.values() if o.side is Side.SELL]
        assert [o.lots for o in sells] == [3]  # the position is closed all the same
        slow.release.set()
        await until(d, lambda: resting.status is OrderStatus.CANCELLED)
