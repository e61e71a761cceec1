"""Benchmark: load one instrument-year of 1-minute bars and derive every timeframe.

Prints the time of ``load_timeframes`` (read the year file, derive 5M..M) against a bare
``polars.scan_parquet(file).collect()`` of the same file measured in the same run (goal ratio
<= 2), single-timeframe ``load_bars`` times, and the warm (in-process cached) load. Each timing
is the median of 21 runs (the scan and the full load interleaved, so load elsewhere on the machine
hits both alike); the in-process file cache is cleared before every cold run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

RUNS = 21
DAYS = 250
CODE = "MOEX_SHARE_SBER"


def median_time(
    action: Callable[[], object], before: Callable[[], None] | None = None, runs: int = 0
) -> float:
    samples = []
    for _ in range(runs or RUNS):
        if before is not None:
            before()
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    global DAYS, RUNS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    if parser.parse_args().smoke:  # make bench-smoke
        DAYS, RUNS = 10, 3
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AVIN_HOME"] = tmp
        from engine.data.loading import clear_cache, load_bars, load_timeframes
        from engine.data.store import BarStore
        from engine.data.synthetic import minute_bars, trading_days
        from engine.model import TimeFrame

        store = BarStore()
        bars = minute_bars(trading_days(2023, DAYS), seed=1)
        store.merge(CODE, "sim-sber-0001", bars, "bench")
        path = store.year_path(CODE, 2023)
        begin, end = datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)

        def load_all() -> object:
            return load_timeframes(CODE, None, begin, end)

        load_all()  # warm up imports
        scans, colds = [], []
        for _ in range(RUNS):  # interleaved, so load elsewhere on the machine hits both alike
            scans.append(median_time(lambda: pl.scan_parquet(path).collect(), runs=1))
            colds.append(median_time(load_all, clear_cache, runs=1))
        scan, cold = statistics.median(scans), statistics.median(colds)
        warm = median_time(load_all)
        print(f"one instrument-year: {bars.height:,} 1-minute bars, {path.stat().st_size:,} bytes")
        print(f"bare polars scan_parquet().collect(): {scan * 1000:.1f} ms")
        print(
            f"load + derive all 9 timeframes:       {cold * 1000:.1f} ms  "
            f"ratio {cold / scan:.2f} (goal <= 2)"
        )
        print(
            f"same, file already in the LRU cache:  {warm * 1000:.1f} ms  ratio {warm / scan:.2f}"
        )
        for tf in (TimeFrame.M1, TimeFrame.M5, TimeFrame.H1, TimeFrame.D):
            one = median_time(lambda tf=tf: load_bars(CODE, tf, begin, end), clear_cache)
            print(f"load_bars {tf.code:>3} (cold): {one * 1000:.1f} ms  ratio {one / scan:.2f}")


if __name__ == "__main__":
    main()
