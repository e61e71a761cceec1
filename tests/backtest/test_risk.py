"""A backtest runs the engine's pre-trade rules: a limit breached shows as a rejection in the
report, with the rule and its numbers, and the strategy learns it in ``on_order`` -- as live."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, ClassVar

import pytest

from engine.backtest import Backtester, BacktestOptions
from engine.backtest.session import Market, run_backtest
from engine.broker.sim import generate_bars
from engine.config import RiskSettings
from engine.model import Bar, Order, OrderStatus
from engine.runtime.startup import weekdays_back
from engine.runtime.worklist import StrategySpec
from engine.strategy import StrategyContext, build
from engine.strategy.light import LightStrategy
from tests.backtest.helpers import INST, bars, flat
from tests.backtest.test_parity import MINUTES, SBER, _engine_kw
from tests.runtime.simkit import START, Driver


class Accumulate(LightStrategy):
    """Buys ``lots`` at market every ``every`` bars, never sells: it outgrows any position limit."""

    name: ClassVar[str] = "test_accumulate"
    default_params: ClassVar[dict[str, Any]] = {"every": 5, "lots": 1}

    def on_start(self, ctx: StrategyContext) -> None:
        self.count = 0
        self.answers: list[tuple[str, str]] = []

    def on_1M(self, ctx: StrategyContext, bar: Bar) -> None:
        self.count += 1
        if self.count % self.params["every"] == 0:
            ctx.buy(self.params["lots"])

    def on_order(self, ctx: StrategyContext, order: Order) -> None:
        if order.status is OrderStatus.REJECTED:
            self.answers.append((order.id, order.reason))


LIMIT = RiskSettings(max_position_lots=3)


def _series(n: int = 40) -> Any:
    return bars(flat([100 + (i % 7) * 0.5 for i in range(n)]))


def test_a_position_limit_breached_in_a_backtest_is_a_rejection_in_its_report() -> None:
    market = Market(INST, _series())
    options = BacktestOptions(commission=0, risk=LIMIT)
    report = run_backtest("tests.backtest.test_risk:Accumulate", [market], options=options)
    rejected = report.rejected
    # 8 buys of 1 lot: 3 fill, the other 5 would take the position past 3 lots
    assert rejected.height == 5
    reasons = rejected["reason"].to_list()
    assert all(
        r.startswith(f"max_position: {INST.code} on backtest could reach 4 lots") for r in reasons
    )
    assert all(r.endswith("> limit 3") for r in reasons)
    assert report.meta["rejections"] == {"max_position": 5}
    assert report.meta["pre_trade_rules"] is True
    assert report.total.summary["rejected"] == 5
    assert report.section(INST.code).summary["rejected"] == 5
    assert report.total.position.max() == 3


def test_the_strategy_learns_the_rejection_in_on_order_and_nothing_works() -> None:
    strategy = build("tests.backtest.test_risk:Accumulate", {"every": 2, "lots": 2})
    tester = Backtester(strategy, INST, BacktestOptions(commission=0, risk=LIMIT))
    result = tester.run(_series(12))
    refused = [o for o in result.orders if o.status is OrderStatus.REJECTED]
    assert refused and {o.id for o in refused} == {key for key, _ in strategy.answers}  # type: ignore[attr-defined]
    assert all(o.filled_lots == 0 and o.reason.startswith("max_position:") for o in refused)
    assert not result.fills or max(abs(int(lots)) for lots in result.position) <= 3
    assert result.rejections == {"max_position": len(refused)}


def test_without_risk_settings_every_order_reaches_the_market() -> None:
    result = Backtester(build("tests.backtest.test_risk:Accumulate"), INST).run(_series())
    statuses = [o.status for o in result.orders]
    # the buy of the last bar expires with the run
    assert statuses == [OrderStatus.FILLED] * 7 + [OrderStatus.EXPIRED]
    assert result.rejections == {}
    assert int(result.position[-1]) == 7


@pytest.mark.parametrize(
    ("settings", "rule"),
    [
        (RiskSettings(max_order_lots=1), "max_order_lots"),  # a reversal is 2 x lots
        (RiskSettings(max_order_value=150), "max_order_value"),
    ],
)
def test_sparse_and_bar_by_bar_runs_reject_the_same_orders(
    settings: RiskSettings, rule: str
) -> None:
    prices = [100 + 3 * ((i // 9) % 2) + 0.1 * (i % 4) for i in range(120)]
    frame = bars(flat(prices))
    out = []
    for mode in ("sparse", "bars"):
        options = BacktestOptions(commission=0, risk=settings, mode=mode)
        tester = Backtester(build("sma_cross", {"fast": 3, "slow": 8, "lots": 1}), INST, options)
        result = tester.run(frame)
        out.append(
            (
                [(o.id, o.status, o.reason, o.filled_lots) for o in result.orders],
                result.rejections,
                result.meta["mode"],
            )
        )
    (sparse, sparse_rules, sparse_mode), (dense, dense_rules, dense_mode) = out
    assert (sparse_mode, dense_mode) == ("sparse", "bar by bar")
    assert sparse == dense
    assert sparse_rules == dense_rules and sparse_rules.get(rule, 0) >= 1


async def _live_orders(params: dict[str, Any], risk: RiskSettings) -> tuple[str, list]:
    spec = StrategySpec("tests.backtest.test_risk:Accumulate", "SBER", params=params)
    async with Driver([spec], risk=risk) as d:
        await d.minutes(MINUTES)
        slot = d.engine.slots[0]
        assert slot.error == "" and slot.ctx is not None
        orders = sorted(d.engine.book.orders.values(), key=lambda o: o.created_ts or START)
        return slot.ctx.account, [(o.status, o.lots, o.reason) for o in orders]


def test_a_limit_rejects_the_same_orders_live_and_in_a_backtest() -> None:
    params = {"every": 10, "lots": 2}
    relaxed = _engine_kw().get("risk", RiskSettings())
    risk = relaxed.model_copy(update={"max_position_lots": 5})
    account, live = asyncio.run(_live_orders(params, risk))
    begin = weekdays_back(START, 3)
    frame = generate_bars(SBER, begin, START + timedelta(minutes=MINUTES), seed=7)
    options = BacktestOptions(account=account, risk=risk)
    tester = Backtester(build("tests.backtest.test_risk:Accumulate", params), SBER, options)
    result = tester.run(frame, start=START)
    replayed = [
        (o.status, o.lots, o.reason)
        for o in sorted(result.orders, key=lambda o: o.created_ts or START)
    ]
    assert any(status is OrderStatus.REJECTED for status, _, _ in live), "the limit should bite"
    assert replayed == live
