"""Each automatic trigger that can be provoked through the wire fires with the engine trading
through the T-Invest adapter against the fake T-Invest server on loopback, writes an incident
naming the trigger and its numbers, and latches across a restart: a new Engine on the same state
store, against the same server, comes back HALTED (or REDUCING, per ``trigger_action``) for the
same reason, writes no second incident, and sends no order while latched (the server's PostOrder
keys do not change).

How each one is provoked (docs/incidents.md):

- ``rejections``: the server refuses the next PostOrder calls (``Faults.reject_next``: 30078,
  30034, 30099) while a strategy places one order per closed bar;
- ``disconnects``: the market-data stream is dropped (UNAVAILABLE "GOAWAY received") twice
  (``drop_open_streams`` and ``Faults.drop_streams``), once with ``trigger_action = "reduce"``;
- ``stale_data``: prices flow for longer than the limit without a trip, then the market-data
  stream reconnects to a stalled one (``Faults.stall_streams``: no data, no pings) while the
  session is open and the market goes on moving at the server;
- ``daily_loss`` / ``drawdown``: the fake market cannot be steered (its prices come from the
  deterministic generator), but it is deterministic: a strategy buys 3 lots at the market and the
  commission plus the next ticks put the account below a 1-rouble limit;
- ``clock_skew``: the server's pings carry a clock 45 s ahead (the fake server has no fault for
  it: its ping is patched; the skewed time still travels over gRPC to the adapter).

The error storm is the engine's own (strategy errors), the same whatever the broker: it is covered
on the simulated market (tests/risk/test_triggers.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

import tests.runtime.simkit  # noqa: F401  (registers the test_script strategy)
from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from engine.broker.fake_tinvest import streams as fake_streams
from engine.broker.tinvest.broker import TInvestBroker
from engine.broker.tinvest.numbers import timestamp
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.streams import StreamPolicy
from engine.config import RiskSettings
from engine.model import Mode, Order, OrderStatus, OrderType, Side
from engine.model.snapshot import StrategyState, TradingState
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.logbook import setup_logging
from engine.runtime.worklist import StrategySpec
from engine.state.embedded import DiskcacheStore
from tests.risk.test_triggers import QUIET
from tests.tinvest.helpers import START, make_broker

ACCOUNT = "fake-account-1"
SBER = "MOEX_SHARE_SBER"
OPTIONS = EngineOptions(
    mode=Mode.SANDBOX,
    history_days=1,
    heartbeat_interval=0.05,
    persist_min_gap=0.0,
    snapshot_interval=60,
)
# The fake market replays its own (simulated) dates while its pings carry the real clock; the real
# service stamps prices and pings on one clock. For stale data the market replays a date ahead of
# the real clock, so its prices never look old by the server clock: only the silence counts.
FUTURE = datetime(2050, 3, 7, 7, 0, tzinfo=UTC)  # a Monday, the session open
STALE_POLICY = StreamPolicy(ping_interval=1.0, stall_factor=4, backoff_base=0.05, backoff_max=0.3)
IDLE = StrategySpec("test_script", "SBER")  # subscribes SBER, never trades
LIMIT = Decimal("1.00")  # roubles: the daily-loss and drawdown limits

Provoke = Callable[[FakeTInvestServer, Engine], Awaitable[None]]
Check = Callable[[dict[str, Any]], None]


async def until(
    done: Callable[[], bool],
    what: str,
    *,
    timeout: float = 10.0,
    tick: Callable[[], object] | None = None,
    pause: float = 0.05,
) -> None:
    """Poll ``done`` with a deadline; ``tick`` (the market moving on) between the polls."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        if tick is not None:
            tick()
        await asyncio.sleep(pause)


def tripped(engine: Engine) -> Callable[[], bool]:
    return lambda: engine.trading_state is not TradingState.ACTIVE


def adapter(engine: Engine) -> TInvestBroker:
    return cast(TInvestBroker, engine.broker)


def incidents(logs: Path) -> list[dict[str, Any]]:
    path = logs / "incidents.log"
    return [json.loads(line) for line in path.open()] if path.exists() else []


# --- provoking each trigger through the wire ------------------------------------------------------


async def reject_three(server: FakeTInvestServer, engine: Engine) -> None:
    server.faults.reject_next = ["30078", "30034", "30099"]
    await until(tripped(engine), "three rejections", tick=lambda: server.advance(1))
    assert server.faults.reject_next == []
    assert len(set(server.post_order_keys)) == len(server.post_order_keys) == 3
    assert not server.exchange.orders  # none was placed


async def drop_twice(server: FakeTInvestServer, engine: Engine) -> None:
    market = adapter(engine).market
    server.faults.drop_after = 1
    server.faults.drop_streams = 1  # the stream after the next one drops too
    server.drop_open_streams()  # the stream open now drops at its next data message

    def step_when_connected() -> None:  # one drop per step: no bar closes meanwhile
        if market.connected.is_set():
            server.step()

    await until(tripped(engine), "two disconnects", tick=step_when_connected)
    assert market.stats.drops == 2 and all("GOAWAY" in r for r in market.stats.reasons)
    assert engine.counters["disconnects"] == 2


async def stall_the_feed(server: FakeTInvestServer, engine: Engine) -> None:
    market = adapter(engine).market
    triggers = engine.risk.triggers
    limit = engine.risk.settings.stale_data_seconds
    loop = asyncio.get_running_loop()
    flowing_until = loop.time() + 2 * limit
    while loop.time() < flowing_until:  # prices flow for longer than the limit: no trip
        server.step()
        await asyncio.sleep(0.05)
    assert engine.trading_state is TradingState.ACTIVE and not triggers.fired
    assert triggers.last_data_ts is not None and triggers.last_data_ts >= FUTURE
    assert engine.risk.session_open() is True  # the broker's trading status: the session is open
    connects = market.stats.connects
    server.faults.stall_streams = 1
    server.drop_open_streams()  # it reconnects to a stream that stays silent
    await until(tripped(engine), "stale data", tick=server.step)
    assert market.stats.connects == connects + 1 and market.connected.is_set()
    assert market.stats.stalls == 0  # tripped on the silence before the adapter gave up on it


async def buy_and_mark(server: FakeTInvestServer, engine: Engine) -> None:
    await until(tripped(engine), "the loss", tick=server.step)
    assert len(server.post_order_keys) == 1
    (record,) = server.exchange.orders.values()
    assert sum(t.lots for t in record.trades) == 3


async def skewed_pings(server: FakeTInvestServer, engine: Engine) -> None:
    await until(tripped(engine), "the clock skew", tick=server.step)


def skew_the_server_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    def ping(self: Any) -> pb.MarketDataResponse:
        ahead = datetime.now(UTC) + timedelta(seconds=45)
        return pb.MarketDataResponse(ping=pb.Ping(time=timestamp(ahead), stream_id=self.stream_id))

    monkeypatch.setattr(fake_streams._MarketSession, "ping", ping)


# --- what each incident must say ------------------------------------------------------------------


def rejections_numbers(trip: dict[str, Any]) -> None:
    assert (trip["count"], trip["limit"], trip["window"]) == (3, 3, 30.0)
    assert "30099" in trip["last"] and "3 orders rejected within 30 s" in trip["message"]


def disconnects_numbers(trip: dict[str, Any]) -> None:
    assert (trip["count"], trip["limit"], trip["window"]) == (2, 2, 30.0)
    assert "2 broker disconnects within 30 s" in trip["message"] and "GOAWAY" in trip["message"]


def stale_numbers(trip: dict[str, Any]) -> None:
    # before the stall detection; silent is over the limit, kept to the millisecond (1.0004 -> 1.0)
    assert trip["limit"] == 1.0 and 1.0 <= trip["silent"] < 4.0
    assert trip["clock"] == "monotonic" and "during the session" in trip["message"]


def daily_loss_numbers(trip: dict[str, Any]) -> None:
    loss, limit = Decimal(trip["loss"]), Decimal(trip["limit"])
    assert trip["account"] == ACCOUNT and limit == LIMIT and loss > limit
    assert Decimal(trip["daily_baseline"]) - Decimal(trip["equity"]) == loss
    assert f"{ACCOUNT}: loss today" in trip["message"]


def drawdown_numbers(trip: dict[str, Any]) -> None:
    drawdown, limit = Decimal(trip["drawdown"]), Decimal(trip["limit"])
    assert trip["account"] == ACCOUNT and limit == LIMIT and drawdown > limit
    assert Decimal(trip["peak"]) - Decimal(trip["equity"]) == drawdown


def clock_skew_numbers(trip: dict[str, Any]) -> None:
    assert -45.5 < trip["skew_seconds"] < -44.0 and trip["limit"] == 30.0
    assert "s behind the broker's (limit 30 s)" in trip["message"]


@dataclass(frozen=True)
class Case:
    trigger: str
    risk: dict[str, Any]
    worklist: tuple[StrategySpec, ...]
    provoke: Provoke
    numbers: Check
    state: TradingState = TradingState.HALTED
    start: datetime = START
    policy: StreamPolicy | None = None
    patch: Callable[[pytest.MonkeyPatch], None] | None = None


def buying(lots: dict[int, int]) -> tuple[StrategySpec, ...]:
    """test_script buying ``lots[n]`` at the market when its ``n``-th live bar closes."""
    return (
        StrategySpec("test_script", "SBER", params={"plan": {str(n): k for n, k in lots.items()}}),
    )


CASES = [
    Case(
        "rejections",
        {"reject_limit": 3, "reject_window": 30.0},
        buying({1: 1, 2: 1, 3: 1}),
        reject_three,
        rejections_numbers,
    ),
    Case(
        "disconnects",
        {"disconnect_limit": 2, "disconnect_window": 30.0},
        (IDLE,),
        drop_twice,
        disconnects_numbers,
    ),
    Case(
        "disconnects",
        {"disconnect_limit": 2, "disconnect_window": 30.0, "trigger_action": "reduce"},
        buying({1: 1}),  # after the restart it tries to buy: REDUCING refuses it
        drop_twice,
        disconnects_numbers,
        state=TradingState.REDUCING,
    ),
    Case(
        "stale_data",
        {"stale_data_seconds": 1.0},
        (IDLE,),
        stall_the_feed,
        stale_numbers,
        start=FUTURE,
        policy=STALE_POLICY,
    ),
    Case(
        "daily_loss", {"daily_loss_limit": LIMIT}, buying({1: 3}), buy_and_mark, daily_loss_numbers
    ),
    Case("drawdown", {"max_drawdown": LIMIT}, buying({1: 3}), buy_and_mark, drawdown_numbers),
    Case(
        "clock_skew",
        {"clock_skew_limit": 30.0},
        (IDLE,),
        skewed_pings,
        clock_skew_numbers,
        patch=skew_the_server_clock,
    ),
]
IDS = [f"{c.trigger}-{c.state.value.lower()}" for c in CASES]


@contextlib.asynccontextmanager
async def robot(server: FakeTInvestServer, home: Path, case: Case) -> AsyncIterator[Engine]:
    """One run of the robot: a new adapter and Engine on the state store in ``home``."""
    store = DiskcacheStore(home / "state")
    extra: dict[str, Any] = {"stream_policy": case.policy} if case.policy is not None else {}
    engine = Engine(
        make_broker(server.target, **extra),
        list(case.worklist),
        OPTIONS,
        store=store,
        risk=RiskSettings(**{**QUIET, **case.risk}),
    )
    run = asyncio.create_task(engine.run())
    try:
        await until(lambda: engine.started or run.done(), "the engine to start", timeout=20)
        if run.done():
            run.result()  # raise what stopped it
        yield engine
    finally:
        engine.request_stop()
        await asyncio.wait_for(run, 15)
        store.close()


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_trigger_fires_on_the_fake_tinvest_server_and_latches_across_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    logs = tmp_path / "logs"
    setup_logging(logs, "info")
    if case.patch is not None:
        case.patch(monkeypatch)
    what = f"risk trigger: {case.trigger}"
    action = "halt" if case.state is TradingState.HALTED else "reduce"
    server = FakeTInvestServer(exchange=FakeExchange(start=case.start))
    await server.start()
    try:
        async with robot(server, tmp_path, case) as engine:
            assert engine.trading_state is TradingState.ACTIVE
            await case.provoke(server, engine)
            assert engine.trading_state is case.state
            assert engine.halt_reason.startswith(f"{case.trigger}: ")
            snap = engine.snapshot()
            assert snap.trading_state is case.state and snap.risk["fired"] == [case.trigger]
            sent = list(server.post_order_keys)
            for _ in range(2):  # the market moves on: nothing more is sent in this run either
                server.advance(1)
                await asyncio.sleep(0.05)
            assert server.post_order_keys == sent
        (trip,) = [i for i in incidents(logs) if i["what"] == what]
        assert trip["ts"] and trip["action"] == action and trip["message"]
        case.numbers(trip)

        # the restart: same state store, same server, the same risk settings
        async with robot(server, tmp_path, case) as engine:
            assert engine.recovered is False  # a clean stop, not a crash
            assert engine.trading_state is case.state, engine.halt_reason
            assert engine.halt_reason.startswith(f"{case.trigger}: ")
            assert engine.risk.triggers.fired == {case.trigger}  # quiet: one incident
            running = StrategyState.RUNNING if action == "reduce" else StrategyState.HELD
            assert [s.state for s in engine.slots] == [running]
            earlier = set(engine.book.orders)  # the first run's orders, restored
            for _ in range(3):  # bars close; a paused strategy places nothing
                server.advance(1)
                await asyncio.sleep(0.05)
            refused = engine.submit(Order(SBER, Side.BUY, OrderType.MARKET, 1, ACCOUNT))
            assert refused.status is OrderStatus.REJECTED
            assert refused.reason.startswith(f"trading_state: trading is {case.state.value}")
            if action == "reduce":  # the strategy tried to buy at its first bar: refused here

                def tries() -> list[Order]:
                    new = [o for k, o in engine.book.orders.items() if k not in earlier]
                    return [o for o in new if o.strategy]

                await until(lambda: bool(tries()), "the strategy's order")
                (tried,) = tries()
                assert tried.status is OrderStatus.REJECTED
                assert tried.reason.startswith("trading_state: trading is REDUCING")
            engine.risk.on_heartbeat()
            assert server.post_order_keys == sent  # no order reached the server while latched
            assert engine.trading_state is case.state
        store = DiskcacheStore(tmp_path / "state")
        try:
            status = store.status()
            assert status is not None and status["trading_state"] == case.state.value
        finally:
            store.close()
        assert len([i for i in incidents(logs) if i["what"] == what]) == 1
    finally:
        await asyncio.wait_for(server.stop(), 10)
