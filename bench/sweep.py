"""Sweep benchmark: ``python bench/sweep.py [--bars 1000000] [--combos 100]`` (minutes at 1M bars).

``sma_cross`` over a grid of ``fast`` x ``slow`` (10 x 10 = 100 combinations by default) on
synthetic 1-minute bars (the seeded random walk of bench/backtest.py, no commission): combinations
per second of

- serial avin: ``SweepJob.run`` one combination after the other in this process, timed over the
  first ``--serial`` combinations (10 by default: a throughput, not the whole grid),
- the local pool: ``engine.backtest.sweep.sweep`` over every combination on ``--workers``
  processes (default every core), the spawning of the workers and the sharing of the bars
  included, as ``avin backtest --grid`` pays them,
- the vectorised sweep: ``sma_cross_rule`` (the same strategy written as a rule; its rows are
  checked equal to the pool's ``sma_cross`` rows) through ``engine.backtest.vector_sweep``, in
  this process, as ``avin backtest sma_cross_rule --grid ... --no-risk`` runs it (the first call
  compiles its numba kernels: timed after a 2-combination run on a small frame),
- vectorbt on the same grid when a Python with it is available (never a project dependency):
  this one, ``AVIN_BENCH_VBT_PYTHON``, or ``/tmp/avin-vbt-venv`` (``python -m venv
  /tmp/avin-vbt-venv && /tmp/avin-vbt-venv/bin/pip install vectorbt``). Its SMA and
  ``Portfolio.from_signals`` broadcast over the combinations in a subprocess, timed after a small
  run that compiles its numba code; its fills are at the signal bar's close, so it is a
  throughput reference only. Without it a note says so.

avin runs with the compiled backtest core when ``make native`` has built it, as ``avin backtest
--grid`` does (the first line says whether it did). The rows of the pool are checked equal to the
serial ones. The ratio pool/serial is printed; on a
machine shared with other work it is at most the number of idle cores.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import native

# as `avin backtest --grid` runs (its workers too): the compiled core when `make native` built it
NOT_COMPILED = native.enable()

# (imported after it: bench/backtest.py gives the same synthetic bars)
from backtest import INSTRUMENT, make_bars  # noqa: E402

from engine.backtest import BacktestOptions  # noqa: E402
from engine.backtest.session import Market  # noqa: E402
from engine.backtest.sweep import SweepJob, combinations, sweep  # noqa: E402
from engine.backtest.vector_sweep import vector_pool  # noqa: E402


def grid(combos: int) -> dict[str, list[int]]:
    """About ``combos`` combinations: fast 5, 6, ... by slow 20, 25, ... (square-ish)."""
    side = max(1, round(combos**0.5))
    return {"fast": list(range(5, 5 + side)), "slow": list(range(20, 20 + 5 * side, 5))}


VBT_PYTHON_DEFAULT = "/tmp/avin-vbt-venv/bin/python"
VBT_SCRIPT = r"""
import json, sys, time
import numpy as np, pandas as pd, vectorbt as vbt
d = np.load(sys.argv[1])
fasts, slows = [int(v) for v in d["fast"]], [int(v) for v in d["slow"]]

def run(close):
    price = pd.Series(close)
    fast = vbt.MA.run(price, window=fasts).ma.to_numpy()
    slow = vbt.MA.run(price, window=slows).ma.to_numpy()
    above, below = fast > slow, fast < slow
    first = np.zeros((1, len(fasts)), bool)
    up = above & np.vstack([first, below[:-1]])
    down = below & np.vstack([first, above[:-1]])
    pf = vbt.Portfolio.from_signals(price, entries=up, exits=down, short_entries=down,
                                    short_exits=up, fees=0.0, freq="1min")
    return pf.trades.count().to_numpy()

run(d["close"][:2000])  # numba compiles here, not in the timed run
started = time.perf_counter()
trades = run(d["close"])
print(json.dumps({"seconds": time.perf_counter() - started, "trades": trades.tolist()}))
"""


def vectorbt_python() -> str | None:
    """A Python with vectorbt: this one, ``AVIN_BENCH_VBT_PYTHON``, or ``/tmp/avin-vbt-venv``."""
    if importlib.util.find_spec("vectorbt") is not None:
        return sys.executable
    python = os.environ.get("AVIN_BENCH_VBT_PYTHON", VBT_PYTHON_DEFAULT)
    return python if Path(python).exists() else None


def vectorbt_rate(close: np.ndarray, combos: list[dict[str, int]], avin_trades: int) -> str:
    """vectorbt's SMA cross over the same grid, broadcast (its fills are at the signal bar's
    close, not the next open: a throughput reference, its profits differ)."""
    python = vectorbt_python()
    if python is None:
        return (
            "vectorbt: skipped, not importable (python -m venv /tmp/avin-vbt-venv && "
            "/tmp/avin-vbt-venv/bin/pip install vectorbt, or set AVIN_BENCH_VBT_PYTHON)"
        )
    with tempfile.TemporaryDirectory(prefix="avin-bench-vbt-") as folder:
        data = Path(folder) / "close.npz"
        fast = np.array([c["fast"] for c in combos])
        slow = np.array([c["slow"] for c in combos])
        np.savez(data, close=close, fast=fast, slow=slow)
        done = subprocess.run(
            [python, "-c", VBT_SCRIPT, str(data)], capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        return f"vectorbt: failed ({done.stderr.strip().splitlines()[-1:]})"
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    took = answer["seconds"]
    return (
        f"vectorbt:    {len(combos) / took:8.2f} combinations/s ({took:.1f} s, after its JIT; "
        f"trades of the first combination: vectorbt {answer['trades'][0]}, avin {avin_trades})"
    )


def vectorised(frame: Any, combos: list[dict[str, int]], rows: list[dict[str, Any]]) -> float:
    """Combinations per second of the vectorised sweep of ``sma_cross_rule`` (rows checked)."""
    options = BacktestOptions(commission=0)
    warm = SweepJob("sma_cross_rule", (Market(INSTRUMENT, frame.head(200)),), options=options)
    list(sweep(warm, combos[:2], pool=vector_pool(warm, combos[:2])))  # compile the kernels
    job = SweepJob("sma_cross_rule", (Market(INSTRUMENT, frame),), options=options)
    started = time.perf_counter()
    got = list(sweep(job, combos, pool=vector_pool(job, combos)))
    took = time.perf_counter() - started
    rate = len(combos) / took
    print(f"vectorised:  {rate:8.2f} combinations/s ({len(combos)} in {took:.1f} s)")
    if got != rows:
        raise SystemExit("the vectorised rows differ from the pool's")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--combos", type=int, default=100, help="about this many combinations")
    parser.add_argument("--serial", type=int, default=10, help="combinations timed serially")
    parser.add_argument("--workers", type=int, default=None, help="pool size (every core)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    args = parser.parse_args()
    if args.smoke:  # make bench-smoke
        args.bars, args.combos, args.serial, args.workers = 5_000, 4, 2, 2
    frame = make_bars(args.bars)
    job = SweepJob("sma_cross", (Market(INSTRUMENT, frame),), options=BacktestOptions(commission=0))
    combos = combinations(grid(args.combos))
    sample = combos[: max(1, min(args.serial, len(combos)))]
    workers = min(args.workers or os.cpu_count() or 1, len(combos))
    print(
        f"sma_cross sweep: {len(combos)} combinations on {args.bars:,} synthetic 1-minute bars, "
        f"{workers} workers, {os.cpu_count()} cores"
    )
    print(f"compiled core: {'used' if NOT_COMPILED is None else 'not used: ' + NOT_COMPILED}")

    started = time.perf_counter()
    serial = [job.run(c) for c in sample]
    serial_took = time.perf_counter() - started
    serial_rate = len(sample) / serial_took
    print(f"serial avin: {serial_rate:8.2f} combinations/s ({len(sample)} in {serial_took:.1f} s)")

    started = time.perf_counter()
    rows = list(sweep(job, combos, workers=workers))
    pool_took = time.perf_counter() - started
    pool_rate = len(combos) / pool_took
    print(f"local pool:  {pool_rate:8.2f} combinations/s ({len(combos)} in {pool_took:.1f} s)")
    if rows[: len(serial)] != serial:
        raise SystemExit("the pool's rows differ from the serial ones")
    print(f"pool / serial: {pool_rate / serial_rate:.2f}x (rows equal)")
    vector_rate = vectorised(frame, combos, rows)
    print(f"vectorised / pool: {vector_rate / pool_rate:.1f}x (rows equal)")
    print(vectorbt_rate(frame["close"].to_numpy(), combos, rows[0]["trades"]))


if __name__ == "__main__":
    main()
