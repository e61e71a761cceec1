"""Fill rules: next open for market orders, crossings for limit/stop, gaps at the open."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from engine.backtest import Backtester, BacktestOptions
from engine.model import OrderStatus
from tests.backtest.helpers import INST, LOT10, T0, Plan, bars, flat


def run(plan: dict, rows, *, instrument=INST, breaks=(), **options):
    strategy = Plan({"plan": plan})
    options.setdefault("commission", Decimal(0))
    tester = Backtester(strategy, instrument, BacktestOptions(**options))
    return tester.run(bars(rows, breaks=breaks)), strategy


def test_market_order_fills_at_the_next_bars_open_not_the_signal_close() -> None:
    rows = [(100, 101, 99, 100), (105, 106, 104, 105.5), (107, 108, 106, 107)]
    result, _ = run({1: [{"side": "buy"}]}, rows)
    (fill,) = result.fills
    assert fill.price == Decimal("105.00")  # bar 2's open, not bar 1's close (100)
    assert fill.ts == T0 + timedelta(minutes=1)


def test_an_order_placed_on_the_last_bar_never_fills_and_expires() -> None:
    result, strategy = run({2: [{"side": "buy"}]}, flat([100, 101]))
    assert result.fills == []
    assert strategy.placed[0].status is OrderStatus.EXPIRED


def test_limit_buy_fills_at_the_limit_when_a_later_bar_crosses_it() -> None:
    rows = [(100, 100, 100, 100), (100, 100.5, 99.5, 100), (100, 100, 98, 99)]
    result, _ = run({1: [{"side": "buy", "type": "limit", "price": 98.5}]}, rows)
    (fill,) = result.fills
    assert fill.price == Decimal("98.50")
    assert fill.ts.replace(second=0) == T0 + timedelta(minutes=2)


def test_limit_buy_gapped_through_after_a_break_fills_at_the_better_open() -> None:
    rows = [(100, 100, 100, 100), (97, 97.5, 96, 97)]
    result, _ = run({1: [{"side": "buy", "type": "limit", "price": 98.5}]}, rows, breaks=[1])
    assert result.fills[0].price == Decimal("97.00")


def test_stop_sell_gapped_through_fills_at_the_worse_open() -> None:
    rows = [(100, 100, 100, 100), (100, 100, 100, 100), (95, 96, 94, 95)]
    plan = {1: [{"side": "buy"}], 2: [{"side": "sell", "type": "stop", "stop_price": 98}]}
    result, _ = run(plan, rows, breaks=[2])
    assert [f.price for f in result.fills] == [Decimal("100.00"), Decimal("95.00")]


def test_stop_sell_crossed_within_a_bar_fills_at_the_stop() -> None:
    rows = [(100, 100, 100, 100), (100, 100, 100, 100), (99.5, 99.6, 97, 97.5)]
    plan = {1: [{"side": "buy"}], 2: [{"side": "sell", "type": "stop", "stop_price": 98}]}
    result, _ = run(plan, rows)
    assert [f.price for f in result.fills] == [Decimal("100.00"), Decimal("98.00")]


def test_gaps_always_fills_a_gapping_open_at_the_open_even_without_a_break() -> None:
    rows = [(100, 100, 100, 100), (100, 100, 100, 100), (95, 96, 94, 95)]
    plan = {1: [{"side": "buy"}], 2: [{"side": "sell", "type": "stop", "stop_price": 98}]}
    session, _ = run(plan, rows)
    always, _ = run(plan, rows, gaps="always")
    assert session.fills[1].price == Decimal("98.00")  # the engine's continuous-price rule
    assert always.fills[1].price == Decimal("95.00")


def test_take_profit_fills_when_the_price_rises_to_it() -> None:
    rows = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 103, 99, 102)]
    plan = {1: [{"side": "buy"}], 2: [{"side": "sell", "type": "take_profit", "stop_price": 102}]}
    result, _ = run(plan, rows)
    assert [f.price for f in result.fills] == [Decimal("100.00"), Decimal("102.00")]


def test_an_unfilled_resting_order_never_stalls_the_run() -> None:
    rows = flat([100 + (i % 7) * 0.1 for i in range(5000)])
    result, strategy = run({1: [{"side": "buy", "type": "limit", "price": 1}]}, rows)
    assert result.fills == [] and result.position.size == 5000
    assert strategy.placed[0].status is OrderStatus.EXPIRED


def test_cancel_removes_a_working_order() -> None:
    rows = [(100, 100, 100, 100)] * 3 + [(90, 90, 90, 90)]
    plan = {1: [{"side": "buy", "type": "limit", "price": 95}], 2: [{"cancel": "all"}]}
    result, strategy = run(plan, rows)
    assert result.fills == []
    assert strategy.placed[0].status is OrderStatus.CANCELLED


def test_default_commission_is_five_hundredths_of_a_percent() -> None:
    rows = [(100, 100, 100, 100), (200, 200, 200, 200), (300, 300, 300, 300), (300,) * 4]
    plan = {1: [{"side": "buy", "lots": 3}], 2: [{"side": "sell", "lots": 3}]}
    result, _ = run(plan, rows, instrument=LOT10, commission=Decimal("0.0005"))
    buy, sell = result.fills
    assert buy.commission == Decimal("3.00")  # 200 * 3 lots * 10 * 0.0005
    assert sell.commission == Decimal("4.50")
    (trade,) = result.trades
    assert trade.result == Decimal("3000") - Decimal("7.50")


def test_commission_zero_is_allowed() -> None:
    rows = [(100, 100, 100, 100), (200, 200, 200, 200), (300,) * 4, (300,) * 4]
    plan = {1: [{"side": "buy"}], 2: [{"side": "sell"}]}
    result, _ = run(plan, rows, commission=Decimal(0))
    assert all(f.commission == 0 for f in result.fills)
    assert result.trades[0].result == Decimal(100)


def test_slippage_moves_each_fill_against_the_trader_by_whole_steps() -> None:
    rows = [(100, 100, 100, 100), (200, 200, 200, 200), (300,) * 4, (300,) * 4]
    plan = {1: [{"side": "buy"}], 2: [{"side": "sell"}]}
    result, _ = run(plan, rows, slippage_ticks=2)
    assert [f.price for f in result.fills] == [Decimal("200.02"), Decimal("299.98")]


def test_limit_prices_are_rounded_to_the_step_and_lots_multiply_value() -> None:
    rows = [(100, 100, 100, 100), (100, 100, 99, 99.5), (99.5,) * 4]
    plan = {1: [{"side": "buy", "lots": 2, "type": "limit", "price": 99.74}]}
    result, _ = run(plan, rows, instrument=LOT10)
    assert result.fills[0].price == Decimal("99.5")  # step 0.5
    assert result.position[-1] == 2


def test_an_invalid_order_is_rejected_not_stalled() -> None:
    rows = flat([100, 101, 102])
    strategy = Plan({"plan": {1: [{"side": "buy", "type": "limit", "price": -5}]}})
    tester = Backtester(strategy, INST)
    tester.run(bars(rows))
    assert strategy.placed[0].status is OrderStatus.REJECTED


def test_a_failing_strategy_stops_the_backtest_with_the_reason() -> None:
    from engine.backtest import StrategyFailed

    strategy = Plan({"plan": {2: [{"side": "nonsense"}]}})
    with pytest.raises(StrategyFailed, match="on_bar"):
        Backtester(strategy, INST).run(bars(flat([1, 2, 3])))


def test_warm_up_bars_fill_the_charts_without_trading() -> None:
    rows = flat([100, 101, 102, 103, 104])
    strategy = Plan({"plan": {1: [{"side": "buy"}]}})
    result = Backtester(strategy, INST).run(bars(rows), start=T0 + timedelta(minutes=3))
    assert strategy.count == 2 and result.position.size == 2
    assert result.fills[0].price == Decimal("103.00")  # the 5th bar opens at the 4th close
    assert result.fills[0].ts == T0 + timedelta(minutes=4)
