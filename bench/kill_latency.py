"""Kill switch latency: key press to trading state HALTED, under a fast simulated feed, via Pilot.

The real Engine runs on SimBroker at a high speed (its own thread, as in ``avin run``) while the app
polls snapshots, diffs tables, tails the log and rebuilds the chart. Each trial presses ``ctrl+k``
at a random moment, records when ``engine.kill`` returned (the state is HALTED from then on),
then re-arms the engine (ACTIVE, strategies resumed) for the next trial.

    .venv/bin/python bench/kill_latency.py [--trials 200] [--speed 6000] [--size 160x48]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def run(trials: int, speed: float, size: tuple[int, int], seed: int) -> list[float]:
    from avin_tui.app import AvinApp
    from engine.config import Settings
    from engine.runtime.factory import build_engine
    from engine.runtime.logbook import LogBook
    from engine.runtime.snapshot import TradingState

    book = LogBook()
    logger = logging.getLogger("avin")
    logger.addHandler(book)
    logger.setLevel(logging.INFO)
    engine = build_engine(Settings(), speed=speed, seed=seed, logbook=book, persist=False)
    halted_at: list[float] = []
    real_kill = engine.kill

    def timed_kill(reason: str = "manual") -> None:
        real_kill(reason)
        halted_at.append(time.perf_counter())

    engine.kill = timed_kill  # type: ignore[method-assign]
    app = AvinApp(engine, poll_interval=0.25)
    rnd = random.Random(seed)
    latencies: list[float] = []
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + 30
        while not (engine.running and engine.snapshot().instruments):
            if time.monotonic() > deadline:
                raise SystemExit("the engine did not start")
            await pilot.pause(0.05)
        await pilot.pause(1.0)  # let the panes fill and the chart build
        events0, t0 = engine.counters["events"], time.perf_counter()
        for _ in range(trials):
            await asyncio.sleep(rnd.uniform(0.02, 0.3))  # land at random points of the UI cycle
            halted_at.clear()
            pressed = time.perf_counter()
            await pilot.press("ctrl+k")
            while not halted_at:
                await asyncio.sleep(0.001)
            assert engine.snapshot().trading_state is TradingState.HALTED
            latencies.append(halted_at[0] - pressed)
            engine.set_trading_state(TradingState.ACTIVE, "bench: re-arm")
            for row in engine.snapshot().strategies:
                engine.resume_strategy(row.id)
        rate = (engine.counters["events"] - events0) / (time.perf_counter() - t0)
        print(f"engine events during the run: {rate:,.0f}/s (speed {speed:g}x)")
        await pilot.press("q")
        if app.screen.__class__.__name__ == "ConfirmQuitScreen":
            await pilot.press("y")
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--speed", type=float, default=6000.0)
    parser.add_argument("--size", default="160x48")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    os.environ.setdefault("AVIN_HOME", tempfile.mkdtemp(prefix="avin-bench-"))
    latencies = asyncio.run(run(args.trials, args.speed, (width, height), args.seed))
    ms = [v * 1000 for v in latencies]
    print(f"kill switch, key press -> HALTED, {len(ms)} trials at {args.size}:")
    print(
        f"  p50 {statistics.median(ms):.2f} ms   p90 {percentile(ms, 90):.2f} ms   "
        f"p99 {percentile(ms, 99):.2f} ms   max {max(ms):.2f} ms   mean {statistics.mean(ms):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
