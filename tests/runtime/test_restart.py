"""A clean restart on the simulated market carries on trading (issue 13, defect 1).

The second run gets a fresh SimBroker, as ``avin run`` does after ``q``: its orders must fill,
its clock must carry on from where the first run stopped, and nothing of the first run may get in
the way (no order left working, no fill mistaken for one already booked).
"""

from __future__ import annotations

from pathlib import Path

from engine.broker.sim import SimBroker
from engine.model import OrderStatus
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.worklist import StrategySpec
from engine.state.embedded import DiskcacheStore

from .simkit import START, Driver

OPTIONS = EngineOptions(snapshot_interval=60, persist_min_gap=0, history_days=1)
PLAN = {"2": 1, "4": -1, "6": 2, "8": -2}  # closed bar number -> signed lots (flat at the end)


def run_on(store: DiskcacheStore, spec: StrategySpec) -> Driver:
    """A driver with a fresh simulated market that starts where a new ``avin run`` starts."""
    d = Driver([spec], OPTIONS, store=store)
    d.broker = SimBroker(seed=7, start=START, realtime=False)
    d.engine = Engine(d.broker, [spec], OPTIONS, store=store)
    return d


async def test_a_clean_restart_on_a_fresh_simulated_market_keeps_filling(tmp_path: Path) -> None:
    store = DiskcacheStore(tmp_path / "state")
    spec = StrategySpec("test_script", "SBER", params={"plan": PLAN})
    first = run_on(store, spec)
    async with first:
        await first.minutes(10)
        assert [o.status for o in first.engine.book.orders.values()] == [OrderStatus.FILLED] * 4
        stopped_at = first.broker.market.now
    second = run_on(store, spec)
    async with second:
        engine = second.engine
        # the replay carries on from where the first run stopped (not from its start again)
        assert second.broker.market.now >= stopped_at.replace(second=0)
        assert engine.market.now == second.broker.market.now
        await second.minutes(10)
        mine = [o for o in engine.book.orders.values() if o.created_ts > stopped_at]
        assert [o.status for o in mine] == [OrderStatus.FILLED] * 4, [
            (o.status.value, o.reason) for o in mine
        ]
        assert not engine.book.open_orders()
        assert engine.book.positions[("sim-1", "MOEX_SHARE_SBER")].lots == 0
        assert engine.counters["fills"] == 8
    store.close()


async def test_the_fill_ids_of_two_simulated_markets_never_collide() -> None:
    """A real exchange never reuses a trade id; the engine deduplicates fills by it."""
    ids = []
    for _ in range(2):
        async with Driver([StrategySpec("test_script", "SBER", params={"plan": {"2": 1}})]) as d:
            await d.minutes(3)
            ids += [f.fill_id for f in d.engine.book.fills]
    assert len(ids) == 2 and len(set(ids)) == 2, ids
