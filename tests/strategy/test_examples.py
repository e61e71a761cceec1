"""The example strategies of domain.md, the ZigZag breakout and the light layer, backtested."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from engine.analysis.mtf import MultiTimeFrameView
from engine.analysis.stats import TrendStats
from engine.analysis.trends import trends_of
from engine.analysis.types import Kind
from engine.backtest import Backtester, BacktestOptions, file_instrument
from engine.broker.sim import SIM_INSTRUMENTS, generate_bars
from engine.model import Instrument, OrderType, Side, TimeFrame
from engine.strategy import build, names
from engine.strategy.light import exit_prices, risk_lots

SBER = SIM_INSTRUMENTS[0]


@pytest.fixture(scope="module")
def minutes() -> pl.DataFrame:
    return generate_bars(SBER, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))


def test_the_examples_are_registered() -> None:
    for name in ("big_trend_short", "big_trend_long", "pin_bar", "zigzag_breakout", "sma_cross"):
        assert name in names()


def _entries(result):
    return [o for o in result.orders if o.type is OrderType.MARKET and o.filled_lots]


def test_big_trend_short_sells_on_big_bull_t1_trends_with_its_bracket(minutes) -> None:
    result = Backtester(build("big_trend_short"), SBER).run(minutes)
    entries = _entries(result)
    assert entries and all(o.side is Side.SELL for o in entries)
    view = MultiTimeFrameView.from_bars(minutes, [TimeFrame.H1])
    for order in entries:
        frame = view.as_of(order.created_ts)[TimeFrame.H1]
        trend = frame.trend(1, 0)
        assert trend is not None and trend.kind == "bull" and trend.len >= 5
        done = trends_of(1, frame.confirmed(1), frame.data.cumvol)
        stats = TrendStats.from_trends(
            pl.DataFrame(
                {
                    "abs_p": [t.abs_p for t in done],
                    "len": [t.len for t in done],
                    "speed_p": [t.speed_p for t in done],
                    "vol": [t.vol for t in done],
                    "confirmed": [True] * len(done),
                }
            )
        )
        assert 0.70 <= stats.cdf("abs_p", trend.abs_p) <= 0.90
        fill = order.avg_fill_price
        exits = [
            o
            for o in result.orders
            if o.type is not OrderType.MARKET and o.created_ts == order.updated_ts
        ]
        assert {(o.type, o.stop_price) for o in exits} == {
            (OrderType.STOP, SBER.round_price(fill * Decimal("1.01"))),
            (OrderType.TAKE_PROFIT, SBER.round_price(fill * Decimal("0.98"))),
        }
    assert all(t.closed for t in result.trades)


def test_big_trend_long_buys_only_with_both_timeframes_bull(minutes) -> None:
    result = Backtester(build("big_trend_long"), SBER).run(minutes)
    entries = _entries(result)
    assert entries and all(o.side is Side.BUY for o in entries)
    view = MultiTimeFrameView.from_bars(minutes, [TimeFrame.M10, TimeFrame.H1])
    for order in entries:
        snap = view.as_of(order.created_ts)
        assert snap[TimeFrame.M10].trend(3, 0).kind == "bull"
        h1 = snap[TimeFrame.H1].trend(1, 0)
        assert h1 is not None and h1.kind == "bull"


def _daily(rows: list[tuple[float, float, float, float]]) -> pl.DataFrame:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return pl.DataFrame(
        {
            "ts": pl.Series(
                [start + timedelta(days=i) for i in range(len(rows))],
                dtype=pl.Datetime("ns", "UTC"),
            ),
            "open": [r[0] for r in rows],
            "high": [r[1] for r in rows],
            "low": [r[2] for r in rows],
            "close": [r[3] for r in rows],
            "volume": [1000] * len(rows),
        }
    )


def test_pin_bar_buys_a_hammer_after_a_strong_bear_bar_at_the_next_open() -> None:
    rows = [
        (100.0, 101.0, 99.5, 100.5),
        (100.5, 100.8, 98.9, 99.0),  # strong bear: -1.49 %
        (99.0, 99.2, 96.0, 98.9),  # hammer: body 0.1, range 3.2, lower shadow 2.9
        (99.5, 100.0, 99.0, 99.8),  # entry at this open 99.5
        (99.8, 101.6, 99.6, 101.0),  # take +2 % = 101.49 reached
        (101.0, 101.2, 100.5, 100.9),
    ]
    frame = _daily(rows)
    inst = file_instrument(frame, "pin")
    options = BacktestOptions(commission=Decimal(0))
    result = Backtester(build("pin_bar", timeframe=TimeFrame.D), inst, options, base=TimeFrame.D)
    run = result.run(frame)
    (trade,) = run.trades
    assert trade.side is Side.BUY and trade.entry_price == Decimal("99.5")
    assert inst.step == Decimal("0.1")  # the file has one decimal
    assert trade.exit_price == Decimal("101.5")  # 99.5 * 1.02 = 101.49 on the step 0.1
    assert trade.exit_ts == frame["ts"][4]


def test_pin_bar_ignores_a_hammer_without_the_bear_bar() -> None:
    rows = [
        (100.0, 101.0, 99.5, 100.5),
        (100.5, 100.8, 100.2, 100.4),
        (99.0, 99.2, 96.0, 98.9),
        (99.5, 100.0, 99.0, 99.8),
    ]
    frame = _daily(rows)
    run = Backtester(build("pin_bar"), file_instrument(frame), base=TimeFrame.D).run(frame)
    assert run.orders == []


def test_zigzag_breakout_enters_only_on_a_close_above_the_last_confirmed_max(minutes) -> None:
    result = Backtester(build("zigzag_breakout"), SBER).run(minutes)
    entries = _entries(result)
    assert entries
    view = MultiTimeFrameView.from_bars(minutes, [TimeFrame.H1])
    for order in entries:
        frame = view.as_of(order.created_ts)[TimeFrame.H1]
        highs = [p for p in frame.confirmed(1) if p.kind is Kind.MAX]
        last, before = frame.bar(1), frame.bar(2)
        assert before.close <= highs[-1].price < last.close


def test_risk_sizing_and_exit_prices() -> None:
    inst = Instrument("MOEX", "SHARE", "X", "x", "", "", 10, Decimal("0.01"))
    assert risk_lots(inst, 100, 98, 1000) == 50  # 2 * 10 per lot
    assert risk_lots(inst, 100, 98, 1000, max_lots=7) == 7
    assert risk_lots(inst, 100, 100, 1000) == 0
    assert exit_prices(Side.BUY, Decimal(100), stop_p=1, take_p=2) == (Decimal(99), Decimal(102))
    assert exit_prices(Side.SELL, Decimal(100), stop_p=1, take_p=2) == (Decimal(101), Decimal(98))
    assert exit_prices(Side.BUY, Decimal(100), stop_price=95) == (Decimal(95), None)


def test_sma_cross_needs_strictly_below_then_above() -> None:
    """The definition: fast < slow on the previous closed bar, fast > slow on this one."""
    strategy = build("sma_cross", {"fast": 1, "slow": 2})
    assert strategy.signal([11.0, 10.0, 11.0]) == 1  # before: below, now above
    assert strategy.signal([10.0, 10.0, 11.0]) == 0  # before: equal, not below
    assert strategy.signal([10.0, 11.0, 12.0]) == 0  # above on both bars: no new cross
    assert strategy.signal([10.0, 11.0, 10.0]) == -1
    assert strategy.signal([11.0, 11.0, 10.0]) == 0
