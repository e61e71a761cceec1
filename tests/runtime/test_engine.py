import asyncio
import threading
from decimal import Decimal
from pathlib import Path

from engine.model import Order, OrderStatus, OrderType, Side
from engine.model.snapshot import StrategyState, TradingState
from engine.runtime.engine import EngineOptions
from engine.runtime.logbook import setup_logging
from engine.runtime.worklist import DEMO_WORKLIST, StrategySpec

from .simkit import Driver

CENT = Decimal("0.01")


def commission(price: Decimal, lots: int, lot: int) -> Decimal:
    return (price * lots * lot * Decimal("0.0005")).quantize(CENT)


async def test_demo_strategy_trades_and_positions_match_the_fills() -> None:
    async with Driver(list(DEMO_WORKLIST)) as d:
        await d.minutes(90)
        engine, book = d.engine, d.engine.book
        assert engine.counters["fills"] >= 3, engine.counters
        orders = list(book.orders.values())
        assert orders and all(o.status is OrderStatus.FILLED for o in orders[:-3])
        broker_positions = {p.instrument: p for p in await d.broker.positions("sim-1")}
        for (account, code), pos in book.positions.items():
            fills = [f for f in book.fills if f.instrument == code]
            lots = sum(f.side.sign * f.lots for f in fills)
            assert account == "sim-1" and pos.lots == lots
            assert abs(pos.lots) <= 1  # always 0 or +-lots (lots=1) for sma_cross
            assert pos.commission == sum((f.commission for f in fills), Decimal(0))
            assert pos.realized == broker_positions[code].realized  # the broker agrees
            strategy_pos = book.strategy_positions[f"sma_cross:{code.split('_')[-1]}:sim-1"]
            assert strategy_pos.lots == pos.lots and strategy_pos.realized == pos.realized
            # entries alternate: the first order is 1 lot, every later one reverses (2 lots)
            sizes = [f.lots for f in fills]
            assert sizes[0] == 1 and all(s == 2 for s in sizes[1:])
        snap = engine.snapshot()
        assert {r.state for r in snap.strategies} == {"running"}
        assert snap.market_ts is not None and snap.heartbeat_ts is not None


async def test_hand_computed_pnl_through_the_engine() -> None:
    plan = {"plan": {"2": 2, "4": -3, "6": 1}}
    async with Driver([StrategySpec("test_script", "SBER", params=plan)]) as d:
        await d.minutes(8)
        book = d.engine.book
        fills = book.fills
        assert [(f.side, f.lots) for f in fills] == [(Side.BUY, 2), (Side.SELL, 3), (Side.BUY, 1)]
        p1, p2, p3 = (f.price for f in fills)
        c1, c2, c3 = (commission(f.price, f.lots, 10) for f in fills)
        assert [f.commission for f in fills] == [c1, c2, c3]
        pos = book.position("sim-1", "MOEX_SHARE_SBER")
        assert pos.lots == 0
        assert pos.realized == (p2 - p1) * 2 * 10 + (p2 - p3) * 1 * 10
        assert pos.commission == c1 + c2 + c3
        assert pos.total_pnl() == pos.realized - (c1 + c2 + c3)
        long_trade, short_trade = pos.trades
        assert long_trade.side is Side.BUY and short_trade.side is Side.SELL
        assert long_trade.result == p2 * 20 - p1 * 20 - (c1 + c2 * 2 / 3)
        assert short_trade.result == p2 * 10 - p3 * 10 - (c2 / 3 + c3)
        row = d.engine.snapshot().strategies[0]
        assert row.position == 0 and row.pnl == pos.total_pnl()


async def test_a_failing_strategy_is_failed_and_the_engine_keeps_running(tmp_path: Path) -> None:
    setup_logging(tmp_path, "info")
    worklist = [StrategySpec("test_boom", "GAZP", params={"at": 2}), *DEMO_WORKLIST]
    async with Driver(worklist) as d:
        await d.minutes(3)
        boom = d.engine.strategy("test_boom:GAZP:sim-1")
        assert boom is not None and boom.state is StrategyState.FAILED
        assert "ValueError: boom at bar 2" in boom.error
        assert d.engine.counters["strategy_errors"] == 1
        assert not [o for o in d.engine.book.orders.values() if o.strategy == boom.id]
        events = d.engine.counters["events"]
        await d.minutes(60)
        assert d.engine.counters["events"] > events and d.engine.counters["fills"] > 0
        assert d.engine.trading_state is TradingState.ACTIVE
        rows = {r.id: r for r in d.engine.snapshot().strategies}
        assert rows[boom.id].state == "failed" and rows["sma_cross:SBER:sim-1"].state == "running"
        d.engine.resume_strategy(boom.id)  # a deliberate restart clears the error
        assert boom.state is StrategyState.RUNNING and boom.error == ""
    log = (tmp_path / "avin.log").read_text()
    assert "FAILED in on_bar" in log and "Traceback" in log and "boom at bar 2" in log


async def test_an_error_storm_halts_trading(tmp_path: Path) -> None:
    setup_logging(tmp_path, "info")
    worklist = [
        StrategySpec("test_boom", t, params={"at": 1}) for t in ("SBER", "GAZP", "LKOH", "ROSN")
    ]
    worklist.append(StrategySpec("test_boom", "SBER", params={"at": 1}))
    async with Driver([*worklist, *DEMO_WORKLIST], EngineOptions(error_storm=5)) as d:
        await d.minutes(1)
        assert d.engine.counters["strategy_errors"] == 5
        assert d.engine.trading_state is TradingState.HALTED
        assert "error storm" in d.engine.halt_reason
        states = {s.id: s.state for s in d.engine.slots}
        assert states["sma_cross:SBER:sim-1"] is StrategyState.HELD  # by the halt
        await d.minutes(30)
        assert d.engine.book.orders == {}  # nothing was ever sent
    assert "error storm" in (tmp_path / "incidents.log").read_text()


async def test_kill_cancels_open_orders_and_blocks_new_ones() -> None:
    async with Driver([StrategySpec("test_resting", "SBER")]) as d:
        await d.minutes(1)
        (order,) = d.engine.book.open_orders()
        assert order.status is OrderStatus.ACCEPTED and order.type is OrderType.LIMIT
        version = d.engine.snapshot().version
        d.engine.kill("test")
        # synchronous: halted, paused and (on the simulated market) cancelled in the same call
        assert d.engine.trading_state is TradingState.HALTED
        assert d.engine.slots[0].state is StrategyState.HELD
        assert order.status is OrderStatus.CANCELLED and d.engine.pending_requests == 0
        assert d.engine.snapshot().version > version
        await d.settle()
        assert order.status is OrderStatus.CANCELLED
        at_broker = await d.broker.get_order("sim-1", order.id)
        assert at_broker is not None and at_broker.status is OrderStatus.CANCELLED
        new = d.engine.submit(Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 1, "sim-1"))
        assert new.status is OrderStatus.REJECTED and "HALTED" in new.reason
        await d.minutes(1)
        assert await d.broker.get_order("sim-1", new.id) is None
        assert d.engine.counters["orders_sent"] == 1


async def test_kill_from_another_thread() -> None:
    async with Driver([StrategySpec("test_resting", "GAZP")]) as d:
        await d.minutes(1)
        (order,) = d.engine.book.open_orders()
        thread = threading.Thread(target=d.engine.kill, args=("from the UI thread",))
        thread.start()
        thread.join(1)
        assert d.engine.trading_state is TradingState.HALTED  # set in the caller's thread
        for _ in range(50):
            await asyncio.sleep(0.01)
            await d.settle()
            if not order.is_open:
                break
        assert order.status is OrderStatus.CANCELLED


async def test_snapshot_is_cached_until_something_changes() -> None:
    async with Driver([StrategySpec("sma_cross", "SBER")]) as d:
        first = d.engine.snapshot()
        assert d.engine.snapshot() is first
        d.engine.pause_strategy("sma_cross:SBER:sim-1")
        paused = d.engine.snapshot()
        assert paused.version > first.version and paused.strategies[0].state == "paused"
        d.engine.pause_strategy("sma_cross:SBER:sim-1")  # no change: no new version
        assert d.engine.snapshot() is paused
        d.engine.resume_strategy("sma_cross:SBER:sim-1")
        assert d.engine.snapshot().version > paused.version
        await d.minutes(1)
        assert d.engine.snapshot().market_ts is not None
        bars = d.engine.chart("SBER", d.engine.slots[0].strategy.timeframe, 50)  # type: ignore[union-attr]
        assert len(bars) == 50 and bars[-1].ts > bars[0].ts
        assert d.engine.chart("NOPE", d.engine.slots[0].strategy.timeframe, 5) == []  # type: ignore[union-attr]


async def test_bad_rows_fail_alone_and_an_engine_bug_does_not_stop_the_loop() -> None:
    from engine.broker.base import BarEvent
    from engine.model import TimeFrame

    worklist = [
        StrategySpec("sma_cross", "NOPE"),
        StrategySpec("no_such_strategy", "SBER"),
        StrategySpec("sma_cross", "SBER", params={"fast": 50, "slow": 10}),
        StrategySpec("sma_cross", "GAZP"),
    ]
    async with Driver(worklist) as d:
        states = {s.id: (s.state, s.error) for s in d.engine.slots}
        assert states["sma_cross:NOPE:sim-1"][0] is StrategyState.FAILED
        assert "unknown instrument" in states["sma_cross:NOPE:sim-1"][1]
        assert "unknown strategy" in states["no_such_strategy:SBER:sim-1"][1]
        assert "fast (50) must be shorter" in states["sma_cross:SBER:sim-1"][1]
        assert states["sma_cross:GAZP:sim-1"][0] is StrategyState.RUNNING
        assert d.engine.counters["strategy_errors"] == 0  # configuration, not a storm
        d.broker._emit(BarEvent("MOEX_SHARE_GAZP", TimeFrame.M1, None, True))  # type: ignore[arg-type]
        await d.minutes(2)
        assert d.engine.counters["engine_errors"] == 1
        assert d.engine.trading_state is TradingState.ACTIVE and d.engine.running


def test_an_error_storm_trips_within_its_window() -> None:
    from engine.runtime.guards import ErrorStorm

    storm = ErrorStorm(3, 60)
    assert [storm.record(t) for t in (0, 10, 100, 110, 120)] == [False, False, False, False, True]
