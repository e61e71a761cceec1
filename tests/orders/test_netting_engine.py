"""Netting in the live engine on the simulated market: opposite market orders of strategies on one
account and instrument in one bar are crossed inside, the rest goes out as one net order whose
fills are split back; nothing is refused as a self-trade; a restart books nothing twice."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from engine.broker.sim import SimBroker
from engine.config import RiskSettings
from engine.model import OrderStatus
from engine.model.snapshot import TradingState
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.rows import order_rows
from engine.runtime.worklist import StrategySpec
from engine.state.embedded import DiskcacheStore
from engine.state.status_store import RunMarker
from tests.runtime.simkit import START, Driver

OPTIONS = EngineOptions(snapshot_interval=60, persist_min_gap=0, history_days=1)
SBER = "MOEX_SHARE_SBER"
ROWS = [  # on the first closed bar: buy 3, sell 1, buy 1
    StrategySpec("test_script", "SBER", params={"plan": {"1": 3}, "n": 1}),
    StrategySpec("test_script", "SBER", params={"plan": {"1": -1}, "n": 2}),
    StrategySpec("test_script", "SBER", params={"plan": {"1": 1}, "n": 3}),
]


def _lots(engine: Engine) -> list[int]:
    return [engine.book.strategy_position(s.id).lots for s in engine.slots]


async def _first_bar(d: Driver) -> None:
    for _ in range(60 * 7):
        d.broker.step()
        await d.settle()
        if any(o.type.value == "market" for o in d.engine.book.orders.values()):
            return
    raise AssertionError("no strategy traded")


async def test_opposite_orders_of_one_bar_cross_and_the_rest_goes_out_net() -> None:
    async with Driver(ROWS, OPTIONS, risk=RiskSettings()) as d:
        engine = d.engine
        await _first_bar(d)
        book = engine.book
        assert engine.risk.gate.rejections == {}  # no self_trade refusal
        children = [o for o in book.orders.values() if o.strategy]
        (net,) = [o for o in book.orders.values() if not o.strategy]
        assert all(o.internal for o in children) and not net.internal
        assert (net.side.value, net.lots) == ("buy", 3)
        price = engine.risk.gate.last_price(SBER)
        crossed = [f for f in book.fills if f.fill_id.startswith("cross:")]
        assert sorted((f.side.value, f.lots) for f in crossed) == [("buy", 1), ("sell", 1)]
        assert {f.price for f in crossed} == {price} and {f.commission for f in crossed} == {0}
        assert _lots(engine) == [1, -1, 0]  # the crossed lot: the first buy's (3:1), the sell
        assert book.position("sim-1", SBER).lots == 0  # the broker has seen nothing yet
        for _ in range(60 * 7):
            if net.status is OrderStatus.FILLED:
                break
            d.broker.step()
            await d.settle()
        assert net.status is OrderStatus.FILLED
        assert _lots(engine) == [3, -1, 1]
        assert [o.status for o in children] == [OrderStatus.FILLED] * 3
        assert book.position("sim-1", SBER).lots == 3
        theirs = {p.instrument: p.lots for p in await d.broker.positions("sim-1")}
        assert theirs == {SBER: 3}
        # the strategies' P&L adds up to the account's: the crossing moves no money
        marks = Decimal("300")
        total = sum(book.strategy_position(s.id).total_pnl(marks) for s in engine.slots)
        assert abs(total - book.position("sim-1", SBER).total_pnl(marks)) < Decimal("1e-12")
        assert engine.counters["crossed_lots"] == 1 and engine.counters["net_orders"] == 1
        types = {row.key: row.type for row in order_rows(book)}  # the Orders pane says so
        assert {types[o.id] for o in children} == {"market (netted)"}
        assert types[net.id] == "market"
        assert engine.trading_state is TradingState.ACTIVE


async def test_a_crash_after_netting_books_nothing_twice(tmp_path: Path) -> None:
    broker = SimBroker(seed=7, start=START, realtime=False)
    store = DiskcacheStore(tmp_path / "state")
    try:
        d1 = Driver(ROWS, OPTIONS, store=store)
        d1.broker, d1.engine = broker, Engine(broker, ROWS, OPTIONS, store=store)
        async with d1:
            await _first_bar(d1)
            before = _lots(d1.engine)
            assert before == [1, -1, 0]
            await d1.settle()
            d1.engine.saver.closed = True  # no final save: the journal tells the rest
            await d1.stop()
            proc = subprocess.Popen([sys.executable, "-c", "pass"])
            proc.wait()
            store._cache.set("marker", RunMarker(proc.pid, socket.gethostname(), "x").to_json())
        for _ in range(60 * 7):  # the net order fills while the robot is down
            broker.step()
            if not [o for o in broker._orders.values() if o.is_open]:
                break
        d2 = Driver(ROWS, OPTIONS, store=store)
        d2.broker, d2.engine = broker, Engine(broker, ROWS, OPTIONS, store=store)
        async with d2:
            engine = d2.engine
            report = engine.keeper.report
            assert report is not None and report.crashed and report.problems == []
            assert _lots(engine) == [3, -1, 1]  # crossed once, the net fill split once
            for slot in engine.slots:  # (the test scripts would trade their plan again)
                engine.pause_strategy(slot.id)
            await d2.minutes(2)  # the broker's queued fill events: absorbed
            assert _lots(engine) == [3, -1, 1]
            assert engine.book.position("sim-1", SBER).lots == 3
            assert all(not o.is_open for o in engine.book.orders.values())
            assert engine.trading_state is TradingState.ACTIVE
            await asyncio.sleep(0)
    finally:
        store.close()


async def test_a_resting_limit_order_refuses_only_what_would_reach_the_broker() -> None:
    # a limit buy far below the market rests (test_resting); in one bar a row sells 1 and
    # another buys 1 (crossed whole: nothing meets the resting buy), then a row sells 2
    # against a buy of 1: the crossed lot stands, the lot left for the broker would cross the
    # resting buy and is refused with the reason (the Orders pane shows it)
    rows = [
        StrategySpec("test_resting", "SBER"),
        StrategySpec("test_script", "SBER", params={"plan": {"1": -1, "3": -2}, "n": 1}),
        StrategySpec("test_script", "SBER", params={"plan": {"1": 1, "3": 1}, "n": 2}),
    ]
    async with Driver(rows, OPTIONS, risk=RiskSettings(reject_limit=1)) as d:
        engine = d.engine
        await _first_bar(d)
        book = engine.book
        (resting,) = [o for o in book.orders.values() if o.type.value == "limit"]
        assert engine.risk.gate.rejections == {}  # wholly crossed: the resting buy is no matter
        assert _lots(engine) == [0, -1, 1]
        for _ in range(2 * 7):  # two more bars
            d.broker.step()
            await d.settle()
        assert engine.risk.gate.rejections == {"self_trade": 1}
        assert _lots(engine) == [0, -2, 2]  # the third bar's crossed lot
        (refused,) = [o for o in book.orders.values() if o.status is OrderStatus.CANCELLED]
        assert refused.strategy == engine.slots[1].id and refused.filled_lots == 1
        reason = {row.key: row.reason for row in order_rows(book)}[refused.id]
        assert reason.startswith("self_trade: sell would cross the resting buy 1 @ ")
        assert resting.id[:8] in reason
        assert [o for o in book.orders.values() if not o.strategy] == []  # no net order sent
        assert resting.is_open and engine.trading_state is TradingState.ACTIVE
        assert engine.risk.triggers.fired == set()  # local policy, not the broker's


async def _crash_after_first_bar(tmp_path: Path, broker: SimBroker, *, send: bool) -> None:
    """Run ROWS to their first bar (``send``: the net order goes out, else the crash comes
    between the netting and its intent) and die without the final save."""
    store = DiskcacheStore(tmp_path / "state")
    try:
        d = Driver(ROWS, OPTIONS, store=store)
        d.broker, d.engine = broker, Engine(broker, ROWS, OPTIONS, store=store)
        async with d:
            if not send:
                d.engine.kernel.netting._send = lambda order: None  # type: ignore[method-assign]
            await _first_bar(d)
            assert _lots(d.engine) == [1, -1, 0]
            d.engine.saver.closed = True
            await d.stop()
            proc = subprocess.Popen([sys.executable, "-c", "pass"])
            proc.wait()
            store._cache.set("marker", RunMarker(proc.pid, socket.gethostname(), "x").to_json())
    finally:
        store.close()


async def _restart(tmp_path: Path, broker: SimBroker) -> tuple[Engine, list[int], list[str]]:
    store = DiskcacheStore(tmp_path / "state")
    try:
        d = Driver(ROWS, OPTIONS, store=store)
        d.broker, d.engine = broker, Engine(broker, ROWS, OPTIONS, store=store)
        async with d:
            engine = d.engine
            report = engine.keeper.report
            assert report is not None and report.crashed and report.problems == []
            reasons = sorted(o.reason for o in engine.book.orders.values() if o.strategy)
            return engine, _lots(engine), reasons
    finally:
        store.close()


async def test_a_crash_before_the_net_order_was_sent_keeps_the_crossed_lots_only(
    tmp_path: Path,
) -> None:
    broker = SimBroker(seed=7, start=START, realtime=False)
    await _crash_after_first_bar(tmp_path, broker, send=False)
    engine, lots, reasons = await _restart(tmp_path, broker)
    assert lots == [1, -1, 0]  # the crossed lot stands, nothing else happened
    assert reasons == ["", "net order never sent", "net order never sent"]
    assert all(not o.is_open for o in engine.book.orders.values())
    assert engine.book.position("sim-1", SBER).lots == 0


async def test_a_fresh_simulated_market_ends_the_shares_of_the_open_net_order(
    tmp_path: Path,
) -> None:
    await _crash_after_first_bar(
        tmp_path, SimBroker(seed=7, start=START, realtime=False), send=True
    )
    fresh = SimBroker(seed=7, start=START, realtime=False)  # the market restarted: holds nothing
    engine, lots, reasons = await _restart(tmp_path, fresh)
    assert lots == [1, -1, 0]
    assert reasons[0] == ""  # the sell, crossed whole
    for reason in reasons[1:]:  # the buys' shares of the net order the restart cancelled
        assert reason.startswith("net order ")
        assert reason.endswith(" cancelled: the simulated market restarted")
    assert all(not o.is_open for o in engine.book.orders.values())


async def test_cancelling_a_netted_order_cancels_its_net_order_and_its_shares() -> None:
    async with Driver(ROWS, OPTIONS, risk=RiskSettings()) as d:
        engine = d.engine
        await _first_bar(d)
        book = engine.book
        (net,) = [o for o in book.orders.values() if not o.strategy]
        third = next(o for o in book.orders.values() if o.strategy == engine.slots[2].id)
        assert net.is_open and third.internal and third.is_open
        engine.cancel_order(third.id)  # the user's x on a row's netted order
        await d.settle()
        assert net.status is OrderStatus.CANCELLED
        shares = [o for o in book.orders.values() if o.strategy and o.status.is_open is False]
        assert {o.status for o in shares if o.filled_lots < o.lots} == {OrderStatus.CANCELLED}
        assert third.reason.startswith(f"net order {net.id[:8]} cancelled")
        assert _lots(engine) == [1, -1, 0] and book.position("sim-1", SBER).lots == 0
        assert not [o for o in book.orders.values() if o.is_open]
