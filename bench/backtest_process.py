"""Whole-process backtest: ``python bench/backtest_process.py [--bars 1000000] [--runs 5]``.

What a user waits for: the command

    avin backtest sma_cross --data FILE.csv --param fast=10 --param slow=20 --commission 0 \\
        --trades-out T.csv

timed from outside as a process (start-up and imports, the CSV read, instrument set-up, the run,
the report, the trade list, the printed table and the saved report), on one-minute bars (a seeded
random walk, written once as CSV). Each run gets a fresh ``AVIN_HOME``; the figure is the median
of ``--runs`` runs, so one run that lands on a burst of other work on the machine does not decide
it.

The baseline is backtesting.py timed the same way: a process that imports pandas and
backtesting, reads the same CSV with ``pandas.read_csv``, and runs ``Backtest.run`` with the same
SMA cross (10/20 means of the closes, summed left to right as avin's sma_cross sums them, so the
floats and the trades are the same; one lot, always in the market), fills at the next bar's open
(``trade_on_close=False``), commission 0. backtesting.py is never a project
dependency: set ``AVIN_BENCH_BT_PYTHON`` to an interpreter that has it (or create
``/tmp/avin-bt-venv``)::

    python -m venv /tmp/avin-bt-venv && /tmp/avin-bt-venv/bin/pip install backtesting

Without it only avin's own times are printed, with a note that the baseline is missing. The two
processes alternate run by run (each pair under the same load) and the ratio is of the medians.
Each process's CPU seconds (user + system, from ``getrusage``) are printed too: on a machine
shared with other work the wall times swing with the load, the CPU seconds much less.

avin runs as a user's checkout runs it: with the compiled backtest core when ``make native`` has
built it (``make bench`` does; the phases say whether it was used), and with its modules as
bytecode (written here first, as pip writes it for an installed package such as backtesting).

avin's phases are timed too, in one more process that calls the same functions as the command
(imports, CSV read + instrument, the run, the report build, trade list, table, saved report).
``--smoke``: a tiny size, one run (``make bench-smoke``: only that it still runs).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
BT_PYTHON_DEFAULT = "/tmp/avin-bt-venv/bin/python"
FAST, SLOW = 10, 20

BT_SCRIPT = r"""
import sys, warnings
import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy
warnings.filterwarnings("ignore")
FAST, SLOW = int(sys.argv[2]), int(sys.argv[3])
df = pd.read_csv(sys.argv[1], parse_dates=["ts"], index_col="ts")
df.index = df.index.tz_localize(None)
df.columns = ["Open", "High", "Low", "Close", "Volume"]

def sma(values, n):  # window sums left to right, as avin's sma_cross adds them: same floats
    values = np.asarray(values, dtype=float)
    out = np.full(values.size, np.nan)
    if values.size >= n:
        total = np.zeros(values.size - n + 1)
        for k in range(n):
            total += values[k : values.size - n + 1 + k]
        out[n - 1 :] = total / n
    return out

class SmaCross(Strategy):
    def init(self):
        self.f = self.I(sma, self.data.Close, FAST, name="fast")
        self.s = self.I(sma, self.data.Close, SLOW, name="slow")
    def next(self):
        if len(self.f) < 2:
            return
        before = self.f[-2] - self.s[-2]
        now = self.f[-1] - self.s[-1]
        if before != before or now != now:
            return
        if before < 0 < now and not self.position.is_long:
            self.position.close(); self.buy(size=1)
        elif before > 0 > now and not self.position.is_short:
            self.position.close(); self.sell(size=1)

bt = Backtest(df, SmaCross, cash=1e12, commission=0.0, trade_on_close=False,
              exclusive_orders=False, finalize_trades=False)
stats = bt.run()
print(len(stats._trades))
"""

PHASES_SCRIPT = r"""
import sys, time
t0 = time.perf_counter()
import argparse, json, tempfile
from pathlib import Path
from engine import native
compiled = native.enable()  # as the command does, before the modules it replaces are imported
from avin_tui.cli import build_parser
from avin_tui.cli.backtest import _markets, parse_params, print_report, write_trades_csv
from engine.backtest import BacktestOptions
from engine.backtest import session
from engine.backtest.storage import save_report
from engine.config import load_settings
out = {"imports": time.perf_counter() - t0}
args = build_parser("backtest").parse_args(sys.argv[1:])
t = time.perf_counter()
markets, main_tf = _markets(args)
out["csv read + instrument"] = time.perf_counter() - t
options = BacktestOptions(  # as cmd_backtest builds them
    gaps=args.gaps, mode=args.mode, commission=args.commission, slippage_ticks=args.slippage,
    capital=args.capital, risk=load_settings(None, token_needed=False).risk)
built = {}
build = session.build_report
def timed_build(*a, **k):
    t = time.perf_counter()
    report = build(*a, **k)
    built["report build"] = time.perf_counter() - t
    return report
session.build_report = timed_build
t = time.perf_counter()
report = session.run_backtest(args.strategy, markets, params=parse_params(args.param),
                              timeframe=main_tf, options=options)
out["run"] = time.perf_counter() - t - built["report build"]
out.update(built)
t = time.perf_counter()
write_trades_csv(report.trades, args.trades_out)
out["trade list"] = time.perf_counter() - t
t = time.perf_counter()
import contextlib, io
with contextlib.redirect_stdout(io.StringIO()):
    print_report(report)
out["table"] = time.perf_counter() - t
t = time.perf_counter()
save_report(report)
out["saved report"] = time.perf_counter() - t
out["total (in process)"] = time.perf_counter() - t0
out["compiled core"] = compiled or "used"
print(json.dumps(out))
"""


def make_bars(n: int, seed: int = 7) -> pl.DataFrame:
    """A random walk on a 0.01 grid, one bar a minute (the bars of bench/backtest.py)."""
    rng = np.random.default_rng(seed)
    close = np.maximum(100, 10_000 + np.cumsum(rng.integers(-6, 7, n)))
    open_ = np.maximum(np.concatenate(([close[0]], close[:-1])) + rng.integers(-1, 2, n), 100)
    high = np.maximum(open_, close) + rng.integers(0, 4, n)
    low = np.minimum(open_, close) - rng.integers(0, 4, n)
    start = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000_000
    ts = start + np.arange(n, dtype=np.int64) * 60_000_000_000
    return pl.DataFrame(
        {
            "ts": pl.Series(ts).cast(pl.Datetime("ns", "UTC")).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "open": open_ / 100,
            "high": high / 100,
            "low": low / 100,
            "close": close / 100,
            "volume": rng.integers(1, 1000, n),
        }
    )


def avin_command() -> list[str]:
    script = Path(sys.executable).parent / "avin"
    return [str(script)] if script.exists() else [sys.executable, "-m", "avin_tui.cli"]


def avin_args(csv: Path, trades: Path) -> list[str]:
    return [
        "backtest",
        "sma_cross",
        "--data",
        str(csv),
        "--param",
        f"fast={FAST}",
        "--param",
        f"slow={SLOW}",
        "--commission",
        "0",
        "--trades-out",
        str(trades),
    ]


CPU = {"cpu": 0.0}  # CPU seconds (user + system) of the last process timed


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds of ``cmd`` as a process (and its CPU seconds in :data:`CPU`)."""
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - t0
    CPU["cpu"] = _children_cpu() - cpu0
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()[-600:]}")
    return elapsed, done.stdout


def run_avin(csv: Path, work: Path, i: int) -> tuple[float, float, int]:
    home = work / f"home{i}"
    trades = work / f"trades{i}.csv"
    env = {**os.environ, "AVIN_HOME": str(home), "PYTHONPATH": str(ROOT)}
    elapsed, _ = timed([*avin_command(), *avin_args(csv, trades)], env)
    cpu = CPU["cpu"]
    count = pl.read_csv(trades).height
    return elapsed, cpu, count


def run_bt(python: str, csv: Path) -> tuple[float, float, int]:
    elapsed, out = timed(
        [python, "-c", BT_SCRIPT, str(csv), str(FAST), str(SLOW)], dict(os.environ)
    )
    return elapsed, CPU["cpu"], int(out.strip().splitlines()[-1])


def phases(csv: Path, work: Path) -> dict[str, float | str]:
    env = {**os.environ, "AVIN_HOME": str(work / "phases"), "PYTHONPATH": str(ROOT)}
    args = avin_args(csv, work / "phase-trades.csv")
    _, out = timed([sys.executable, "-c", PHASES_SCRIPT, *args], env)
    return json.loads(out.strip().splitlines()[-1])


def _line(name: str, times: list[float], cpu: list[float], note: str) -> None:
    runs = " ".join(f"{t:.2f}" for t in times)
    spread = f"spread {min(times):.2f}-{max(times):.2f}"
    print(f"{name:<28} {median(times):8.2f} s  [{runs}]  {spread}  {note}")
    print(
        f"{'  CPU (user + system)':<28} {median(cpu):8.2f} s  [{' '.join(f'{c:.2f}' for c in cpu)}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny size, one run: only that it runs"
    )
    args = parser.parse_args()
    if args.smoke:  # make bench-smoke
        args.bars, args.runs = 2_000, 1
    python = os.environ.get("AVIN_BENCH_BT_PYTHON", BT_PYTHON_DEFAULT)
    have_bt = Path(python).exists()
    load = os.getloadavg()
    print(f"whole-process backtest, {args.bars:,} one-minute bars, median of {args.runs} runs")
    print(
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="avin-bench-process-") as tmp:
        work = Path(tmp)
        csv = work / "bars.csv"
        make_bars(args.bars).write_csv(csv)
        # avin's modules as bytecode, as pip leaves an installed package (pandas and backtesting
        # have theirs): where bytecode is not written (PYTHONDONTWRITEBYTECODE) each run would
        # compile every module anew
        for package in ("engine", "avin_tui"):
            compileall.compile_dir(ROOT / package, quiet=1, workers=0)
        for name, value in phases(csv, work).items():
            shown = f"{value:8.3f} s" if isinstance(value, float) else value
            print(f"  avin phase {name:<22} {shown}")
        avin_times, bt_times, avin_cpu, bt_cpu = [], [], [], []
        avin_count = bt_count = 0
        for i in range(args.runs):
            elapsed, cpu, avin_count = run_avin(csv, work, i)
            avin_times.append(elapsed)
            avin_cpu.append(cpu)
            if have_bt:
                elapsed, cpu, bt_count = run_bt(python, csv)
                bt_times.append(elapsed)
                bt_cpu.append(cpu)
        _line("avin backtest (process)", avin_times, avin_cpu, f"{avin_count} trades")
        if not have_bt:
            print(
                f"backtesting.py: baseline missing (no interpreter at {python}); set "
                "AVIN_BENCH_BT_PYTHON to a Python with backtesting installed"
            )
            return
        _line("backtesting.py (process)", bt_times, bt_cpu, f"{bt_count} trades")
        avin_s, bt_s = median(avin_times), median(bt_times)
        pairs = " ".join(f"{b / a:.2f}" for a, b in zip(avin_times, bt_times, strict=True))
        print(f"ratio backtesting.py / avin  {bt_s / avin_s:8.2f}x  (per pair: {pairs})")
        cpu_ratio = median(bt_cpu) / median(avin_cpu)
        print(f"ratio of CPU seconds         {cpu_ratio:8.2f}x  (what a busy machine takes away)")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
