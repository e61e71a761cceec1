import pytest

from engine.model import TimeFrame
from engine.strategy import StrategyParamError, build
from engine.strategy.examples.sma_cross import SmaCross

from .helpers import Harness

# fast=2, slow=3; fast - slow by index: 2: -0.5, 3: -0.5, 4: 0 (equal: neither below nor above),
# 5: +1 (no cross: the previous bar was not below), 6: +0.5, 7: -1 (cross down), 8: -1.5,
# 9: -0.17, 10: +0.83 (cross up), 11: +1.17
CLOSES = [10, 9, 8, 7, 9, 11, 10, 6, 5, 6, 9, 10]


def test_demo_signals_on_a_hand_made_series() -> None:
    strategy = build("sma_cross", {"fast": 2, "slow": 3, "lots": 2})
    sent = Harness(strategy).run([float(c) for c in CLOSES])
    # the first cross goes short `lots`; every later cross reverses: 2 * lots
    assert sent == [(7, "sell", 2), (10, "buy", 4)]


def test_no_orders_while_history_is_too_short_or_flat() -> None:
    strategy = SmaCross({"fast": 2, "slow": 3, "lots": 1})
    assert Harness(strategy).run([10.0, 9.0, 11.0]) == []  # needs slow + 1 closes
    assert Harness(SmaCross({"fast": 2, "slow": 3})).run([5.0] * 10) == []


def test_signal_needs_below_then_above() -> None:
    s = SmaCross({"fast": 2, "slow": 3})
    assert s.signal([10, 9, 8, 7, 10]) == 1
    assert s.signal([10, 9, 8, 7, 9]) == 0  # fast == slow: not a cross yet
    assert s.signal([10, 9, 8, 7, 9, 11]) == 0  # equal, then above: the previous was not below
    assert s.signal([7, 8, 9, 10, 7]) == -1
    assert s.signal([7, 8, 9, 10, 11]) == 0


def test_without_fills_the_pending_order_prevents_a_second_one() -> None:
    strategy = build("sma_cross", {"fast": 2, "slow": 3, "lots": 1})
    sent = Harness(strategy, fill=False).run([float(c) for c in CLOSES])
    assert sent == [(7, "sell", 1), (10, "buy", 2)]


def test_params_are_validated_and_timeframe_configurable() -> None:
    with pytest.raises(StrategyParamError, match="fast"):
        SmaCross({"fast": 20, "slow": 5})
    with pytest.raises(StrategyParamError, match="unknown"):
        SmaCross({"fats": 2})
    with pytest.raises(StrategyParamError):
        SmaCross({"lots": 0})
    s = build("sma_cross", {}, "5M")
    assert s.timeframe is TimeFrame.M5 and s.timeframes == (TimeFrame.M5,)
    assert s.params == {"fast": 5, "slow": 20, "lots": 1}
