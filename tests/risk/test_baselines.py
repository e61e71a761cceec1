"""The daily-loss and drawdown baselines survive restarts and crashes (issue #7).

Each run is an engine on a fresh simulated market with the journalled store (the production
store); equity is made with fills of orders no strategy placed, so every number is exact
(SBER: 10 shares a lot, no commission). A crash is SIGKILL-like: no final save, a marker of a
dead process left behind; what comes back is what the running engine had already written (state
snapshot + journal).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from avin_tui.cli import main
from engine.broker.base import FillEvent
from engine.broker.sim import SimBroker
from engine.config import RiskSettings
from engine.model import Fill, Side
from engine.model.snapshot import TradingState
from engine.paths import homes
from engine.risk.clock import day_begins, trading_day
from engine.risk.triggers import Triggers
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.worklist import StrategySpec
from engine.state.base import BaseStore
from engine.state.embedded import DiskcacheStore
from engine.state.status_store import RunMarker
from tests.runtime.simkit import Driver

FRIDAY = datetime(2024, 3, 1, 7, 0, tzinfo=UTC)
MONDAY = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)
CODE = "MOEX_SHARE_SBER"
SPEC = StrategySpec("test_script", "SBER")  # no plan: it never trades
OPTIONS = EngineOptions(
    heartbeat_interval=0.05, persist_min_gap=0.0, snapshot_interval=60, history_days=1
)
QUIET: dict[str, Any] = dict(
    daily_loss_limit=None,
    max_drawdown=None,
    reject_limit=0,
    disconnect_limit=0,
    stale_data_seconds=0,
    clock_skew_limit=0,
)


def settings(**kw: Any) -> RiskSettings:
    return RiskSettings(**{**QUIET, **kw})


def run(store: BaseStore, start: datetime, risk: RiskSettings) -> Driver:
    d = Driver([SPEC], OPTIONS, store=store, risk=risk)
    d.broker = SimBroker(seed=7, start=start, realtime=False)
    d.engine = Engine(d.broker, [SPEC], OPTIONS, store=store, risk=risk)
    return d


def open_store() -> DiskcacheStore:
    return DiskcacheStore(homes().ensure().state)


async def roundtrip(d: Driver, buy: str, sell: str) -> None:
    """Buy one lot at ``buy`` and sell it at ``sell``: realised (sell - buy) x 10."""
    for side, price in ((Side.BUY, buy), (Side.SELL, sell)):
        fill = Fill(
            order_id=f"external-{uuid.uuid4().hex[:8]}",
            instrument=CODE,
            side=side,
            lots=1,
            price=Decimal(price),
            commission=Decimal(0),
            ts=d.broker.market.now,
            account="sim-1",
        )
        d.broker._emit(FillEvent(fill))
        await d.settle()
    d.engine.risk.on_heartbeat()  # what the heartbeat loop does about once a second


def baseline(d: Driver) -> tuple[date | None, Decimal, Decimal]:
    b = d.engine.risk.triggers.baselines["sim-1"]
    return b.day, b.day_start, b.peak


def equity(d: Driver) -> Decimal:
    return d.engine.risk.equities().get("sim-1", Decimal(0))


async def saved(store: BaseStore, check: Callable[[dict[str, Any]], bool]) -> None:
    """Wait until the running engine's own saves put a state snapshot that passes ``check``."""
    for _ in range(500):
        snap = store.load_state()
        if snap is not None and check(snap.data):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the engine did not save the baselines")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


async def crash(d: Driver, store: BaseStore) -> None:
    """Die without the final save (SIGKILL-like) and leave a dead process's marker behind."""
    d.engine.saver.closed = True
    await d.stop()
    store._cache.set("marker", RunMarker(dead_pid(), socket.gethostname(), "then").to_json())


def saved_baseline(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data.get("risk", {}).get("baselines", {}).get("sim-1", {}))


def monday_day(data: dict[str, Any]) -> bool:
    return saved_baseline(data).get("trading_day") == "2024-03-04"


def realized(data: dict[str, Any]) -> Decimal | None:
    positions = data.get("positions", [])
    return Decimal(positions[0]["realized"]) if positions else None


async def test_a_restart_on_the_same_day_keeps_the_loss_already_taken() -> None:
    """Friday +500; Monday -60, crash, -50: 110 today > 100 trips, though 60 and 50 do not."""
    store = open_store()
    limit = settings(daily_loss_limit=Decimal(100))
    async with run(store, FRIDAY, limit) as d:
        await roundtrip(d, "300", "350")
        assert equity(d) == 500
    async with run(store, MONDAY, limit) as d:
        assert baseline(d)[:2] == (date(2024, 3, 4), Decimal(500))  # Friday is not Monday's loss
        await roundtrip(d, "300", "294")
        assert equity(d) == 440 and d.engine.trading_state is TradingState.ACTIVE
        await saved(store, monday_day)
        await crash(d, store)
    async with run(store, MONDAY, limit) as d:
        assert d.engine.recovered and d.engine.keeper.report is not None
        assert baseline(d)[:2] == (date(2024, 3, 4), Decimal(500))
        assert equity(d) == 440 and d.engine.trading_state is TradingState.ACTIVE
        await roundtrip(d, "300", "295")
        assert d.engine.trading_state is TradingState.HALTED
        assert d.engine.halt_reason.startswith("daily_loss: sim-1: loss today 110.00 RUB")
    store.close()


async def test_a_new_trading_day_starts_a_new_daily_baseline() -> None:
    """Friday -80, Monday -50: 130 over two days, but Monday's loss is 50 < 100."""
    store = open_store()
    limit = settings(daily_loss_limit=Decimal(100))
    async with run(store, FRIDAY, limit) as d:
        await roundtrip(d, "300", "292")
        assert baseline(d) == (date(2024, 3, 1), Decimal(0), Decimal(0))
        await saved(store, lambda data: realized(data) == -80)
        await crash(d, store)
    async with run(store, MONDAY, limit) as d:
        assert equity(d) == -80
        assert baseline(d)[:2] == (date(2024, 3, 4), Decimal(-80))
        await roundtrip(d, "300", "295")
        assert equity(d) == -130 and d.engine.trading_state is TradingState.ACTIVE
    store.close()


async def test_the_drawdown_peak_survives_a_crash_and_the_night() -> None:
    """Friday +200 then -60 (peak 200), crash; Monday -50: 110 below the peak > 100."""
    store = open_store()
    limit = settings(max_drawdown=Decimal(100))
    async with run(store, FRIDAY, limit) as d:
        await roundtrip(d, "300", "320")
        await roundtrip(d, "300", "294")
        assert equity(d) == 140 and baseline(d)[2] == 200
        assert d.engine.trading_state is TradingState.ACTIVE
        await saved(store, lambda data: saved_baseline(data).get("equity_peak") == "200")
        await crash(d, store)
    async with run(store, MONDAY, limit) as d:
        assert baseline(d) == (date(2024, 3, 4), Decimal(140), Decimal(200))
        await roundtrip(d, "300", "295")
        assert d.engine.trading_state is TradingState.HALTED
        assert "drawdown 110.00 RUB from the peak 200.00 RUB" in d.engine.halt_reason
    store.close()


async def test_the_last_fills_before_a_crash_come_back_from_the_journal() -> None:
    """A fill after the newest state snapshot is replayed from the journal: the restored equity
    and the restored baseline together still see the whole day's loss."""
    store = open_store()
    limit = settings(daily_loss_limit=Decimal(100))
    async with run(store, MONDAY, limit) as d:
        await roundtrip(d, "300", "296")
        await saved(store, lambda data: monday_day(data) and realized(data) == -40)
        d.engine.saver.closed = True  # from here on no state snapshot is written
        await roundtrip(d, "300", "297")  # journalled only
        assert equity(d) == -70
        await crash(d, store)
    snap = store.load_state()
    assert snap is not None and len(snap.data["positions"]) == 1
    assert Decimal(snap.data["positions"][0]["realized"]) == -40  # the snapshot predates it
    async with run(store, MONDAY, limit) as d:
        assert equity(d) == -70 and baseline(d)[:2] == (date(2024, 3, 4), Decimal(0))
        await roundtrip(d, "300", "296")
        assert d.engine.trading_state is TradingState.HALTED
        assert "loss today 110.00 RUB" in d.engine.halt_reason
    store.close()


async def test_a_fired_trigger_stays_quiet_while_latched_and_resume_resets_the_peak(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """After a drawdown trip: a restart while HALTED writes no second incident; ``avin resume``
    with no engine running re-arms the triggers and resets the peak at the next start."""
    store = open_store()
    limit = settings(max_drawdown=Decimal(100))
    async with run(store, MONDAY, limit) as d:
        await roundtrip(d, "300", "320")
        await roundtrip(d, "300", "288")
        assert d.engine.trading_state is TradingState.HALTED
        trips = len(d.engine.risk.trips)
        assert trips == 1
    async with run(store, MONDAY, limit) as d:
        assert d.engine.trading_state is TradingState.HALTED
        d.engine.risk.on_heartbeat()
        assert d.engine.risk.trips == [] and "drawdown" in d.engine.risk.triggers.fired
    store.close()
    capsys.readouterr()
    assert main(["resume", "--yes"]) == 0  # no engine runs
    store = open_store()
    async with run(store, MONDAY, limit) as d:
        assert d.engine.trading_state is TradingState.ACTIVE
        assert not d.engine.risk.triggers.fired
        assert baseline(d)[2] == 80  # the peak is the equity at the resume
        d.engine.risk.on_heartbeat()
        assert d.engine.trading_state is TradingState.ACTIVE
    store.close()


async def test_status_json_reports_the_persisted_baselines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = open_store()
    async with run(store, FRIDAY, settings(daily_loss_limit=Decimal(100))) as d:
        await roundtrip(d, "300", "310")
    async with run(store, MONDAY, settings(daily_loss_limit=Decimal(100))) as d:
        await roundtrip(d, "300", "297")
    store.close()
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["trading_state"] == "ACTIVE" and "counters" in data  # the old keys stay
    account = data["risk"]["accounts"]["sim-1"]
    assert account == {
        "trading_day": "2024-03-04",
        "day_begins": "2024-03-03T21:00:00Z",
        "daily_baseline": "100",
        "equity_peak": "100",
        "equity": "70",
        "daily_loss": "30",
        "drawdown": "30",
    }
    assert data["risk"]["fired"] == []


def test_the_trading_day_changes_at_midnight_moscow_time() -> None:
    assert trading_day(datetime(2024, 3, 4, 20, 59, 59, tzinfo=UTC)) == date(2024, 3, 4)
    assert trading_day(datetime(2024, 3, 4, 21, 0, tzinfo=UTC)) == date(2024, 3, 5)
    assert day_begins(date(2024, 3, 5)) == datetime(2024, 3, 4, 21, 0, tzinfo=UTC)
    triggers = Triggers(settings(daily_loss_limit=Decimal(100)))
    late = datetime(2024, 3, 4, 20, 30, tzinfo=UTC)  # 23:30 MSK, still Monday in Moscow
    assert triggers.on_equity({"a": Decimal(-60)}, trading_day(late)) is None
    assert triggers.on_equity({"a": Decimal(-90)}, trading_day(late)) is None
    after = datetime(2024, 3, 4, 21, 0, 1, tzinfo=UTC)  # 00:00:01 MSK Tuesday (UTC: Monday)
    assert triggers.on_equity({"a": Decimal(-90)}, trading_day(after)) is None
    assert triggers.baselines["a"].day == date(2024, 3, 5)
    assert triggers.baselines["a"].day_start == -90
    trip = triggers.on_equity({"a": Decimal(-191)}, trading_day(after))
    assert trip is not None and trip.trigger == "daily_loss" and "101.00 RUB" in trip.message


def test_accounts_have_their_own_baselines() -> None:
    triggers = Triggers(settings(daily_loss_limit=Decimal(100)))
    triggers.start({"live": Decimal(0), "sim": Decimal(0)})
    day = date(2024, 3, 4)
    assert triggers.on_equity({"live": Decimal(-60), "sim": Decimal(-60)}, day) is None
    trip = triggers.on_equity({"live": Decimal(-60), "sim": Decimal(-101)}, day)
    assert trip is not None and trip.details["account"] == "sim"
    saved_json = triggers.to_json()
    again = Triggers(settings(daily_loss_limit=Decimal(100)))
    again.restore(json.loads(json.dumps(saved_json)), latched=False)
    assert again.baselines == triggers.baselines and not again.fired  # ACTIVE: all armed
    again.restore(saved_json, latched=True)
    assert again.fired == {"daily_loss"}
