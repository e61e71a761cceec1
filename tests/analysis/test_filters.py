"""Filter syntax, errors with positions, evaluation over a view."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from analysis_helpers import T0, frame

from engine.analysis import (
    FilterEvalError,
    FilterSyntaxError,
    MultiTimeFrameView,
    Predicate,
    TrendStats,
    parse_filter,
)
from engine.model.timeframe import TimeFrame

H1 = TimeFrame.H1


def test_parse_round_trip() -> None:
    text = "1H.T1.trend == bull and 1H.T1.abs_p.cdf in [0.7, 0.9]"
    assert str(parse_filter(text)) == "(1H.T1.trend == bull and 1H.T1.abs_p.cdf in [0.7, 0.9])"
    assert str(parse_filter("10M.T3.size >= +3")) == "10M.T3.abs_p.size >= 3.0"
    flt = parse_filter("NOT (T1[1].kind == BEAR OR 5m.T2.len.class not in [m, XL])")
    assert str(flt) == "not (T1[1].trend == bear or 5M.T2.len.class not in [M, XL])"
    assert flt.timeframes() == {TimeFrame.M5} and flt.needs_stats()


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("1H.T1.trend > bull", "only == and !=", 12),
        ("1H.T1.foo == 3", "unknown attribute 'foo'", 6),
        ("1H.T1.abs_p ==", "expected a number", 14),
        ("2H.T1.len > 3", "unknown timeframe", 0),
        ("1H.T6.len > 3", "T1..T5", 0),
        ("1H.T1.len > 3 xx", "expected 'and', 'or' or the end", 14),
        ("1H.T1.len $ 3", "unexpected character", 10),
        ("(1H.T1.len > 3", "expected ')'", 14),
        ("1H.T1.trend == up", "expected one of bull, bear", 15),
        ("1H.T1.len in [1 2]", "expected ','", 16),
        ("", "empty filter", 0),
        ("and", "expected a field", 0),
    ],
)
def test_syntax_errors_point_at_the_problem(text: str, message: str, position: int) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    assert message in info.value.message
    assert info.value.position == position
    assert "^" in str(info.value)


def _view() -> MultiTimeFrameView:
    rows = [(10, 11, 9, 11), (11, 12, 10, 12), (12, 12, 11, 11.5), (11.5, 11.8, 10.5, 11),
            (11, 13, 10.8, 12.5)]  # fmt: skip
    df = frame(rows, step_min=60)
    vals = np.array([1.0, 5.0, 10.0, 20.0, 30.0])
    stats = {(H1, 1): TrendStats(dict.fromkeys(("abs_p", "len", "speed_p", "vol"), vals))}
    return MultiTimeFrameView.from_bars(df, ["1H"], stats=stats)


def test_evaluation_over_a_snapshot() -> None:
    snap = _view().as_of(T0 + timedelta(hours=5))
    # real-time T1 trend: min 10.5 -> candidate max 13: bull, abs_p 23.8 %, len 2
    assert parse_filter("1H.T1.trend == bull and 1H.T1.len == 2")(snap)
    assert parse_filter("1H.T1[1].trend == bear and 1H.T1[1].len >= 3")(snap)
    assert parse_filter("1H.T1.abs_p.cdf in [0.8, 0.8]")(snap)  # 4 of 5 history values <= 23.8
    assert parse_filter("1H.T1.size == +3 and 1H.T1.class == L")(snap)
    assert not parse_filter("1H.T1.class >= XL")(snap)
    assert not parse_filter("1H.T2.trend == bull")(snap)  # no T2 trend yet: false
    assert not parse_filter("1H.T1.trend != bull")(snap)
    assert parse_filter("T1.trend == bull")(snap, H1)
    with pytest.raises(FilterEvalError):
        parse_filter("T1.trend == bull")(snap)


def test_composition_with_operators() -> None:
    snap = _view().as_of(T0 + timedelta(hours=5))
    bull = parse_filter("1H.T1.trend == bull")
    yes = Predicate(lambda s, tf: True)
    assert (bull & yes)(snap) and not (~bull)(snap) and (~bull | yes)(snap)
    assert not (bull & ~yes)(snap)
