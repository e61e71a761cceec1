"""Walk-forward: the windows, the in-sample choice, out-of-sample runs equal to single backtests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from engine.backtest.session import Market, run_backtest
from engine.backtest.sweep import LocalPool, SweepJob, combinations, summary_row
from engine.backtest.walk_forward import (
    Period,
    WalkForwardError,
    Window,
    best,
    check_metric,
    parse_spec,
    span,
    stitch,
    usable,
    walk,
    windows,
)
from engine.broker.sim import SIM_INSTRUMENTS, generate_bars


def d(day: int, month: int = 1, year: int = 2024) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def test_windows_roll_by_test_and_drop_a_last_partial_one() -> None:
    days = Period(1, "D")
    steps = windows(d(8) + timedelta(hours=7), d(12) + timedelta(hours=15), Period(2, "D"), days)
    # data covers Jan 8 .. the end of Jan 12: tests on the 10th, 11th and 12th
    assert steps == [Window(d(8), d(10), d(11)), Window(d(9), d(11), d(12)),
                     Window(d(10), d(12), d(13))]  # fmt: skip
    # two-day tests: 10-12 fits, 12-14 would end after the data: dropped
    assert windows(d(8), d(12), Period(2, "D"), Period(2, "D")) == [Window(d(8), d(10), d(12))]
    assert windows(d(8), d(9), Period(2, "D"), days) == []  # shorter than train + test


def test_month_windows_are_calendar_months() -> None:
    steps = windows(d(1) + timedelta(hours=7), d(30, 9), Period(6, "M"), Period(1, "M"))
    assert [(s.train_start, s.test_start, s.test_end) for s in steps] == [
        (d(1), d(1, 7), d(1, 8)),
        (d(1, 2), d(1, 8), d(1, 9)),
        (d(1, 3), d(1, 9), d(1, 10)),
    ]
    assert Period(1, "M").shift(d(31), 1) == d(29, 2)
    assert Period(1, "Y").shift(d(29, 2), 1) == d(28, 2, 2025)
    assert Period(2, "W").shift(d(1), -1) == d(18, 12, 2023)


def test_specs() -> None:
    assert parse_spec("6M:1M") == (Period(6, "M"), Period(1, "M"))
    assert parse_spec("30d:5D") == (Period(30, "D"), Period(5, "D"))
    assert parse_spec("4W:1w") == (Period(4, "W"), Period(1, "W"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("6M", "TRAIN:TEST"),
        ("6M:1M:1M", "TRAIN:TEST"),
        ("M:1M", "not a length"),
        ("6M:1.5M", "not a length"),
        ("6x:1M", "use D, W, M or Y"),
        ("6m:1M", "M for months"),
        ("0D:1D", "at least 1D"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(WalkForwardError, match=message):
        parse_spec(spec)


def test_metrics_and_their_direction() -> None:
    rows = [{"sharpe": 1.0, "max_drawdown": 5.0}, {"sharpe": 2.0, "max_drawdown": 3.0},
            {"sharpe": 2.0, "max_drawdown": 4.0}]  # fmt: skip
    assert best(rows, "sharpe") == 1  # a tie goes to the earlier combination
    assert best(rows, "max_drawdown") == 1
    with pytest.raises(WalkForwardError, match="choose one of sharpe, net_pnl"):
        check_metric("profit")


@pytest.fixture(scope="module")
def job() -> SweepJob:
    inst = SIM_INSTRUMENTS[1]
    bars = generate_bars(inst, d(8), d(13))
    return SweepJob("sma_cross", (Market(inst, bars),))


COMBOS = combinations({"fast": [3, 5], "slow": [12, 20]})
WARMUP = timedelta(days=1)


@pytest.mark.parametrize("metric", ["net_pnl", "max_drawdown"])
def test_each_window_trades_the_best_in_sample_combination_out_of_sample(
    job: SweepJob, metric: str
) -> None:
    steps = usable(job, windows(*span(job), Period(2, "D"), Period(1, "D")))
    assert [s.test_start for s in steps] == [d(10), d(11), d(12)]
    with LocalPool(job, 1) as pool:
        results = list(walk(job, COMBOS, steps, pool, metric=metric, warmup=WARMUP))
    inst, bars = job.markets[0].instrument, job.markets[0].bars
    ts = pl.col("ts")
    chosen = []
    for r in results:
        w = r.window
        train = bars.filter((ts >= w.train_start - WARMUP) & (ts < w.test_start))
        train_market = [Market(inst, train, start=w.train_start)]
        runs = [run_backtest("sma_cross", train_market, params=c) for c in COMBOS]
        scores = [summary_row(c, run)[metric] for c, run in zip(COMBOS, runs, strict=True)]
        top = max(scores) if metric == "net_pnl" else min(scores)
        assert r.in_sample == top
        assert r.combo == COMBOS[scores.index(top)]
        chosen.append(r.combo)
        test = bars.filter((ts >= w.test_start - WARMUP) & (ts < w.test_end))
        single = run_backtest("sma_cross", [Market(inst, test, start=w.test_start)], params=r.combo)
        assert r.out.row == summary_row(r.combo, single)
        assert r.out.ts is not None and r.out.ts[0] >= w.test_start.timestamp() * 1e9
        assert r.out.ts.size == test.filter(ts >= w.test_start).height
    assert len({str(c) for c in chosen}) > 1 or metric == "max_drawdown"
    whole = stitch(results, job.options.capital)
    assert whole.row["trades"] == sum(r.out.row["trades"] for r in results)
    assert whole.row["net_pnl"] == sum((r.out.row["net_pnl"] for r in results), Decimal(0))
    # each window's equity continues where the one before ended
    first = results[0].out.equity
    assert first is not None
    size = first.size
    carried = float(first[-1]) - float(job.options.capital)
    second = results[1].out.equity
    assert second is not None
    assert whole.equity[size] == pytest.approx(float(second[0]) + carried)
    assert whole.row["max_drawdown"] >= max(r.out.row["max_drawdown"] for r in results)


def test_warm_up_reaches_the_charts_of_a_test_window(job: SweepJob) -> None:
    step = [Window(d(10), d(11), d(12))]
    with LocalPool(job, 1) as pool:
        cold = next(walk(job, COMBOS[-1:], step, pool, warmup=timedelta(0)))
        warm = next(walk(job, COMBOS[-1:], step, pool, warmup=WARMUP))
    assert cold.out.row != warm.out.row  # the warm strategy can trade from the first bar
