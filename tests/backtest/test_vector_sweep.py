"""Sweeps of rule strategies computed vectorised: each row equals the per-combination engine
run, each indicator is computed once per distinct value, and what the vectorised path does not
model falls back to the engine (the CLI says so once)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest

import engine.strategy.rules as rules_module
from avin_tui.cli import main
from engine.backtest.options import BacktestOptions
from engine.backtest.session import Market
from engine.backtest.sweep import SweepJob, Task, combinations, parse_grid, sweep
from engine.backtest.vector_sweep import NotVectorisable, vector_pool
from engine.broker.sim import SIM_INSTRUMENTS, generate_bars
from engine.config import RiskSettings
from engine.model import TimeFrame
from engine.strategy.base import StrategyParamError
from engine.strategy.registry import register
from engine.strategy.rules import (
    Rule,
    RuleStrategy,
    close,
    crosses_above,
    crosses_below,
    shift,
    sma,
    time_between,
)

DAY = datetime(2024, 1, 8, tzinfo=UTC)


@register
class _ExitRule(RuleStrategy):
    """Entries on a cross, exits under a longer average, only in a time window; two lots."""

    name: ClassVar[str] = "test_vector_sweep_exits"
    default_params: ClassVar[dict[str, Any]] = {"fast": 3, "slow": 8, "exit": 12, "hour": 10}

    def validate(self) -> None:
        if self.params["fast"] >= self.params["slow"]:
            raise StrategyParamError("test rule: fast must be below slow")

    def make_rule(self) -> Rule:
        p = self.params
        f, s = sma(close, p["fast"]), sma(close, p["slow"])
        window = time_between(f"{p['hour']:02d}:00", "15:00")
        return Rule(
            entry_long=crosses_above(f, s) & window,
            entry_short=crosses_below(f, s) & window,
            exit_long=close < sma(close, p["exit"]),
            exit_short=shift(close) > sma(close, p["exit"]),
            lots=2,
        )


def _markets(days: int = 2) -> tuple[Market, ...]:
    out = []
    for inst in (SIM_INSTRUMENTS[1], SIM_INSTRUMENTS[4]):  # steps 0.01 and 0.02
        bars = generate_bars(inst, DAY, datetime(2024, 1, 8 + days, tzinfo=UTC))
        out.append(Market(inst, bars, start=datetime(2024, 1, 8, 9, tzinfo=UTC)))  # warm-up
    return tuple(out)


@pytest.mark.parametrize(
    ("strategy", "items", "options"),
    [
        ("sma_cross_rule", ["fast=3,5", "slow=12:20:8"], BacktestOptions()),
        (
            "test_vector_sweep_exits",
            ["fast=3,5", "exit=12,20", "hour=8"],
            BacktestOptions(commission=Decimal("0.00037"), slippage_ticks=1),
        ),
    ],
    ids=["sma-cross-rule", "exits-windows-slippage"],
)
def test_each_vectorised_row_equals_the_engine_s(
    strategy: str, items: list[str], options: BacktestOptions
) -> None:
    job = SweepJob(strategy, _markets(), options=options)
    combos = combinations(parse_grid(items))
    engine_rows = list(sweep(job, combos, workers=1))
    vector_rows = list(sweep(job, combos, pool=vector_pool(job, combos)))
    # every metric is equal, floats too: the equity curve is built from the same fills in the
    # same order with the same float operations, and the total by the report's own code
    assert vector_rows == engine_rows
    assert all(r["trades"] > 0 for r in engine_rows)
    assert len({r["net_pnl"] for r in engine_rows}) == len(combos), "the grid should matter"


def test_each_indicator_is_computed_once_for_the_whole_grid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lengths: list[int] = []
    real = rules_module.window_mean

    def counted(values: Any, length: int) -> Any:
        lengths.append(length)
        return real(values, length)

    monkeypatch.setattr(rules_module, "window_mean", counted)
    markets = _markets(1)[:1]
    job = SweepJob("sma_cross_rule", markets, options=BacktestOptions())
    combos = combinations(parse_grid(["fast=3,5,7", "slow=10,20"]))
    rows = list(sweep(job, combos, pool=vector_pool(job, combos)))
    assert len(rows) == 6
    assert sorted(lengths) == [3, 5, 7, 10, 20]  # 5 distinct averages for 6 combinations


def test_a_refused_combination_fails_in_its_turn_with_the_strategy_s_message() -> None:
    job = SweepJob("test_vector_sweep_exits", _markets(1)[:1], options=BacktestOptions())
    combos = [{"fast": 3, "slow": 8}, {"fast": 9, "slow": 8}]
    rows = sweep(job, combos, pool=vector_pool(job, combos))
    assert next(rows)["fast"] == 3
    with pytest.raises(StrategyParamError, match="fast must be below slow"):
        next(rows)


@pytest.mark.parametrize(
    ("strategy", "timeframe", "options", "why"),
    [
        ("sma_cross", None, BacktestOptions(), "not a rule strategy"),
        ("sma_cross_rule", None, BacktestOptions(risk=RiskSettings()), "pre-trade rules"),
        ("sma_cross_rule", None, BacktestOptions(mode="bars"), "asks for the engine"),
        ("sma_cross_rule", TimeFrame.M5, BacktestOptions(), "reads 5M over 1M bars"),
        ("sma_cross_rule", None, BacktestOptions(chart_depth=15), "beyond the chart depth"),
    ],
)
def test_what_the_vectorised_path_does_not_model_is_refused(
    strategy: str, timeframe: TimeFrame | None, options: BacktestOptions, why: str
) -> None:
    job = SweepJob(strategy, _markets(1)[:1], timeframe=timeframe, options=options)
    with pytest.raises(NotVectorisable, match=why):
        vector_pool(job, [{"fast": 5, "slow": 20}])


def test_repeated_timestamps_are_refused() -> None:
    market = _markets(1)[0]
    doubled = market.bars.vstack(market.bars.head(3)).sort("ts")
    job = SweepJob("sma_cross_rule", (Market(market.instrument, doubled),))
    with pytest.raises(NotVectorisable, match="repeat a timestamp"):
        vector_pool(job, [{"fast": 5, "slow": 20}])


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bars = generate_bars(SIM_INSTRUMENTS[1], DAY, datetime(2024, 1, 9, tzinfo=UTC))
    path = tmp_path_factory.mktemp("vsweep") / "bars.csv"
    bars.write_csv(path)
    return path


def _cli(data: Path, out: Path, *extra: str) -> int:
    args = ["backtest", "sma_cross_rule", "--data", str(data), "--quiet", "--out", str(out)]
    return main([*args, "--grid", "fast=3,5", "--grid", "slow=12", *extra])


def test_the_cli_vectorises_a_rule_sweep_and_engine_only_gives_the_same_csv(
    data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AVIN_HOME", str(tmp_path / "home"))
    fast, slow = tmp_path / "vector.csv", tmp_path / "engine.csv"
    assert _cli(data, fast, "--no-risk") == 0
    err = capsys.readouterr().err
    assert "not vectorised" not in err
    assert _cli(data, slow, "--no-risk", "--engine-only", "--workers", "1") == 0
    assert "not vectorised" not in capsys.readouterr().err
    assert fast.read_text() == slow.read_text()
    assert len(list(csv.DictReader(fast.open()))) == 2
    metas = [json.loads(p.read_text()) for p in (tmp_path / "home").rglob("meta.json")]
    assert sorted(m["vectorised"] for m in metas) == [False, True]


def test_the_cli_says_once_why_a_sweep_is_not_vectorised(
    data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AVIN_HOME", str(tmp_path / "home"))
    assert _cli(data, tmp_path / "risk.csv", "--workers", "1", "--no-save") == 0
    err = capsys.readouterr().err
    assert err.count("not vectorised") == 1
    assert "pre-trade rules are on (--no-risk turns them off)" in err


def test_engine_only_without_a_grid_is_a_plain_error(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["backtest", "sma_cross_rule", "--data", str(data), "--quiet", "--engine-only"]
    assert main(args) == 2
    assert "--engine-only belongs to a sweep: give a --grid" in capsys.readouterr().err


def test_prices_too_big_for_int64_are_booked_with_python_integers() -> None:
    """Fill values of ~1e17 kopecks times a 5-digit commission rate overflow int64: the booking
    switches to Python integers and the rows still equal the engine's."""
    inst = SIM_INSTRUMENTS[1]
    bars = generate_bars(inst, DAY, datetime(2024, 1, 9, tzinfo=UTC)).with_columns(
        (pl.col(c) * 10**13).round(2) for c in ("open", "high", "low", "close")
    )
    options = BacktestOptions(commission=Decimal("0.00037"), capital=Decimal(10) ** 12)
    job = SweepJob("sma_cross_rule", (Market(inst, bars),), options=options)
    combos = combinations(parse_grid(["fast=3,5", "slow=12"]))
    rows = list(sweep(job, combos, pool=vector_pool(job, combos)))
    assert rows == list(sweep(job, combos, workers=1))
    assert rows[0]["trades"] > 0


def test_a_task_on_a_span_with_warm_up_and_its_curve_equals_the_engine_s() -> None:
    """The pool keeps the TaskPool contract walk-forward uses: a trading span, its warm-up and
    the equity curve."""
    job = SweepJob("sma_cross_rule", _markets(2)[:1], options=BacktestOptions())
    span = (datetime(2024, 1, 8, 12, tzinfo=UTC), datetime(2024, 1, 9, 12, tzinfo=UTC))
    task = Task({"fast": 3, "slow": 12}, span=span, warmup=timedelta(hours=2), curve=True)
    [vector] = list(vector_pool(job, [task.combo]).map([task]))
    engine = job.do(task)
    assert vector.row == engine.row and vector.wins == engine.wins
    assert vector.ts is not None and engine.ts is not None
    assert vector.equity is not None and engine.equity is not None
    assert np.array_equal(vector.ts, engine.ts) and np.array_equal(vector.equity, engine.equity)
    assert vector.row["trades"] > 0
