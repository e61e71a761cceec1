"""Each broker declares its optional capabilities as the protocols of engine.broker.base; the
engine checks them with isinstance, never by guessing from attribute names."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from engine.broker.base import (
    AccountCarryOver,
    InstantCancel,
    InstantLookup,
    JournalAware,
    LocalStopHolder,
    MarketClock,
    MarketDepthFeed,
    ReplayResume,
    ServerClock,
    SessionInfo,
    market_clock,
    session_open,
)
from engine.broker.sim import SimBroker
from engine.broker.tinvest.broker import TInvestBroker
from engine.model import Mode

ALL = (
    MarketClock,
    SessionInfo,
    JournalAware,
    LocalStopHolder,
    InstantLookup,
    InstantCancel,
    ReplayResume,
    AccountCarryOver,
    ServerClock,
    MarketDepthFeed,
)


def _declared(broker: object) -> set[str]:
    return {proto.__name__ for proto in ALL if isinstance(broker, proto)}


def test_the_simulated_market_keeps_its_own_clock_and_session() -> None:
    broker = SimBroker(realtime=False)
    assert _declared(broker) == {
        "MarketClock",
        "SessionInfo",
        "InstantLookup",
        "InstantCancel",
        "ReplayResume",
        "AccountCarryOver",
        "ServerClock",
        "MarketDepthFeed",
    }
    assert market_clock(broker) == broker.market.now
    broker.advance(3)
    assert market_clock(broker) == broker.market.now
    assert session_open(broker) is broker.market.is_open


def test_t_invest_has_no_market_clock_of_its_own() -> None:
    broker = TInvestBroker("t.token", mode=Mode.SANDBOX, target="127.0.0.1:1")
    assert _declared(broker) == {
        "JournalAware",
        "LocalStopHolder",
        "ServerClock",
        "MarketDepthFeed",
    }
    assert market_clock(broker) is None and session_open(broker) is None


def test_an_attribute_that_looks_like_a_clock_is_not_one() -> None:
    now = datetime(2026, 1, 5, 7, 0)
    lookalike = SimpleNamespace(market=SimpleNamespace(now=now, is_open=True), now=lambda: now)
    assert market_clock(lookalike) is None and session_open(lookalike) is None
    declared = SimpleNamespace(market_time=lambda: now, session_open=lambda: False)
    assert market_clock(declared) == now and session_open(declared) is False
