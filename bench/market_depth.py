"""Order books and the tape: what they cost. ``python bench/market_depth.py [--minutes 520]``.

1. The simulated market replaying ``--minutes`` minutes of the six catalog instruments, alone,
   with the tape of all six (``engine.broker.sim.tape.Tape``, what the recorder needs), and with
   the tape plus a depth-10 book after every price tick of one instrument (the one the depth view
   watches) or of all six: the ratios are the cost on the replay.
2. The tick recorder: trades per second merged into the tick store (one flush of a whole
   session's trades, then a second flush of the same trades that adds nothing).

Every figure is the median of ``--runs`` runs in this process; ratios compare runs measured here,
so they do not depend on the machine's speed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from engine.broker.sim.market import SimMarket
from engine.broker.sim.tape import Tape, make_book
from engine.data.sim_catalog import SIM_INSTRUMENTS
from engine.data.ticks import TickStore
from engine.model import MarketTrade
from engine.runtime.market_feed import TickRecorder

START = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def _median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def replay(minutes: int, with_tape: bool, books: int = 0) -> list[MarketTrade]:
    market = SimMarket(SIM_INSTRUMENTS, seed=7, start=START)
    trades: list[MarketTrade] = []
    watched = {i.code for i in SIM_INSTRUMENTS[:books]}
    if with_tape:
        tape = Tape()

        def listen(ticks: list) -> None:  # type: ignore[type-arg]
            trades.extend(tape.on_ticks(ticks))
            for tick in ticks:
                if not tick.closed and tick.instrument.code in watched:
                    code = tick.instrument.code
                    make_book(
                        tick.instrument,
                        tick.price,
                        tick.ts,
                        10,
                        side=tape.last_side(code),
                        volume=tape.minute_volume(code),
                    )

        market.add_listener(listen)
    market.advance(minutes)
    return trades


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=520, help="simulated minutes (a session)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    args = parser.parse_args()
    if args.smoke:  # make bench-smoke
        args.minutes, args.runs = 30, 1

    plain = _median(lambda: replay(args.minutes, False), args.runs)
    tape = _median(lambda: replay(args.minutes, True), args.runs)
    one = _median(lambda: replay(args.minutes, True, 1), args.runs)
    six = _median(lambda: replay(args.minutes, True, len(SIM_INSTRUMENTS)), args.runs)
    trades = replay(args.minutes, True)
    print(f"replay of {args.minutes} minutes x {len(SIM_INSTRUMENTS)} instruments")
    print(f"  market alone:                  {plain * 1000:8.1f} ms")
    print(f"  with the tape:                 {tape * 1000:8.1f} ms  ({tape / plain:.2f}x)")
    print(f"  tape + 1 book after each tick: {one * 1000:8.1f} ms  ({one / plain:.2f}x)")
    print(f"  tape + 6 books after each tick:{six * 1000:8.1f} ms  ({six / plain:.2f}x)")
    print(f"  trades on the tape:            {len(trades):8d}")

    def record() -> tuple[float, float]:
        with tempfile.TemporaryDirectory() as folder:
            store = TickStore(Path(folder))
            recorder = TickRecorder(store, "bench", lambda code: "")
            for trade in trades:
                recorder.add(trade)
            t0 = time.perf_counter()
            recorder.flush()
            first = time.perf_counter() - t0
            for trade in trades:
                recorder.add(trade)
            t0 = time.perf_counter()
            recorder.flush()
            return first, time.perf_counter() - t0

    results = [record() for _ in range(args.runs)]
    first = statistics.median(r[0] for r in results)
    again = statistics.median(r[1] for r in results)
    print("tick recorder, one flush of the session's trades")
    print(f"  new trades:    {len(trades) / first:12,.0f} trades/s ({first * 1000:.1f} ms)")
    print(f"  already there: {len(trades) / again:12,.0f} trades/s ({again * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
