"""Kill switch latency: key press to trading state HALTED, under a fast simulated feed, via Pilot.

The real Engine runs on SimBroker at a high speed (its own thread, as in ``avin run``) while the app
polls snapshots, diffs tables, tails the log and rebuilds the chart. Each trial presses ``ctrl+k``
at a random moment, records when ``engine.kill`` returned (the state is HALTED from then on),
then re-arms the engine (ACTIVE, strategies resumed) for the next trial.

Two paths are measured, alternating (both in this process, headless; ``bench/killswitch.py``
measures the key typed into a real terminal, tmux, and the cancels too):
- ``pilot``: ``pilot.press("ctrl+k")`` posts the key as a task on the UI loop; avin acts on it as
  the App receives it (``AvinApp.post_message``), before it joins the App's queue, so it waits
  only for UI work already running or due (the priority binding then shows the banner);
- ``input-thread``: the key handed to the terminal driver's ``process_message`` on another
  thread, as the real driver's input thread does; avin's driver acts on it there (fast path).

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
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def run(
    trials: int, speed: float, size: tuple[int, int], seed: int, verbose: bool = False
) -> dict[str, list[float]]:
    from textual import events
    from textual.drivers.headless_driver import HeadlessDriver

    from avin_tui.app import AvinApp
    from avin_tui.kill_switch import with_kill_fast_path
    from engine.config import Settings
    from engine.model.snapshot import TradingState
    from engine.runtime.launch import build_engine
    from engine.runtime.logbook import LogBook

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
    latencies: dict[str, list[float]] = {"pilot": [], "input-thread": []}
    async with app.run_test(size=size) as pilot:
        driver = with_kill_fast_path(HeadlessDriver)(app, debug=False, mouse=False, size=size)
        trigger = threading.Event()
        pressed_at: list[float] = []

        def input_thread() -> None:  # stands in for the terminal driver's reader thread
            while trigger.wait():
                trigger.clear()
                if not app.is_running:
                    return
                pressed_at.append(time.perf_counter())
                driver.process_message(events.Key("ctrl+k", None))

        threading.Thread(target=input_thread, daemon=True).start()
        deadline = time.monotonic() + 30
        while not (engine.running and engine.snapshot().instruments):
            if time.monotonic() > deadline:
                raise SystemExit("the engine did not start")
            await pilot.pause(0.05)
        await pilot.pause(1.0)  # let the panes fill and the chart build
        events0, t0 = engine.counters["events"], time.perf_counter()
        for trial in range(trials):
            await asyncio.sleep(rnd.uniform(0.02, 0.3))  # land at random points of the UI cycle
            halted_at.clear()
            pressed_at.clear()
            if trial % 2 == 0:
                mode = "pilot"
                pressed_at.append(time.perf_counter())
                await pilot.press("ctrl+k")
            else:
                mode = "input-thread"
                trigger.set()
            deadline = time.monotonic() + 10
            while not halted_at:
                if time.monotonic() > deadline:
                    raise SystemExit(f"trial {trial} ({mode}): no kill within 10 s")
                await asyncio.sleep(0.001)
            assert engine.snapshot().trading_state is TradingState.HALTED
            latencies[mode].append(halted_at[0] - pressed_at[0])
            if verbose:
                print(
                    f"trial {trial:4d} {mode:<12} {latencies[mode][-1] * 1000:8.2f} ms", flush=True
                )
            await pilot.pause(0.05)  # the key's binding runs too (banner) before re-arming
            engine.set_trading_state(TradingState.ACTIVE, "bench: re-arm")
            for row in engine.snapshot().strategies:
                engine.resume_strategy(row.id)
        rate = (engine.counters["events"] - events0) / (time.perf_counter() - t0)
        print(f"engine events during the run: {rate:,.0f}/s (speed {speed:g}x)")
        await pilot.press("q")
        if app.screen.__class__.__name__ == "ConfirmQuitScreen":
            await pilot.press("y")
        trigger.set()
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--speed", type=float, default=6000.0)
    parser.add_argument("--size", default="160x48")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every trial")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    args = parser.parse_args()
    if args.smoke:  # make bench-smoke
        args.trials = 3
    width, height = (int(v) for v in args.size.split("x"))
    os.environ.setdefault("AVIN_HOME", tempfile.mkdtemp(prefix="avin-bench-"))
    latencies = asyncio.run(run(args.trials, args.speed, (width, height), args.seed, args.verbose))
    print(f"kill switch, key press -> HALTED, at {args.size}:")
    for mode, values in latencies.items():
        ms = [v * 1000 for v in values]
        print(
            f"  {mode:<12} n={len(ms):<4} p50 {statistics.median(ms):7.2f} ms  "
            f"p90 {percentile(ms, 90):7.2f} ms  p99 {percentile(ms, 99):7.2f} ms  "
            f"max {max(ms):7.2f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
