"""Scale: strategy rows x instruments on the simulated market, as ``avin run`` trades it.

    .venv/bin/python bench/scale.py [--rows 6,60,180,600] [--speed 1500] [--seconds 15] [--smoke]

Each size runs in a fresh process (so its peak memory is its own): the real Engine on a SimBroker
replaying in real time at ``--speed`` simulated seconds per second, ``rows / 6`` parameter sets of
``sma_cross`` on each of the six simulated shares (one account with 100 million RUB, the default
risk limits), for ``--seconds`` after start-up (history loaded, strategies started). Printed per
size:

- events/s: broker events the engine took per wall second;
- speed: the simulated seconds the market actually replayed per wall second (the market replays
  slower than ``--speed`` when the loop it shares with the engine is busy: then the engine does
  not keep up);
- lag p50/p99/max: wall time from the moment the broker put a 1-minute bar close on its queue to
  the moment a strategy's ``on_bar`` hook starts for it (every hook call counted: the 30th row on
  an instrument waits for the 29 before it);
- cpu: the process's CPU time per wall second (when the market falls behind or the lag grows
  while this is well under 100%, other work on the machine had the CPU: not the engine's cost);
- peak RSS of the process (``ru_maxrss``), MB;
- the ratios of events/s and lag p99 against the smallest size, measured in the same run.

The goal (#21): 180 rows at 2,000 events/s with lag p99 under 50 ms. ``--smoke`` runs the
smallest size for 2 s (make bench-smoke).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)  # a Monday, main-session open
SHARES = ("SBER", "GAZP", "LKOH", "ROSN", "GMKN", "YDEX")
GOAL_ROWS, GOAL_EVENTS, GOAL_LAG = 180, 2000.0, 0.050

_current: list[float | None] = [None]  # when the event being handled was queued (perf_counter)
_lags: list[float] = []


def _params(i: int) -> dict[str, int]:
    """The i-th distinct (fast, slow) pair of a row."""
    fast = 2 + i % 15
    return {"fast": fast, "slow": fast + 3 + 2 * (i // 15), "lots": 1}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def _measure(rows: int, speed: float, seconds: float, seed: int) -> dict[str, Any]:
    from engine.broker.sim import SimBroker
    from engine.broker.sim.market import CLOSE_SLOT
    from engine.config import RiskSettings
    from engine.runtime.engine import Engine, EngineOptions
    from engine.runtime.worklist import StrategySpec
    from engine.strategy import register
    from engine.strategy.examples.sma_cross import SmaCross

    class Probe(SmaCross):
        """``sma_cross`` that notes how long its bar waited since the broker queued it."""

        name = "scale_sma_cross"

        def on_bar(self, ctx: Any, timeframe: Any, bar: Any) -> None:
            queued = _current[0]
            if queued is not None:
                _lags.append(time.perf_counter() - queued)
            super().on_bar(ctx, timeframe, bar)

    register(Probe)
    per_share = max(1, rows // len(SHARES))
    specs = [
        StrategySpec("scale_sma_cross", share, params=_params(i))
        for share in SHARES
        for i in range(per_share)
    ]
    # cash for every row (the default million runs out at 600 rows: the broker refuses, halts)
    broker = SimBroker(seed=seed, speed=speed, start=START, cash=Decimal(100_000_000))
    engine = Engine(broker, specs, EngineOptions(history_days=1), risk=RiskSettings())

    queued: dict[int, float] = {}
    put = broker._queue.put_nowait

    def stamped_put(event: Any) -> None:
        if getattr(event, "closed", False):  # a 1-minute bar's close: the event strategies see
            queued[id(event)] = time.perf_counter()
        put(event)

    handle = engine.kernel.handle

    def timed_handle(event: Any) -> None:
        _current[0] = queued.pop(id(event), None)
        try:
            handle(event)
        finally:
            _current[0] = None

    steps = [0]
    step = broker.market.step

    def counted_step() -> Any:
        steps[0] += 1
        return step()

    broker._queue.put_nowait = stamped_put  # type: ignore[method-assign]
    engine.kernel.handle = timed_handle  # type: ignore[method-assign]
    broker.market.step = counted_step  # type: ignore[method-assign]

    task = asyncio.create_task(engine.run())
    deadline = time.monotonic() + 120
    while not engine.started:
        if task.done():
            task.result()
            raise SystemExit("the engine stopped before it started")
        if time.monotonic() > deadline:
            raise SystemExit("the engine did not start within 120 s")
        await asyncio.sleep(0.01)
    _lags.clear()
    events0, steps0, began = engine.counters["events"], steps[0], time.perf_counter()
    cpu0 = time.process_time()
    await asyncio.sleep(seconds)
    wall = time.perf_counter() - began
    cpu = time.process_time() - cpu0
    events, replayed = engine.counters["events"] - events0, steps[0] - steps0
    lags = list(_lags)
    engine.request_stop()
    await asyncio.wait_for(task, 60)
    slots = CLOSE_SLOT + 1  # a simulated minute: its price slots and the close
    return {
        "rows": len(specs),
        "speed": speed,
        "seconds": round(wall, 2),
        "events_per_s": events / wall,
        "replayed_speed": replayed * 60 / slots / wall,
        "cpu": cpu / wall,
        "hooks": len(lags),
        "lag_p50": percentile(lags, 50) if lags else None,
        "lag_p99": percentile(lags, 99) if lags else None,
        "lag_max": max(lags) if lags else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "orders_sent": engine.counters["orders_sent"],
        "refused": dict(engine.risk.gate.rejections),
        "trading": engine.trading_state.value,
        "halt_reason": engine.halt_reason,
    }


def _one(rows: int, speed: float, seconds: float, seed: int) -> dict[str, Any]:
    """One size in a fresh process: its peak memory is its own."""
    command = [
        sys.executable,
        __file__,
        "--one",
        str(rows),
        "--speed",
        str(speed),
        "--seconds",
        str(seconds),
        "--seed",
        str(seed),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"{rows} rows failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="6,60,180,600", help="sizes, comma separated")
    parser.add_argument("--speed", type=float, default=1500.0, help="simulated s per wall s")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured per size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="the smallest size, briefly")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: one size, JSON
    args = parser.parse_args()
    logging.getLogger("avin").setLevel(logging.WARNING)
    logging.getLogger("avin").addHandler(logging.NullHandler())  # refusals: counted below
    if args.one is not None:
        result = asyncio.run(_measure(args.one, args.speed, args.seconds, args.seed))
        print(json.dumps(result))
        return
    sizes = [int(size) for size in args.rows.split(",")]
    seconds = args.seconds
    if args.smoke:  # make bench-smoke
        sizes, seconds = sizes[:1], 2.0
    print(
        f"sma_cross rows on {len(SHARES)} simulated shares, --speed {args.speed:g}, {seconds:g} s"
    )
    print(
        f"{'rows':>5} {'events/s':>9} {'speed':>7} {'hooks':>7} {'lag p50':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'cpu':>5} {'RSS MB':>7} {'ev/s x':>7} {'p99 x':>7}  orders, refusals, state"
    )
    base: dict[str, Any] | None = None
    results = []
    for rows in sizes:
        r = _one(rows, args.speed, seconds, args.seed)
        results.append(r)
        base = base or r
        ev_ratio = r["events_per_s"] / base["events_per_s"] if base["events_per_s"] else 0.0
        lag_ratio = (
            r["lag_p99"] / base["lag_p99"] if r["lag_p99"] and base["lag_p99"] else float("nan")
        )
        print(
            f"{r['rows']:>5} {r['events_per_s']:>9.0f} {r['replayed_speed']:>7.0f} "
            f"{r['hooks']:>7} {_ms(r['lag_p50'])} {_ms(r['lag_p99'])} {_ms(r['lag_max'])} {r['cpu']:>5.0%} "
            f"{r['peak_rss_mb']:>7.0f} {ev_ratio:>7.2f} {lag_ratio:>7.2f}  "
            f"{r['orders_sent']}, {r['refused'] or '-'}, {r['trading']} {r['halt_reason']}",
            flush=True,
        )
    goal = next((r for r in results if r["rows"] == GOAL_ROWS), None)
    if goal is not None:
        met = (
            goal["events_per_s"] >= GOAL_EVENTS
            and goal["lag_p99"] is not None
            and goal["lag_p99"] < GOAL_LAG
        )
        print(
            f"goal: {GOAL_ROWS} rows at >= {GOAL_EVENTS:,.0f} events/s with lag p99 < "
            f"{GOAL_LAG * 1000:.0f} ms: {'met' if met else 'NOT met'} "
            f"({goal['events_per_s']:,.0f} events/s, p99 {_ms(goal['lag_p99']).strip()} ms)"
        )


if __name__ == "__main__":
    main()
