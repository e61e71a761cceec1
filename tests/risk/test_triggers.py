"""Each automatic trigger fires on the simulated market, writes an incident and latches across a
restart (the next run starts HALTED with the trigger's reason): with the plain status store and
with the journalled store, where the restart also keeps the trigger quiet (no second incident)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.config import RiskSettings
from engine.model.snapshot import TradingState
from engine.runtime.engine import EngineOptions
from engine.runtime.logbook import setup_logging
from engine.runtime.worklist import StrategySpec
from engine.state.embedded import DiskcacheStore
from engine.state.status_store import StatusStore
from tests.runtime.simkit import Driver

OPTIONS = dict(heartbeat_interval=0.05, persist_min_gap=0.0, history_days=1)
QUIET: dict[str, Any] = dict(  # every trigger off; each test turns one on
    daily_loss_limit=None,
    max_drawdown=None,
    reject_limit=0,
    disconnect_limit=0,
    stale_data_seconds=0,
    clock_skew_limit=0,
)
BUY_EARLY = StrategySpec("test_script", "SBER", params={"plan": {"1": 3}})


async def until(d: Driver, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)
        await d.settle()


async def step_minutes(d: Driver) -> None:
    await d.minutes(3)


async def drop_twice(d: Driver) -> None:
    for _ in range(2):
        await d.broker.drop_connection(0)
        await d.settle()


async def wait_stale(d: Driver) -> None:
    await asyncio.sleep(0.4)  # no price while the session is open


async def boom(d: Driver) -> None:
    await d.minutes(2)


async def skew_clock(d: Driver) -> None:
    d.broker.server_clock = lambda: datetime.now(UTC) + timedelta(seconds=45)  # ours is behind
    d.broker.step()
    await d.settle()


CASES: list[tuple[str, dict[str, Any], list[StrategySpec], Callable[[Driver], Awaitable[None]]]] = [
    ("daily_loss", {"daily_loss_limit": Decimal("0.01")}, [BUY_EARLY], step_minutes),
    ("drawdown", {"max_drawdown": Decimal("0.01")}, [BUY_EARLY], step_minutes),
    (
        "rejections",
        {"reject_limit": 2},  # the broker's rejections: 400 lots of SBER need more cash
        [StrategySpec("test_script", "SBER", params={"plan": {"1": 400, "2": 400, "3": 400}})],
        step_minutes,
    ),
    ("disconnects", {"disconnect_limit": 2}, [StrategySpec("sma_cross", "SBER")], drop_twice),
    ("stale_data", {"stale_data_seconds": 0.2}, [StrategySpec("sma_cross", "SBER")], wait_stale),
    ("error storm", {}, [StrategySpec("test_boom", "SBER", params={"at": 1})], boom),
    ("clock_skew", {"clock_skew_limit": 30.0}, [StrategySpec("sma_cross", "SBER")], skew_clock),
]


@pytest.mark.parametrize(("name", "risk", "worklist", "act"), CASES, ids=[c[0] for c in CASES])
async def test_trigger_fires_writes_an_incident_and_latches(
    tmp_path: Path,
    name: str,
    risk: dict[str, Any],
    worklist: list[StrategySpec],
    act: Callable[[Driver], Awaitable[None]],
) -> None:
    await fire_and_restart(tmp_path, name, risk, worklist, act, "status")


@pytest.mark.parametrize(("name", "risk", "worklist", "act"), CASES, ids=[c[0] for c in CASES])
async def test_trigger_latches_with_the_journalled_store_without_a_second_incident(
    tmp_path: Path,
    name: str,
    risk: dict[str, Any],
    worklist: list[StrategySpec],
    act: Callable[[Driver], Awaitable[None]],
) -> None:
    await fire_and_restart(tmp_path, name, risk, worklist, act, "journal")


async def fire_and_restart(
    tmp_path: Path,
    name: str,
    risk: dict[str, Any],
    worklist: list[StrategySpec],
    act: Callable[[Driver], Awaitable[None]],
    kind: str,
) -> None:
    setup_logging(tmp_path / "logs", "info")
    store = StatusStore(tmp_path / "state") if kind == "status" else DiskcacheStore(tmp_path / "j")
    settings = RiskSettings(**{**QUIET, **risk})
    options = EngineOptions(**OPTIONS, error_storm=1 if name == "error storm" else 50)  # type: ignore[arg-type]
    async with Driver(worklist, options, store=store, risk=settings) as d:
        await act(d)
        await until(d, lambda: d.engine.trading_state is TradingState.HALTED)
        assert name in d.engine.halt_reason
        snap = d.engine.snapshot()
        assert snap.trading_state is TradingState.HALTED and name in snap.halt_reason
    incidents = [json.loads(line) for line in (tmp_path / "logs" / "incidents.log").open()]
    assert any(name in i["what"] or name in str(i.get("reason", "")) for i in incidents)
    if name != "error storm":
        (trip,) = [i for i in incidents if i["what"] == f"risk trigger: {name}"]
        assert trip["ts"] and trip["message"] and trip["action"] == "halt"
    # the restart comes back HALTED, for the same reason; with the journalled store it restores
    # the baselines and the fired triggers too, so the same limits do not trip a second time
    again = settings if kind == "journal" else RiskSettings(**QUIET)
    async with Driver(worklist, options, store=store, risk=again) as d:
        assert d.engine.trading_state is TradingState.HALTED
        assert name in d.engine.halt_reason
        d.engine.risk.on_heartbeat()
    assert store.status()["trading_state"] == "HALTED"  # type: ignore[index]
    store.close()
    incidents = [json.loads(line) for line in (tmp_path / "logs" / "incidents.log").open()]
    assert len([i for i in incidents if i["what"] == f"risk trigger: {name}"]) == (
        0 if name == "error storm" else 1
    )


async def test_trigger_action_reduce(tmp_path: Path) -> None:
    settings = RiskSettings(**{**QUIET, "disconnect_limit": 1, "trigger_action": "reduce"})
    async with Driver(
        [StrategySpec("sma_cross", "SBER")], EngineOptions(**OPTIONS), risk=settings
    ) as d:  # type: ignore[arg-type]
        await d.broker.drop_connection(0)
        await until(d, lambda: d.engine.trading_state is TradingState.REDUCING)
        assert d.engine.halt_reason.startswith("disconnects:")
        d.engine.resume_trading("test")
        assert d.engine.trading_state is TradingState.ACTIVE and not d.engine.risk.triggers.fired
