"""ZigZag benchmark: ``python bench/zigzag.py`` (about 30 s).

Measures the threshold ZigZag and T1..T5 batch over 5 million points against a same-process floor
(``np.maximum.accumulate`` over the same array), and the incremental update of all five terms in
microseconds per bar.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.analysis._jit import HAVE_NUMBA
from engine.analysis.incremental import TermsZigZag
from engine.analysis.threshold import ThresholdSpec, threshold_arrays
from engine.analysis.zigzag import terms_arrays

N = 5_000_000
N_INCREMENTAL = 200_000


def best_of(func, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    global N, N_INCREMENTAL
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    if parser.parse_args().smoke:  # make bench-smoke
        N, N_INCREMENTAL = 20_000, 2_000
    rng = np.random.default_rng(42)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, N)))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0.0, 0.0005, N)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    print(f"numba: {'yes' if HAVE_NUMBA else 'no (pure Python: expect very slow numbers)'}")

    floor_s = best_of(lambda: np.maximum.accumulate(close))
    print(f"floor  np.maximum.accumulate: {N / floor_s / 1e6:8.1f} M points/s")

    spec = ThresholdSpec(0.01)
    threshold_arrays(spec, high[:1000], low[:1000], close[:1000])  # compile
    thr_s = best_of(lambda: threshold_arrays(spec, high, low, close))
    npiv = threshold_arrays(spec, high, low, close).idx.shape[0]
    rate = N / thr_s / 1e6
    goal = "ok" if rate >= 30 else "BELOW GOAL 30"
    print(
        f"threshold 1% close batch:     {rate:8.1f} M points/s  ({floor_s / thr_s:.2f}x floor, "
        f"{npiv} pivots) [{goal}]"
    )

    terms_arrays(open_[:1000], high[:1000], low[:1000], close[:1000])  # compile
    t_s = best_of(lambda: terms_arrays(open_, high, low, close))
    counts = [a.idx.shape[0] for a in terms_arrays(open_, high, low, close)]
    print(
        f"T1..T5 batch:                 {N / t_s / 1e6:8.1f} M bars/s    ({floor_s / t_s:.2f}x "
        f"floor, pivots per term {counts})"
    )

    ts = datetime(2024, 1, 1, tzinfo=UTC)
    rows = list(
        zip(
            open_[:N_INCREMENTAL].tolist(),
            high[:N_INCREMENTAL].tolist(),
            low[:N_INCREMENTAL].tolist(),
            close[:N_INCREMENTAL].tolist(),
            strict=True,
        )
    )

    def incremental() -> None:
        zz = TermsZigZag(5)
        update = zz.update_values
        for o, h, lo, c in rows:
            update(ts, o, h, lo, c)

    inc_s = best_of(incremental)
    us = inc_s / N_INCREMENTAL * 1e6
    goal = "ok" if us <= 5 else "ABOVE GOAL 5 us"
    print(f"incremental T1..T5 update:    {us:8.2f} us/bar [{goal}]")


if __name__ == "__main__":
    main()
