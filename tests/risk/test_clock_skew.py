"""Clock skew: the local clock against the broker's server clock (docs/incidents.md).

The simulated market is given a skewed "server" clock (``SimBroker.server_clock``): nothing sleeps
to make a clock drift, the skew is injected.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.broker.base import ServerTime, server_time
from engine.broker.sim import SimBroker
from engine.broker.tinvest.broker import TInvestBroker
from engine.broker.tinvest.numbers import timestamp
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.config import ConfigError, RiskSettings, load_settings
from engine.model import Mode
from engine.model.snapshot import TradingState
from engine.risk.clock import ClockWatch, trading_day
from engine.risk.triggers import Triggers
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.logbook import setup_logging
from engine.runtime.worklist import StrategySpec
from tests.risk.test_triggers import QUIET, until
from tests.runtime.simkit import START, Driver

OPTIONS = EngineOptions(heartbeat_interval=0.05, persist_min_gap=0.0, history_days=1)


def incidents(logs: Path) -> list[dict[str, Any]]:
    path = logs / "incidents.log"
    return [json.loads(line) for line in path.open()] if path.exists() else []


async def test_clock_skew_on_the_simulated_market_warns_then_trips(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    setup_logging(logs, "info")
    skew = [timedelta(seconds=0.5)]  # the server's clock minus ours
    risk = RiskSettings(**{**QUIET, "clock_skew_warning": 2.0, "clock_skew_limit": 30.0})
    d = Driver([StrategySpec("sma_cross", "SBER")], OPTIONS, risk=risk)
    d.broker.server_clock = lambda: datetime.now(UTC) + skew[0]
    async with d:
        watch = d.engine.risk.clock
        d.broker.step()
        await until(d, lambda: watch.skew is not None and abs(watch.skew + 0.5) < 0.2)
        assert not [i for i in incidents(logs) if "clock skew" in i["what"]]
        skew[0] = timedelta(seconds=5)  # our clock is 5 s behind: a warning, trading goes on
        d.broker.step()
        await until(d, lambda: any(i["what"] == "clock skew" for i in incidents(logs)))
        (warning,) = [i for i in incidents(logs) if i["what"] == "clock skew"]
        assert warning["action"] == "warning" and -5.2 < warning["skew_seconds"] < -4.8
        assert "5.0 s behind the broker's" in warning["message"]
        assert warning["server_ts"].endswith("Z") and warning["limit"] == 30.0
        assert d.engine.trading_state is TradingState.ACTIVE
        snap = d.engine.snapshot().to_json()
        assert -5.2 < snap["risk"]["clock"]["skew_seconds"] < -4.8
        skew[0] = timedelta(seconds=45)  # beyond the limit: the clock_skew trigger
        d.broker.step()
        await until(d, lambda: d.engine.trading_state is TradingState.HALTED)
        assert d.engine.halt_reason.startswith(
            "clock_skew: the local clock is 45.0 s behind the broker's (limit 30 s)"
        )
    trips = [i for i in incidents(logs) if i["what"] == "risk trigger: clock_skew"]
    assert len(trips) == 1 and trips[0]["action"] == "halt"
    assert len([i for i in incidents(logs) if i["what"] == "clock skew"]) == 1  # one warning


async def test_a_simulated_market_without_a_server_clock_cannot_tell() -> None:
    async with Driver([StrategySpec("sma_cross", "SBER")], OPTIONS) as d:
        d.broker.step()
        await d.settle()
        d.engine.risk.on_heartbeat()
        assert server_time(d.broker) is None and d.engine.risk.clock.skew is None
        assert d.engine.snapshot().to_json()["risk"]["clock"] is None


def test_the_warning_is_written_once_until_the_clock_is_good_again() -> None:
    watch = ClockWatch(warning=2.0, limit=30.0)
    server = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)

    def sample(skew: float) -> ServerTime:
        return ServerTime(server, server + timedelta(seconds=skew))

    assert watch.observe(sample(1.0)) is None
    first = watch.observe(sample(3.0))
    assert first is not None and first["skew_seconds"] == 3.0
    assert watch.observe(sample(4.0)) is None  # still off: no second incident
    assert watch.observe(sample(1.5)) is None  # back under the warning but above half of it
    assert watch.observe(sample(3.0)) is None
    assert watch.observe(sample(0.5)) is None  # good again: re-armed
    assert watch.observe(sample(-3.0)) is not None  # ahead or behind: both count


def test_the_server_clock_moves_on_by_the_monotonic_clock_not_the_wall_clock() -> None:
    wall = [datetime(2024, 3, 4, 20, 59, tzinfo=UTC)]
    mono = [100.0]
    watch = ClockWatch(2.0, 30.0, now=lambda: wall[0], monotonic=lambda: mono[0])
    server = datetime(2024, 3, 4, 20, 59, 50, tzinfo=UTC)  # the server is 50 s ahead of us
    watch.observe(ServerTime(server, wall[0]))
    assert watch.skew == -50.0
    wall[0] += timedelta(hours=3)  # the local wall clock jumps
    mono[0] += 5.0
    now = watch.server_now()
    assert now == server + timedelta(seconds=5)  # 20:59:55 UTC: 23:59:55 MSK
    assert now is not None and trading_day(now) == trading_day(server)
    mono[0] += 10.0  # 21:00:05 UTC by the server: 00:00:05 MSK, the next trading day
    later = watch.server_now()
    assert later is not None and trading_day(later) != trading_day(server)


async def test_the_market_clock_of_a_broker_without_its_own_follows_the_server_clock() -> None:
    """A broker whose market keeps no clock (T-Invest): the engine's market time, and with it
    the trading day of the daily-loss baseline, come from the server clock, not the local one."""
    ahead = timedelta(hours=2)
    server = datetime.now(UTC) + ahead  # the server's clock, two hours ahead of ours
    broker = SimBroker(seed=7, start=START, realtime=False)
    broker.server_clock = lambda: server
    engine = Engine(broker, [StrategySpec("sma_cross", "SBER")], OPTIONS)
    engine._market_clock = lambda: None  # type: ignore[method-assign]  # like T-Invest
    mono = [500.0]  # the engine's monotonic clock, moved by the test only
    engine.risk.clock._monotonic = lambda: mono[0]
    engine.risk.clock._now = lambda: datetime(2000, 1, 1, tzinfo=UTC)  # no transport lag counted
    await broker.connect()
    engine.risk.on_heartbeat()
    assert engine._broker_clock() == server  # the server's time, not ours
    mono[0] += 90.0
    clock = engine._broker_clock()
    assert clock == server + timedelta(seconds=90)  # moved on by the monotonic clock
    assert engine.risk.server_now() is not None
    engine.market.advance(clock)  # what the heartbeat does with it
    assert engine.market.now is not None and trading_day(engine.market.now) == trading_day(clock)


def test_stale_data_by_the_server_clock_catches_a_delayed_feed() -> None:
    """Prices keep arriving (the monotonic silence is short) but their own time lags the
    server's clock: that is stale data too. The local wall clock plays no part."""
    mono = [0.0]
    triggers = Triggers(RiskSettings(**{**QUIET, "stale_data_seconds": 10}), clock=lambda: mono[0])
    server = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
    triggers.on_market_data(server - timedelta(seconds=5))
    assert triggers.check_stale(True, server_now=server) is None
    mono[0] = 3.0
    triggers.on_market_data(server - timedelta(seconds=2))  # a fresh message, an old price
    trip = triggers.check_stale(True, server_now=server + timedelta(seconds=12))
    assert trip is not None and trip.details["clock"] == "server"
    assert "no market data for 14.0 s" in trip.message and "by the broker clock" in trip.message


def test_a_replay_feed_is_judged_by_its_silence_not_by_its_old_times() -> None:
    """A rehearsal server replays old bars with live pings: the prices were never fresh by the
    server clock, so their age is no delay; the silence still counts."""
    mono = [0.0]
    triggers = Triggers(RiskSettings(**{**QUIET, "stale_data_seconds": 10}), clock=lambda: mono[0])
    server = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    replayed = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
    triggers.on_connection(True)
    assert triggers.check_stale(True, server_now=server) is None  # the reconnect floor
    for second in range(1, 60):
        mono[0] = float(second)
        triggers.on_market_data(replayed + timedelta(seconds=second))
        assert triggers.check_stale(True, server_now=server + timedelta(seconds=second)) is None
    mono[0] = 71.0  # and then the replay stops
    trip = triggers.check_stale(True, server_now=server + timedelta(seconds=71))
    assert trip is not None and trip.details["clock"] == "monotonic"


def test_stale_data_restarts_when_the_session_opens_and_on_a_reconnect() -> None:
    mono = [0.0]
    triggers = Triggers(RiskSettings(**{**QUIET, "stale_data_seconds": 10}), clock=lambda: mono[0])
    server = datetime(2024, 3, 4, 6, 59, tzinfo=UTC)
    triggers.on_market_data(server - timedelta(hours=15))  # yesterday's last price
    assert triggers.check_stale(False, server_now=server) is None  # closed at night
    mono[0] = 3600.0
    opened = server + timedelta(minutes=1)
    assert triggers.check_stale(True, server_now=opened) is None  # the night is not stale
    mono[0] = 3605.0
    assert triggers.check_stale(True, server_now=opened + timedelta(seconds=5)) is None
    mono[0] = 3611.0
    trip = triggers.check_stale(True, server_now=opened + timedelta(seconds=11))
    assert trip is not None and "11.0 s" in trip.message


def test_a_tinvest_ping_carries_the_server_time() -> None:
    broker = TInvestBroker("t" * 20, mode=Mode.SANDBOX, target="127.0.0.1:1")
    assert server_time(broker) is None  # no ping yet
    server = datetime.now(UTC) + timedelta(seconds=40)
    broker.market._handle(pb.MarketDataResponse(ping=pb.Ping(time=timestamp(server))))
    sample = server_time(broker)
    assert sample is not None and sample.server == server
    assert -40.5 < sample.skew.total_seconds() < -39.5
    watch = ClockWatch(2.0, 30.0)
    assert watch.observe(sample) is not None
    triggers = Triggers(RiskSettings(**{**QUIET, "clock_skew_limit": 30}))
    trip = triggers.on_clock_skew(watch.skew, **watch.details())
    assert trip is not None and "behind the broker's" in trip.message


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("clock_skew_warning = 5\nclock_skew_limit = 3\n", "risk.clock_skew_limit", "larger"),
        ("clock_skew_warning = -1\n", "risk.clock_skew_warning", "greater than or equal"),
        ('clock_skew_limit = "soon"\n', "risk.clock_skew_limit", "number"),
    ],
)
def test_clock_skew_keys_are_validated_with_file_and_key(
    tmp_path: Path, text: str, key: str, words: str
) -> None:
    path = tmp_path / "avin.toml"
    path.write_text("[risk]\n" + text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    (problem,) = info.value.problems
    assert problem.file == str(path) and problem.key == key and words in problem.message
    ok = tmp_path / "ok.toml"
    ok.write_text("[risk]\nclock_skew_warning = 0\nclock_skew_limit = 10\n")  # 0: no warning
    assert load_settings(ok).risk.clock_skew_limit == 10
    assert RiskSettings().clock_skew_warning == 2.0 and RiskSettings().clock_skew_limit == 30.0
