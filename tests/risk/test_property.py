"""Property: under random interleavings of strategy orders, fills, price moves and kill-switch
actions, no order reaches the broker while HALTED, only reducing orders while REDUCING, and no
limit is ever exceeded (checked at the broker, by a recording wrapper around SimBroker)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.broker.sim import SimBroker
from engine.config import RiskSettings
from engine.model import Order, OrderType, Side
from engine.model.snapshot import TradingState
from engine.risk.checks import crosses
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.worklist import StrategySpec
from tests.runtime.simkit import START

CODE = "MOEX_SHARE_SBER"
RISK = RiskSettings(
    max_order_lots=5,
    max_position_lots=6,
    max_order_value=Decimal(15_000),  # 5 lots of SBER (10 shares) at ~300
    orders_per_minute_strategy=6,
    orders_per_minute_account=10,
    price_collar=0.03,
    daily_loss_limit=None,
    max_drawdown=None,
    reject_limit=0,
    disconnect_limit=0,
    stale_data_seconds=0,
    flatten_cancel_timeout=0.05,
)
SPECS = [StrategySpec("test_script", "SBER"), StrategySpec("test_script", "SBER")]


class Recording(SimBroker):
    """SimBroker that checks every order it receives against the engine's trading state."""

    engine: Engine

    def __init__(self) -> None:
        super().__init__(seed=7, start=START, realtime=False)
        self.posts: list[tuple[Order, TradingState]] = []
        self.violations: list[str] = []

    def truth(self) -> tuple[int, int, int]:
        pos = self._positions.get(CODE)
        open_ = [o for o in self._orders.values() if o.is_open and o.instrument == CODE]
        buy = sum(o.remaining_lots for o in open_ if o.side is Side.BUY)
        sell = sum(o.remaining_lots for o in open_ if o.side is Side.SELL)
        return (pos.lots if pos else 0), buy, sell

    async def post_order(self, order: Order) -> Order:
        state = self.engine.trading_state
        self.posts.append((order, state))
        lots, buy, sell = self.truth()
        if state is TradingState.HALTED:
            self.violations.append(f"sent while HALTED: {order}")
        if state is TradingState.REDUCING:
            pending = sell if order.side is Side.SELL else buy
            reduces = lots and (lots > 0) != (order.side is Side.BUY)
            if not reduces or order.lots + pending > abs(lots):
                self.violations.append(f"not reducing ({lots}, {buy}, {sell}): {order}")
        if order.lots > RISK.max_order_lots:
            self.violations.append(f"max_order_lots: {order}")
        worst = max(
            abs(lots + buy + (order.lots if order.side is Side.BUY else 0)),
            abs(lots - sell - (order.lots if order.side is Side.SELL else 0)),
        )
        if worst > RISK.max_position_lots:
            self.violations.append(f"max_position could be {worst}: {order}")
        for other in self._orders.values():
            if other.is_open and other.instrument == CODE and crosses(order, other):
                self.violations.append(f"self trade: {order} x {other}")
        per_strategy = sum(1 for o, _ in self.posts if o.strategy == order.strategy)
        if order.strategy and per_strategy > RISK.orders_per_minute_strategy:
            self.violations.append(f"rate: {per_strategy} orders of {order.strategy}")
        if len(self.posts) > RISK.orders_per_minute_account:
            self.violations.append(f"account rate: {len(self.posts)}")
        return await super().post_order(order)


order_action = st.tuples(
    st.just("order"),
    st.integers(0, 1),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(1, 7),
    st.one_of(st.none(), st.integers(-40, 40)),  # None: market; else a limit offset in 0.1 %
)
action = st.one_of(
    order_action,
    st.tuples(st.just("step"), st.integers(1, 7)),
    st.sampled_from([("kill",), ("reduce",), ("resume",), ("flatten",)]),
)


async def settle(engine: Engine, broker: SimBroker) -> None:
    for _ in range(2000):
        await asyncio.sleep(0)
        if broker._queue.empty() and engine.pending_requests == 0:
            return
    raise AssertionError("the engine did not settle: the step's checks would prove nothing")


async def until_flattened(engine: Engine, timeout: float = 5.0) -> None:
    """Wait, bounded, for the flatten to finish (its cancels answered or timed out)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while engine.risk.flattening:
        assert loop.time() < deadline, "the flatten did not finish"
        await asyncio.sleep(0.01)


async def scenario(actions: list[tuple[Any, ...]]) -> Recording:
    broker = Recording()
    engine = Engine(broker, SPECS, EngineOptions(history_days=0), risk=RISK)
    broker.engine = engine
    task = asyncio.create_task(engine.run())
    while not engine.started:
        await asyncio.sleep(0.001)
    ids = [s.id for s in engine.slots]
    broker.step()  # a first price
    await settle(engine, broker)
    for act in actions:
        kind = act[0]
        if kind == "order":
            _, who, side, lots, offset = act
            last = engine.risk.gate.last_price(CODE)
            if offset is None or last is None:
                order = Order(CODE, side, OrderType.MARKET, lots, "sim-1", strategy=ids[who])
            else:
                price = (last * (1 + Decimal(offset) / 1000)).quantize(Decimal("0.01"))
                order = Order(
                    CODE, side, OrderType.LIMIT, lots, "sim-1", price=price, strategy=ids[who]
                )
            engine.submit(order)
        elif kind == "step":
            for _ in range(act[1]):
                broker.step()
                await settle(engine, broker)
        elif kind == "kill":
            engine.kill("property")
        elif kind == "reduce":
            engine.reduce("property")
        elif kind == "resume":
            engine.resume_trading("property")
        elif kind == "flatten":
            engine.flatten("property")
            await until_flattened(engine)
        await settle(engine, broker)
        lots, _, _ = broker.truth()
        if abs(lots) > RISK.max_position_lots:
            broker.violations.append(f"position {lots}")
    engine.request_stop()
    await asyncio.wait_for(task, 10)
    return broker


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(action, min_size=1, max_size=30))
def test_no_order_escapes_the_kill_switch_or_the_limits(actions: list[tuple[Any, ...]]) -> None:
    broker = asyncio.run(scenario(actions))
    assert broker.violations == []


def test_the_recorder_sees_orders() -> None:
    acts: list[tuple[Any, ...]] = [("order", 0, Side.BUY, 2, None), ("step", 2), ("kill",)]
    broker = asyncio.run(scenario(acts))
    assert [o.lots for o, _ in broker.posts] == [2] and broker.violations == []
