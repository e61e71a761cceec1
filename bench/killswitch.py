"""Kill switch: key press -> HALTED with every cancel request issued, under a ~2,000 events/s feed.

The real Engine runs on SimBroker (its own thread, as in ``avin run``) while the TUI runs headless
under Pilot. Each trial places ``--orders`` resting limit orders, waits until the broker accepted
them, presses ``ctrl+k`` through Pilot and stops the clock when the engine is HALTED *and* the
broker has received a cancel request for every one of those orders. Then it resumes and repeats.

    .venv/bin/python bench/killswitch.py [--trials 100] [--speed 3000] [--orders 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def run(trials: int, speed: float, n_orders: int, seed: int) -> tuple[list[float], float]:
    from avin_tui.app import AvinApp
    from engine.config import RiskSettings, Settings
    from engine.model import Order, OrderType, Side, TimeFrame
    from engine.runtime.factory import build_engine
    from engine.runtime.logbook import LogBook
    from engine.runtime.snapshot import TradingState

    book = LogBook()
    logger = logging.getLogger("avin")
    logger.addHandler(book)
    logger.setLevel(logging.INFO)
    risk = RiskSettings(orders_per_minute_account=1_000_000, orders_per_minute_strategy=1_000_000)
    engine = build_engine(Settings(risk=risk), speed=speed, seed=seed, logbook=book, persist=False)
    broker: Any = engine.broker
    cancelled: dict[str, float] = {}
    real_cancel = broker.cancel_order

    async def timed_cancel(account: str, order_id: str) -> Any:
        cancelled.setdefault(order_id, time.perf_counter())
        return await real_cancel(account, order_id)

    broker.cancel_order = timed_cancel
    halted_at: list[float] = []
    real_kill = engine.kill

    def timed_kill(reason: str = "manual") -> None:
        real_kill(reason)
        halted_at.append(time.perf_counter())

    engine.kill = timed_kill  # type: ignore[method-assign]
    app = AvinApp(engine, poll_interval=0.25, persist_layout=False)
    rnd = random.Random(seed)
    latencies: list[float] = []

    def place() -> list[Order]:
        orders = []
        for _ in range(n_orders):
            bars = engine.chart("MOEX_SHARE_SBER", TimeFrame.M1, 1)
            last = Decimal(str(bars[-1].close)) if bars else Decimal(300)
            price = (last * Decimal("0.9")).quantize(Decimal("0.01"))
            order = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.LIMIT, 1, "sim-1", price=price)
            orders.append(engine.submit(order))
        return orders

    async with app.run_test(size=(160, 48)) as pilot:
        deadline = time.monotonic() + 30
        while not (engine.started and engine._loop is not None):
            if time.monotonic() > deadline:
                raise SystemExit("the engine did not start")
            await pilot.pause(0.05)
        await pilot.pause(1.0)
        loop = engine._loop
        events0, t0 = engine.counters["events"], time.perf_counter()
        for trial in range(trials):
            fut = asyncio.run_coroutine_threadsafe(_call(place), loop)
            orders = await asyncio.wrap_future(fut)
            while any(o.status.value != "accepted" for o in orders):
                if any(not o.is_open for o in orders):
                    raise SystemExit(f"trial {trial}: an order was refused: {orders[0].reason}")
                await asyncio.sleep(0.002)
            await asyncio.sleep(rnd.uniform(0.01, 0.1))
            halted_at.clear()
            keys = [o.id for o in orders]
            pressed = time.perf_counter()
            await pilot.press("ctrl+k")
            deadline = time.monotonic() + 10
            while not (halted_at and all(k in cancelled for k in keys)):
                if time.monotonic() > deadline:
                    raise SystemExit(f"trial {trial}: no halt with every cancel within 10 s")
                await asyncio.sleep(0.0005)
            assert engine.trading_state is TradingState.HALTED
            latencies.append(max(halted_at[0], *(cancelled[k] for k in keys)) - pressed)
            await pilot.pause(0.03)
            engine.resume_trading("bench: re-arm")
        rate = (engine.counters["events"] - events0) / (time.perf_counter() - t0)
        await pilot.press("q")
        if app.screen.__class__.__name__ == "ConfirmQuitScreen":
            await pilot.press("y")
    return latencies, rate


async def _call(fn: Any) -> Any:
    return fn()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--speed", type=float, default=3000.0, help="sets the feed rate")
    parser.add_argument("--orders", type=int, default=5, help="open orders to cancel per trial")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("AVIN_HOME", tempfile.mkdtemp(prefix="avin-bench-"))
    latencies, rate = asyncio.run(run(args.trials, args.speed, args.orders, args.seed))
    ms = [v * 1000 for v in latencies]
    print(f"engine feed during the run: {rate:,.0f} events/s (speed {args.speed:g}x)")
    print(
        f"kill key -> HALTED + {args.orders} cancels issued: n={len(ms)} "
        f"p50 {statistics.median(ms):.2f} ms  p99 {percentile(ms, 99):.2f} ms  "
        f"max {max(ms):.2f} ms  (goal p99 < 50 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
