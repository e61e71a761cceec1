"""Simulated broker candles: ``python bench/sim_candles.py [--runs 5]``.

Times ``SimBroker.candles`` for a year of daily candles (the request the chart makes when it opens
a daily view) against a month of them, measured in the same process: the ratio says whether the
cost grows with the span (about 12x) or worse. Prints the median of ``--runs`` runs each.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

from engine.broker.sim import SIM_INSTRUMENTS, SimBroker
from engine.model import TimeFrame

END = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def _median_seconds(days: int, runs: int) -> tuple[float, int]:
    sber = next(i for i in SIM_INSTRUMENTS if i.ticker == "SBER")
    times: list[float] = []
    count = 0
    for _ in range(runs):
        broker = SimBroker(seed=7, start=END, realtime=False)  # a cold cache each run
        began = time.perf_counter()
        bars = asyncio.run(broker.candles(sber, TimeFrame.D, END - timedelta(days=days), END))
        times.append(time.perf_counter() - began)
        count = len(bars)
    return statistics.median(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    args = parser.parse_args()
    if args.smoke:  # make bench-smoke
        args.runs = 1
    month, month_bars = _median_seconds(31, args.runs)
    year, year_bars = _median_seconds(365, args.runs)
    print(f"a month of daily candles: {month_bars} bars in {month * 1000:.1f} ms (median)")
    print(f"a year of daily candles:  {year_bars} bars in {year * 1000:.1f} ms (median)")
    print(f"year / month: {year / month:.1f}x for {year_bars / max(1, month_bars):.1f}x the bars")


if __name__ == "__main__":
    main()
