"""The same rule gives identical trades vectorised, event-driven as a RuleStrategy, and (for the
SMA cross) as the hand-written ``sma_cross`` strategy."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backtest import Backtester, BacktestOptions
from engine.backtest.vector import run_rule
from engine.strategy import build
from engine.strategy.rules import (
    Rule,
    RuleStrategy,
    close,
    crosses_above,
    crosses_below,
    high,
    open_,
    shift,
    sma,
    sma_cross_rule,
    time_between,
    zz_bear,
    zz_bull,
)
from tests.backtest.helpers import INST, bars


def _frame(steps: list[int], gaps: list[int]) -> pl.DataFrame:
    rows = []
    price = 10_000
    for move, gap in zip(steps, gaps, strict=False):
        o = price + gap
        c = max(100, o + move)
        rows.append((o / 100, max(o, c) / 100 + 0.03, min(o, c) / 100 - 0.02, c / 100))
        price = c
    return bars(rows)


def _sig(trades: list) -> list[tuple[Any, ...]]:
    return [
        (t.side, t.entry_ts, t.entry_price, t.exit_ts, t.exit_price, t.lots, t.result)
        for t in trades
    ]


def _event(strategy: Any, frame: pl.DataFrame, commission: Decimal) -> list:
    options = BacktestOptions(commission=commission)
    return Backtester(strategy, INST, options).run(frame).trades


class _Custom(RuleStrategy):
    name: ClassVar[str] = "test_custom_rule"
    rule_value: ClassVar[Rule]

    def make_rule(self) -> Rule:
        return self.rule_value


series = st.integers(min_value=20, max_value=90).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(-60, 60), min_size=n, max_size=n),
        st.lists(st.integers(-5, 5), min_size=n, max_size=n),
    )
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=series,
    fast=st.integers(1, 6),
    extra=st.integers(1, 8),
    commission=st.sampled_from([Decimal(0), Decimal("0.0005")]),
)
def test_sma_cross_vectorised_equals_event_driven(data, fast, extra, commission) -> None:
    frame = _frame(*data)
    slow = fast + extra
    run = run_rule(sma_cross_rule(fast, slow, 2), frame, INST, commission=commission)
    params = {"fast": fast, "slow": slow, "lots": 2}
    as_rule = _event(build("sma_cross_rule", params), frame, commission)
    options = BacktestOptions(commission=commission)
    code_run = Backtester(build("sma_cross", params), INST, options).run(frame)
    assert _sig(run.trades()) == _sig(as_rule) == _sig(code_run.trades)
    assert run.position.tolist() == code_run.position.tolist()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=series, length=st.integers(2, 6), hour=st.integers(7, 8))
def test_rules_with_exits_and_time_windows_agree(data, length, hour) -> None:
    frame = _frame(*data)
    m = sma(close, length)
    rule = Rule(
        entry_long=crosses_above(close, m) & time_between(f"{hour:02d}:00", "08:30"),
        exit_long=close < shift(open_),
        entry_short=crosses_below(close, m * 0.999),
        exit_short=high > shift(high),
        lots=1,
    )
    vector = run_rule(rule, frame, INST, commission=Decimal(0)).trades()
    _Custom.rule_value = rule
    event = _event(_Custom(), frame, Decimal(0))
    assert _sig(vector) == _sig(event)


def test_the_vectorised_path_can_disagree_when_fills_differ() -> None:
    """Guard against a vacuous comparison: slippage changes the vectorised prices."""
    frame = _frame([30, -40, 50, -60, 70, -80, 90, -100] * 6, [0] * 48)
    rule = sma_cross_rule(2, 4)
    plain = run_rule(rule, frame, INST).trades()
    slipped = run_rule(rule, frame, INST, slippage_ticks=1).trades()
    assert plain and _sig(plain) != _sig(slipped)
    assert _sig(plain) == _sig(
        _event(build("sma_cross", {"fast": 2, "slow": 4}), frame, Decimal("0.0005"))
    )


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=series, term=st.integers(1, 2))
def test_zigzag_trend_filters_agree(data, term) -> None:
    frame = _frame(*data)
    rule = Rule(
        entry_long=crosses_above(close, sma(close, 3)) & zz_bull(term),
        exit_long=zz_bear(1),
        entry_short=crosses_below(close, sma(close, 3)) & zz_bear(term),
        exit_short=zz_bull(1),
    )
    vector = run_rule(rule, frame, INST, commission=Decimal(0)).trades()
    _Custom.rule_value = rule
    assert _sig(vector) == _sig(_event(_Custom(), frame, Decimal(0)))


def test_zz_trend_matches_the_analysis_view() -> None:
    from engine.analysis.mtf import MultiTimeFrameView
    from engine.model import TimeFrame

    frame = _frame([30, -40, 50, -60, 70, -80, 90, -100, 20, 20, -90, 10] * 4, [0] * 48)
    kinds = Rule(entry_long=zz_bull(1), entry_short=zz_bear(1)).signals(frame)
    view = MultiTimeFrameView.from_bars(frame, [TimeFrame.M1])
    for i in range(frame.height):
        end = frame["ts"][i] + timedelta(minutes=1)
        trend = view.as_of(end)[TimeFrame.M1].trend(1, 0)
        expected = (False, False) if trend is None else (trend.kind == "bull", trend.kind == "bear")
        assert (kinds["entry_long"][i], kinds["entry_short"][i]) == expected
