"""Recovery in-process: journal before send, crash + restart on a broker whose state survives
(the same SimBroker object), a fresh simulated market, latched HALTED, unexplainable states."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from engine.broker.sim import SimBroker
from engine.model import Order, OrderStatus, OrderType, Side
from engine.model.snapshot import TradingState
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.worklist import StrategySpec
from engine.state.base import BaseStore
from engine.state.status_store import RunMarker
from engine.strategy import Strategy, StrategyContext, register
from tests.runtime.simkit import START, Driver

OPTIONS = EngineOptions(snapshot_interval=60, persist_min_gap=0, history_days=1)


class Once(Strategy):
    """Places one limit buy a little below the market, once (remembered in ``state``)."""

    name = "test_once"

    def on_start(self, ctx: StrategyContext) -> None:
        if self.state.get("placed"):
            return
        last = ctx.chart().last
        assert last is not None
        offset = float(self.params.get("offset", 0.999))
        order = ctx.buy(int(self.params.get("lots", 2)), price=round(last.close * offset, 2))
        self.state["placed"] = order.id if order is not None else "?"


register(Once)


def driver(broker: SimBroker, store: BaseStore, spec: StrategySpec) -> Driver:
    d = Driver([spec], OPTIONS, store=store)
    d.broker = broker
    d.engine = Engine(broker, [spec], OPTIONS, store=store)
    return d


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


async def crash(d: Driver, store: BaseStore) -> None:
    """Stop the engine without its final save and leave a marker of a dead process behind."""
    await d.settle()
    d.engine.saver.save()  # on the loop, which it blocks: a consistent moment
    d.engine.saver.closed = True  # the final save (and clearing the marker) never happens
    await d.stop()
    store._cache.set("marker", RunMarker(dead_pid(), socket.gethostname(), "then").to_json())


def keys_sent(store: BaseStore) -> list[str]:
    return [e.key for e in store.history() if e.kind == "intent"]


async def test_the_intent_is_journalled_before_a_failing_send(
    store_factory: Callable[[], BaseStore],
) -> None:
    store = store_factory()
    broker = SimBroker(seed=7, start=START, realtime=False)

    async def fail(order: Order) -> Order:
        assert [e.kind for e in store.history(order.id)] == ["intent"]  # written before sending
        raise ConnectionError("network down")

    broker.post_order = fail  # type: ignore[method-assign]
    async with driver(broker, store, StrategySpec("test_once", "SBER")) as d:
        await d.settle()
        (order,) = d.engine.book.orders.values()
        assert order.status is OrderStatus.REJECTED and "not received" in order.reason
    kinds = [e.kind for e in store.history(order.id)]
    assert kinds[0] == "intent" and kinds[-1] == "order"


async def test_the_state_snapshot_is_taken_on_the_engine_loop(
    store_factory: Callable[[], BaseStore],
) -> None:
    """The saver writes in a worker thread; a snapshot taken there could hold a fill's id but
    not yet its position, and recovery would skip that fill's journal event as booked: the fill
    would be lost (seen in CI). Every capture, the final one included, runs on the loop."""
    store = store_factory()
    broker = SimBroker(seed=7, start=START, realtime=False)
    d = driver(broker, store, StrategySpec("test_once", "SBER"))
    keeper = d.engine.keeper
    real = keeper.capture
    threads: list[int] = []

    def recording() -> dict[str, Any]:
        threads.append(threading.get_ident())
        return real()

    keeper.capture = recording  # type: ignore[method-assign]
    async with d:
        await d.minutes(3)
        for _ in range(200):  # the order's journal and state saves: the saver woke
            if threads:
                break
            await asyncio.sleep(0.01)
        loop_thread = threading.get_ident()
    assert len(threads) >= 2  # a save while running and the final one
    assert set(threads) == {loop_thread}


async def test_crash_and_restart_reconciles_with_a_surviving_broker(
    store_factory: Callable[[], BaseStore],
) -> None:
    store = store_factory()
    broker = SimBroker(seed=7, start=START, realtime=False)
    spec = StrategySpec("test_once", "SBER", params={"offset": 0.9995, "lots": 2})
    d1 = driver(broker, store, spec)
    async with d1:
        d1.engine.save_workspace({"panes": ["chart", "log"], "selected": "SBER"})
        (key,) = d1.engine.book.orders
        assert d1.engine.book.orders[key].status is OrderStatus.ACCEPTED
        await crash(d1, store)
    for _ in range(60 * 7):  # the market moves while the robot is down: the order fills
        broker.step()
        if broker._orders[key].status is OrderStatus.FILLED:
            break
    assert broker._orders[key].status is OrderStatus.FILLED
    d2 = driver(broker, store, spec)
    async with d2:
        engine = d2.engine
        report = engine.keeper.report
        assert report is not None and engine.recovered and report.crashed
        assert report.problems == [] and engine.trading_state is TradingState.ACTIVE
        assert report.synthesized_fills and not report.fresh_broker
        order = engine.book.orders[key]
        assert order.status is OrderStatus.FILLED and order.filled_lots == 2
        await d2.minutes(3)  # the queued broker fills arrive now: absorbed, not counted twice
        theirs = {p.instrument: p.lots for p in await broker.positions("sim-1")}
        ours = {i: p.lots for (_a, i), p in engine.book.positions.items()}
        assert ours == theirs == {"MOEX_SHARE_SBER": 2}
        assert engine.workspace() == {"panes": ["chart", "log"], "selected": "SBER"}
        assert engine.slots[0].strategy.state["placed"] == key  # type: ignore[union-attr]
    sent = keys_sent(store)
    assert sent == [key] and len(broker._orders) == 1  # no order sent twice
    status = store.status()
    assert status is not None and status["recovered"] is True
    assert status["recovery"]["synthesized_fills"] == report.synthesized_fills


async def test_an_unexplainable_disagreement_starts_halted(
    store_factory: Callable[[], BaseStore],
) -> None:
    store = store_factory()
    broker = SimBroker(seed=7, start=START, realtime=False)
    spec = StrategySpec("test_once", "SBER", params={"offset": 0.9})
    async with driver(broker, store, spec) as d1:
        (key,) = d1.engine.book.orders
        await crash(d1, store)
    lost = broker._orders.pop(key)  # the broker forgot a working order
    broker._orders["other"] = lost  # and keeps something else (so it is not a fresh market)
    lost.id = "other"
    async with driver(broker, store, spec) as d2:
        engine = d2.engine
        assert engine.trading_state is TradingState.HALTED
        assert "unknown to the broker" in engine.halt_reason
        assert engine.keeper.report is not None and engine.keeper.report.adopted == ["other"]
    assert store.trading_state()[0] is TradingState.HALTED  # latched


async def test_halted_is_latched_across_a_crash(store_factory: Callable[[], BaseStore]) -> None:
    store = store_factory()
    broker = SimBroker(seed=7, start=START, realtime=False)
    spec = StrategySpec("sma_cross", "SBER")
    async with driver(broker, store, spec) as d1:
        d1.engine.kill("latched")
        await crash(d1, store)
    async with driver(broker, store, spec) as d2:
        assert d2.engine.recovered and d2.engine.trading_state is TradingState.HALTED
        assert d2.engine.halt_reason == "latched"


async def test_a_fresh_simulated_market_keeps_journal_positions(
    store_factory: Callable[[], BaseStore],
) -> None:
    store = store_factory()
    broker = SimBroker(seed=7, start=START, realtime=False)
    spec = StrategySpec("test_once", "SBER", params={"offset": 1.01, "lots": 1})  # fills at once
    async with driver(broker, store, spec) as d1:
        await d1.minutes(2)
        assert d1.engine.book.positions[("sim-1", "MOEX_SHARE_SBER")].lots == 1
        await crash(d1, store)
    assert broker.cash < 1_000_000  # it paid for the lot and its commission
    fresh = SimBroker(seed=7, start=START, realtime=False)
    async with driver(fresh, store, spec) as d2:
        report = d2.engine.keeper.report
        assert report is not None and report.fresh_broker and report.problems == []
        assert d2.engine.book.positions[("sim-1", "MOEX_SHARE_SBER")].lots == 1
        assert fresh._orders == {}  # the strategy remembered it had placed its order
        # the new market goes on with the account: the lot held and the cash it left
        assert fresh.cash == broker.cash
        held = {p.instrument: (p.lots, p.avg_price) for p in await fresh.positions("sim-1")}
        theirs = {p.instrument: (p.lots, p.avg_price) for p in await broker.positions("sim-1")}
        assert held == theirs
        # so selling the lot leaves the new market flat, not short
        fresh.submit(Order("MOEX_SHARE_SBER", Side.SELL, OrderType.MARKET, 1, "sim-1"))
        await d2.minutes(2)
        assert [p.lots for p in await fresh.positions("sim-1")] == [0]
        assert d2.engine.book.positions[("sim-1", "MOEX_SHARE_SBER")].lots == 0


def _damage_journal(path: Any, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(b"garbage!" * 16 + data[128:])


@pytest.mark.parametrize("how", ["truncated", "garbage"])
async def test_a_damaged_journal_is_reported_and_trading_halts(tmp_path: Any, how: str) -> None:
    from engine.state.embedded import DiskcacheStore

    store = DiskcacheStore(tmp_path)
    broker = SimBroker(seed=7, start=START, realtime=False)
    spec = StrategySpec("test_once", "SBER", params={"offset": 1.01, "lots": 1})
    async with driver(broker, store, spec) as d1:
        await d1.minutes(2)
        for i in range(200):
            store.append("note", "", {"padding": "x" * 200, "i": i})
    store.close()
    _damage_journal(tmp_path / "journal.sqlite", how)
    store = DiskcacheStore(tmp_path)
    assert store.damage.fatal and "damaged" in store.damage.problems[0]
    assert list(tmp_path.glob("journal.sqlite.damaged-*"))
    async with driver(SimBroker(seed=7, start=START, realtime=False), store, spec) as d2:
        assert d2.engine.trading_state is TradingState.HALTED
        report = d2.engine.keeper.report
        assert report is not None and report.damage and "avin resume" in report.hint
    store.close()
