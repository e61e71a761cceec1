"""The trade list, the domain summary and the equity metrics, computed by hand on tiny series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from engine.backtest import Backtester, BacktestOptions
from engine.backtest.report import (
    _utc_times,
    build_report,
    daily_returns,
    equity_frame,
    equity_metrics,
    max_drawdown,
    sharpe,
    sortino,
    summarize,
)
from engine.model import Side
from tests.backtest.helpers import INST, T0, Plan, bars

PRICES = [100, 101, 104, 106, 108, 107, 105, 110, 111]
PLAN = {
    1: [{"side": "buy"}],
    2: [{"side": "sell"}],
    3: [{"side": "sell"}],
    4: [{"side": "buy"}],
    5: [{"side": "buy"}],
    6: [{"side": "sell"}],
    7: [{"side": "buy"}],
    8: [{"side": "sell"}],
}


def _run():
    options = BacktestOptions(commission=Decimal(0), capital=Decimal(1000))
    tester = Backtester(Plan({"plan": PLAN}), INST, options)
    return tester.run(bars([(p, p, p, p) for p in PRICES]))


def test_trade_list_by_hand() -> None:
    result = _run()
    got = [(t.side, t.entry_price, t.exit_price, t.lots, t.result) for t in result.trades]
    d = Decimal
    assert got == [
        (Side.BUY, d("101.00"), d("104.00"), 1, d(3)),
        (Side.SELL, d("106.00"), d("108.00"), 1, d(-2)),
        (Side.BUY, d("107.00"), d("105.00"), 1, d(-2)),
        (Side.BUY, d("110.00"), d("111.00"), 1, d(1)),
    ]
    assert result.trades[0].entry_ts == T0 + timedelta(minutes=1)
    assert result.trades[0].exit_ts == T0 + timedelta(minutes=2)


def test_summary_by_hand() -> None:
    report = build_report("test_plan", {}, [_run()])
    s = report.total.summary
    assert (s["total"], s["wins"], s["losses"]) == (4, 2, 2)
    assert (s["gross_profit"], s["gross_loss"], s["profit"]) == (4, -4, 0)
    assert s["ratio"] == 1 and s["percent_profitable"] == 50
    assert (s["avg_trade"], s["avg_win"], s["avg_loss"]) == (0, 2, -2)
    assert (s["max_win"], s["max_loss"]) == (3, -2)
    assert (s["win_streak"], s["loss_streak"]) == (1, 2)
    assert report.trades.height == 4
    assert report.trades["result"].to_list() == ["3.00", "-2.00", "-2.00", "1.00"]


def test_equity_drawdown_and_exposure_by_hand() -> None:
    result = _run()
    assert result.equity.tolist() == [1000, 1000, 1003, 1003, 1001, 1001, 999, 999, 1000]
    assert result.position.tolist() == [0, 1, 0, -1, 0, 1, 0, 1, 0]
    m = equity_metrics(result.ts, result.equity, result.position, 1000.0)
    assert m["max_drawdown"] == 4
    assert abs(m["max_drawdown_p"] - 400 / 1003) < 1e-12
    assert abs(m["exposure"] - 4 / 9) < 1e-12


def test_summary_of_nothing_and_of_breakeven_streaks() -> None:
    assert summarize([])["total"] == 0 and summarize([])["ratio"] is None
    s = summarize([Decimal(1), Decimal(1), Decimal(0), Decimal(1), Decimal(-1), Decimal(-1)])
    assert (s["win_streak"], s["loss_streak"], s["wins"], s["losses"]) == (2, 2, 3, 2)
    assert s["ratio"] == Decimal("1.5")


def test_max_drawdown_of_a_known_curve() -> None:
    money, pct = max_drawdown(np.array([100.0, 120, 90, 130, 117, 140]))
    assert money == 30 and pct == 25


def _days(values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    day = 86_400_000_000_000
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000_000
    return np.array([start + i * day for i in range(len(values))]), np.array(values)


def test_sharpe_and_sortino_signs() -> None:
    ts, up = _days([1000 + 10 * i + (5 if i % 2 else 0) for i in range(30)])
    _, down = _days([1000 - 10 * i - (5 if i % 2 else 0) for i in range(30)])
    r_up, r_down = daily_returns(ts, up, 1000.0), daily_returns(ts, down, 1000.0)
    assert sharpe(r_up) > 0 > sharpe(r_down)
    assert (sortino(r_up) or 1) > 0 and (sortino(r_down) or -1) < 0
    assert sharpe(np.zeros(10)) == 0


def test_daily_returns_take_the_last_equity_of_each_day() -> None:
    ts, eq = _days([1000, 1100])
    ts = np.concatenate([ts, ts + 3_600_000_000_000])
    eq = np.array([1000.0, 1100.0, 990.0, 1210.0])
    order = np.argsort(ts, kind="stable")
    r = daily_returns(ts[order], eq[order], 1000.0)
    assert np.allclose(r, [990 / 1000 - 1, 1210 / 990 - 1])


def test_total_section_sums_instruments() -> None:
    a, b = _run(), _run()
    report = build_report("x", {}, [a, b])
    assert [s.name for s in report.sections] == [INST.code, INST.code, "TOTAL"]
    assert report.total.summary["total"] == 8
    assert report.total.equity.tolist()[2] == 1006


MIXED_PLAN = {
    1: [{"side": "buy"}, {"side": "buy", "type": "limit", "price": 90}],  # the limit never fills
    3: [{"side": "sell", "type": "stop", "stop_price": 103}],
    5: [{"side": "sell"}],
}


def _rows_reference(result) -> tuple[list[dict], list[dict]]:
    """The trade and order rows as dicts, field by field (what the frames must hold)."""
    trades = [
        {
            "entry_ts": t.entry_ts,
            "entry_price": str(t.entry_price),
            "exit_ts": t.exit_ts,
            "exit_price": str(t.exit_price),
            "lots": t.lots,
            "side": "long" if t.side is Side.BUY else "short",
            "result": str(t.result),
            "instrument": result.instrument.code,
            "commission": str(t.commission),
            "result_p": str(t.result_p.quantize(Decimal("0.0001"))),
        }
        for t in result.trades
        if t.closed
    ]
    orders = [
        {
            "instrument": o.instrument,
            "created_ts": o.created_ts,
            "updated_ts": o.updated_ts,
            "side": o.side.value,
            "type": o.type.value,
            "lots": o.lots,
            "price": None if o.price is None else str(o.price),
            "stop_price": None if o.stop_price is None else str(o.stop_price),
            "status": o.status.value,
            "filled_lots": o.filled_lots,
            "avg_fill_price": None if o.avg_fill_price is None else str(o.avg_fill_price),
            "commission": str(o.commission),
            "reason": o.reason,
        }
        for o in result.orders
    ]
    return trades, orders


def test_trade_and_order_frames_hold_every_field_of_every_row() -> None:
    options = BacktestOptions(commission=Decimal("0.001"), capital=Decimal(1000))
    tester = Backtester(Plan({"plan": MIXED_PLAN}), INST, options)
    result = tester.run(bars([(p, p + 1, p - 1, p) for p in PRICES]))
    report = build_report("test_plan", {}, [result])
    trades, orders = _rows_reference(result)
    assert trades and len(orders) == 4
    assert {o["type"] for o in orders} == {"market", "limit", "stop"}
    assert report.trades.to_dicts() == trades
    assert report.orders.to_dicts() == orders
    assert report.trades.schema["entry_ts"] == pl.Datetime("us", "UTC")
    assert report.orders.schema["created_ts"] == pl.Datetime("us", "UTC")
    assert report.orders.schema["price"] == pl.String
    assert report.orders.schema["lots"] == pl.Int64
    equity = equity_frame(report.sections)
    names = [INST.code] * result.ts.size + ["TOTAL"] * report.total.ts.size
    assert equity["instrument"].to_list() == names
    assert equity.schema["instrument"] == pl.String


def test_the_total_of_one_instrument_with_repeated_times_takes_the_last_bar_of_each() -> None:
    result = _run()
    result.ts = np.repeat(result.ts[::2], 2)[: result.ts.size]  # the same time twice in a row
    total = build_report("x", {}, [result]).total
    assert total.ts.tolist() == sorted(set(result.ts.tolist()))
    last = {int(t): i for i, t in enumerate(result.ts)}
    assert total.equity.tolist() == [result.equity[last[int(t)]] for t in total.ts]


@pytest.mark.parametrize(
    "values",
    [
        [
            datetime(2024, 3, 4, 7, 0, 0, 123456, tzinfo=UTC),
            None,
            datetime(1969, 12, 31, tzinfo=UTC),
        ],
        [datetime(2024, 3, 4, 10, 0, tzinfo=timezone(timedelta(hours=3))), None],
        [datetime(2024, 3, 4, 7, 0), datetime(2024, 3, 4, 7, 1)],  # naive
        [None, None],
    ],
)
def test_time_columns_equal_polars_reading_the_datetimes(values: list) -> None:
    micros: dict = {}  # shared by the calls: the second finds every time worked out already
    for schema in ({"x": pl.Datetime("us", "UTC")}, None, None):
        fast = pl.DataFrame({"x": _utc_times(values, micros)}, schema=schema)
        slow = pl.DataFrame({"x": values}, schema=schema)
        assert fast.schema == slow.schema
        assert fast.equals(slow)


def test_the_total_of_one_run_is_its_trades_summed_in_exit_order() -> None:
    result = _run()
    report = build_report("x", {}, [result])
    ordered = sorted(result.trades, key=lambda t: (t.exit_ts, t.entry_ts))
    fresh = {**summarize([t.result for t in ordered]), "rejected": 0}
    assert report.total.summary == fresh == report.section(INST.code).summary
    assert fresh["loss_streak"] == 2
    # trades out of exit order (results -2, 3, -2, 1): the total sorts and sums them afresh
    result.trades[:2] = result.trades[1::-1]
    shuffled = build_report("x", {}, [result])
    assert shuffled.section(INST.code).summary["loss_streak"] == 1
    assert shuffled.total.summary == fresh
