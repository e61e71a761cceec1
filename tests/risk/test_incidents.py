"""Incident handling backed by docs/incidents.md: clock skew and data gaps."""

from __future__ import annotations

from datetime import timedelta

from engine.broker.sim import SimBroker
from engine.config import RiskSettings
from engine.risk.triggers import Triggers
from engine.runtime.engine import Engine
from engine.runtime.worklist import StrategySpec
from tests.runtime.simkit import START


def test_clock_skew_market_time_never_moves_back_and_triggers_use_a_monotonic_clock() -> None:
    engine = Engine(SimBroker(start=START, realtime=False), [StrategySpec("sma_cross", "SBER")])
    engine.market.advance(START)
    engine.market.advance(START - timedelta(minutes=5))  # a late or skewed timestamp
    assert engine.market.now == START
    now = [100.0]
    triggers = Triggers(RiskSettings(stale_data_seconds=10), clock=lambda: now[0])
    now[0] = 105.0  # the wall clock may jump; only the monotonic clock given here counts
    assert triggers.check_stale(market_open=True) is None
    now[0] = 111.0
    trip = triggers.check_stale(market_open=True)
    assert trip is not None and "no market data for 11.0 s" in trip.message


def test_a_data_gap_outside_the_session_is_not_stale_data() -> None:
    now = [0.0]
    triggers = Triggers(RiskSettings(stale_data_seconds=10), clock=lambda: now[0])
    now[0] = 3600.0  # overnight: no prices, the session is closed
    assert triggers.check_stale(market_open=False) is None
    assert triggers.check_stale(market_open=None) is None  # the broker does not say: no guess
    triggers.on_connection(True)  # a reconnect restarts the silence clock
    assert triggers.check_stale(market_open=True) is None
