"""Benchmark: the order journal and state snapshots (engine.state).

- journal append latency p50/p99 (sync "full": an fsync per write; and "normal"), and the ratio
  to a bare sqlite3 INSERT + COMMIT with the same pragmas and payload in the same run (goal <= 1.5);
- state snapshot time (capture + checksummed write) for 1,000 orders and 50 positions;
- time from start to "reconciled and trading" after a crash (in-process engine, SimBroker whose
  state survives, 200 journalled orders).
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.broker.sim import SimBroker  # noqa: E402
from engine.model import Order, OrderType, Side, TimeFrame  # noqa: E402
from engine.model.snapshot import TradingState  # noqa: E402
from engine.runtime.engine import Engine, EngineOptions  # noqa: E402
from engine.runtime.worklist import StrategySpec  # noqa: E402
from engine.state.base import dumps  # noqa: E402
from engine.state.codec import encode_order  # noqa: E402
from engine.state.embedded import _SYNC, DiskcacheStore  # noqa: E402
from engine.state.status_store import RunMarker  # noqa: E402

N = 400


def _order() -> Order:
    return Order("MOEX_SHARE_SBER", Side.BUY, OrderType.LIMIT, 1, "sim-1", price=Decimal("250.5"))


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1e6


def bench_append(sync: str, n: int) -> tuple[float, float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = DiskcacheStore(Path(tmp) / "a", sync=sync)  # type: ignore[arg-type]
        db = sqlite3.connect(str(Path(tmp) / "bare.sqlite"))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={_SYNC[sync]}")
        db.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts, kind, key, data)")
        ours: list[float] = []
        bare: list[float] = []
        for _ in range(n):  # interleaved, so both see the same disk
            o = _order()
            t0 = time.perf_counter()
            store.append("order", o.id, encode_order(o))
            ours.append(time.perf_counter() - t0)
            text = dumps(encode_order(o))  # the bare baseline gets its payload for free
            t0 = time.perf_counter()
            db.execute(
                "INSERT INTO t (ts, kind, key, data) VALUES (?,?,?,?)", ("t", "o", o.id, text)
            )
            db.commit()
            bare.append(time.perf_counter() - t0)
        store.close()
        db.close()
    return _pct(ours, 0.5), _pct(ours, 0.99), _pct(bare, 0.5), _pct(bare, 0.99)


def bench_snapshot(orders: int, positions: int) -> float:
    """One snapshot save of a real (unstarted) engine whose book holds ``orders`` and
    ``positions``: the same capture and checksummed write as a running engine's save loop."""
    with tempfile.TemporaryDirectory() as tmp:
        store = DiskcacheStore(Path(tmp))
        engine = Engine(SimBroker(seed=7, realtime=False), [], EngineOptions(), store=store)
        for i in range(orders):
            engine.book.record(_order())
            if i < positions:
                position = engine.book.position("sim-1", f"MOEX_SHARE_X{i}")
                position.lots = i + 1
        times = []
        for _ in range(10):
            t0 = time.perf_counter()
            engine.keeper.save()
            times.append(time.perf_counter() - t0)
        store.close()
    return statistics.median(times) * 1000


async def _recovery_time(orders: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = DiskcacheStore(Path(tmp))
        broker = SimBroker(seed=7, realtime=False)
        opts = EngineOptions(snapshot_interval=1, persist_min_gap=0, history_days=1)
        spec = [StrategySpec("sma_cross", "SBER")]
        first = Engine(broker, spec, opts, store=store)
        task = asyncio.create_task(first.run())
        while not first.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.001)
        close = first.chart("SBER", TimeFrame.M1, 1)[-1].close
        for _ in range(orders):
            o = _order()
            o.price = Decimal(str(round(close * 0.9, 2)))  # below the market: stays open
            first.submit(o)
        while first.pending_requests:
            await asyncio.sleep(0.001)
        await asyncio.to_thread(first.saver.save)
        first.saver.closed = True
        first.request_stop()
        await task
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        store._cache.set("marker", RunMarker(proc.pid, socket.gethostname(), "x").to_json())
        second = Engine(broker, spec, opts, store=store)
        t0 = time.perf_counter()
        task = asyncio.create_task(second.run())
        while not second.started:
            if task.done():
                task.result()  # raise what stopped it
                raise RuntimeError("the engine stopped before it started")
            await asyncio.sleep(0.0005)
        took = time.perf_counter() - t0
        report = second.keeper.report
        assert report is not None and report.crashed and not report.problems, report
        assert len(report.resolved) == orders and second.trading_state is TradingState.ACTIVE
        await asyncio.sleep(0.5)  # let the first saves finish before stopping
        second.request_stop()
        await task
        store.close()
    return took


def main() -> int:
    import argparse
    import logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    args = parser.parse_args()
    appends, orders, positions, open_orders = (40, 100, 5, 20) if args.smoke else (N, 1000, 50, 200)
    logging.getLogger("avin").setLevel(logging.ERROR)
    ok = True
    for sync in ("full", "normal"):
        p50, p99, b50, b99 = bench_append(sync, appends)
        ratio = p50 / b50
        print(
            f"journal append (sync {sync}): p50 {p50:.0f} us, p99 {p99:.0f} us; bare sqlite3 "
            f"p50 {b50:.0f} us, p99 {b99:.0f} us; ratio p50 {ratio:.2f}"
            + ("  (goal <= 1.5)" if sync == "full" else "")
        )
        if sync == "full" and ratio > 1.5 and not args.smoke:  # a smoke run judges no ratio
            ok = False
    snapshot = bench_snapshot(orders, positions)
    print(f"state snapshot, {orders} orders + {positions} positions: {snapshot:.1f} ms")
    recovery = asyncio.run(_recovery_time(open_orders))
    print(f"crash -> reconciled and trading ({open_orders} open orders): {recovery:.2f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
