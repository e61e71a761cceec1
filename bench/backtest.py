"""Backtest benchmark: ``python bench/backtest.py [--bars 1000000]`` (a few minutes at 1M bars).

SMA cross (10/20) on synthetic 1-minute bars (a seeded random walk on a 0.01 grid, lot 1, no
commission): bars per second of

- the event-driven backtester (``engine.backtest.Backtester`` + the ``sma_cross`` strategy), in
  its default (sparse) mode, where the strategy's wake mask lets it visit only the bars where it
  may act or an order may fill, and bar by bar (``mode="bars"``), every bar through the engine,
- the sparse run again with the engine's pre-trade rules (``BacktestOptions(risk=RiskSettings())``,
  which refuse nothing here): what the rules cost per order,
- the vectorised rule path (``engine.backtest.vector.run_rule`` + ``sma_cross_rule``),
- a plain-Python reference loop (same rules, window sums) run in the same process,
- backtesting.py, when a Python with it is available (never a project dependency): set
  ``AVIN_BENCH_BT_PYTHON`` or create ``/tmp/avin-bt-venv``::

      python -m venv /tmp/avin-bt-venv && /tmp/avin-bt-venv/bin/pip install backtesting

  It runs in a subprocess on the same bars with the same SMA values (computed once by avin and
  handed over, so the comparison is of the engines: signal -> order -> fill -> trade), fills at the
  next bar's open (``trade_on_close=False``), commission 0. Without it the comparison is skipped
  with a note.

Every engine is timed ``--runs`` times (5) and reported by its median run, so one run that lands
on a burst of other work on the machine does not decide the figure; the bar-by-bar run (about
10 s) is timed once. backtesting.py stays up in its subprocess and its runs alternate with the
event-driven ones; the event-driven ratio is the median of those back-to-back pairs, each pair
timed under the same load.

Trade lists (entry bar, exit bar, side, entry and exit price) of every path are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from statistics import median
from typing import TypeVar

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.backtest import Backtester, BacktestOptions
from engine.backtest.vector import run_rule
from engine.config import RiskSettings
from engine.model import Instrument
from engine.strategy import build
from engine.strategy.rules import sma_cross_rule, window_mean

FAST, SLOW = 10, 20
INSTRUMENT = Instrument("BENCH", "BARS", "RW", "bench", "", "", 1, Decimal("0.01"))
BT_PYTHON_DEFAULT = "/tmp/avin-bt-venv/bin/python"
Trades = list[tuple[int, int, int, float, float]]  # entry bar, exit bar, side, entry, exit
T = TypeVar("T")

BT_SCRIPT = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd
from backtesting import Backtest, Strategy
warnings.filterwarnings("ignore")
d = np.load(sys.argv[1])
df = pd.DataFrame({"Open": d["open"], "High": d["high"], "Low": d["low"], "Close": d["close"],
                   "Volume": d["volume"]}, index=pd.to_datetime(d["ts"], utc=True).tz_localize(None))
FAST_V, SLOW_V = d["fast"], d["slow"]

class SmaCross(Strategy):
    def init(self):
        self.f = self.I(lambda: FAST_V, name="fast")
        self.s = self.I(lambda: SLOW_V, name="slow")
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
stats = None
print("ready", flush=True)
for line in sys.stdin:  # "run": one timed backtest, its seconds; "trades": the last run's trades
    if line.strip() == "run":
        t0 = time.perf_counter()
        stats = bt.run()
        print(time.perf_counter() - t0, flush=True)
    elif line.strip() == "trades":
        out = [[int(r.EntryBar), int(r.ExitBar), 1 if r.Size > 0 else -1, float(r.EntryPrice),
                float(r.ExitPrice)] for r in stats._trades.itertuples()]
        print(json.dumps(out), flush=True)
"""


def make_bars(n: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = np.maximum(100, 10_000 + np.cumsum(rng.integers(-6, 7, n)))
    open_ = np.concatenate(([close[0]], close[:-1])) + rng.integers(-1, 2, n)
    open_ = np.maximum(open_, 100)
    high = np.maximum(open_, close) + rng.integers(0, 4, n)
    low = np.minimum(open_, close) - rng.integers(0, 4, n)
    start = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000_000
    ts = start + np.arange(n, dtype=np.int64) * 60_000_000_000
    return pl.DataFrame(
        {
            "ts": pl.Series(ts).cast(pl.Datetime("ns", "UTC")),
            "open": open_ / 100,
            "high": high / 100,
            "low": low / 100,
            "close": close / 100,
            "volume": rng.integers(1, 1000, n),
        }
    )


def reference_loop(opens: list[float], closes: list[float]) -> Trades:
    """The same SMA cross in plain Python (window sums left to right), next-open fills."""
    n = len(closes)
    prev_diff: float | None = None
    position, entry_bar, entry_price = 0, -1, 0.0
    out: Trades = []
    for i in range(SLOW - 1, n):
        diff = sum(closes[i - FAST + 1 : i + 1]) / FAST - sum(closes[i - SLOW + 1 : i + 1]) / SLOW
        if prev_diff is not None and i + 1 < n:
            target = 1 if prev_diff < 0 < diff else -1 if prev_diff > 0 > diff else 0
            if target and target != position:
                price = opens[i + 1]
                if position:
                    out.append((entry_bar, i + 1, position, entry_price, price))
                position, entry_bar, entry_price = target, i + 1, price
        prev_diff = diff
    return out


def median_of(runs: int, timed: Callable[[], tuple[float, T]]) -> tuple[float, T]:
    """The median time of ``runs`` runs of ``timed`` (a short run on a noisy machine can land
    on a burst of other work; every engine is measured this way) and the last run's result."""
    times, result = [], None
    for _ in range(runs):
        elapsed, result = timed()
        times.append(elapsed)
    assert result is not None
    return sorted(times)[len(times) // 2], result


def event_driven(
    frame: pl.DataFrame, mode: str = "auto", risk: RiskSettings | None = None
) -> tuple[float, Trades]:
    strategy = build("sma_cross", {"fast": FAST, "slow": SLOW, "lots": 1})
    options = BacktestOptions(commission=Decimal(0), mode=mode, risk=risk)
    tester = Backtester(strategy, INSTRUMENT, options)
    t0 = time.perf_counter()
    result = tester.run(frame)
    elapsed = time.perf_counter() - t0
    ts = result.ts
    index = {int(v): i for i, v in enumerate(ts)}

    def bar(when: datetime) -> int:
        ns = int(when.timestamp()) * 1_000_000_000
        return index[ns]

    trades = [
        (
            bar(t.entry_ts),
            bar(t.exit_ts),  # type: ignore[arg-type]
            1 if t.side.value == "buy" else -1,
            float(t.entry_price),
            float(t.exit_price),  # type: ignore[arg-type]
        )
        for t in result.trades
    ]
    return elapsed, trades


def vectorised(frame: pl.DataFrame) -> tuple[float, Trades]:
    rule = sma_cross_rule(FAST, SLOW)
    run_rule(rule, frame.head(100), INSTRUMENT, commission=Decimal(0))  # compile the kernels
    t0 = time.perf_counter()
    result = run_rule(rule, frame, INSTRUMENT, commission=Decimal(0))
    elapsed = time.perf_counter() - t0
    bars, price = result.fill_bar, result.fill_price
    trades = [
        (int(bars[e]), int(bars[x]), int(s), float(price[e]), float(price[x]))
        for e, x, s in zip(result.trade_entry, result.trade_exit, result.trade_side, strict=True)
    ]
    return elapsed, trades


class BacktestingPy:
    """backtesting.py in a subprocess that runs the backtest whenever asked, so that its runs
    alternate with avin's and both are timed under the same load on the machine."""

    def __init__(self, python: str, frame: pl.DataFrame) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        data, script = Path(self._tmp.name, "bars.npz"), Path(self._tmp.name, "bt.py")
        closes = frame["close"].to_numpy()
        np.savez(
            data,
            ts=frame["ts"].cast(pl.Int64).to_numpy(),
            open=frame["open"].to_numpy(),
            high=frame["high"].to_numpy(),
            low=frame["low"].to_numpy(),
            close=closes,
            volume=frame["volume"].to_numpy(),
            fast=window_mean(closes, FAST),
            slow=window_mean(closes, SLOW),
        )
        script.write_text(BT_SCRIPT)
        self._proc = subprocess.Popen(
            [python, str(script), str(data)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._answer()  # "ready"

    def _answer(self) -> str:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            assert self._proc.stderr is not None
            raise RuntimeError(f"backtesting.py failed: {self._proc.stderr.read().strip()[-400:]}")
        return line

    def _ask(self, command: str) -> str:
        assert self._proc.stdin is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        return self._answer()

    def run(self) -> float:
        return float(self._ask("run"))

    def trades(self) -> Trades:
        return [
            (int(a), int(b), int(c), float(d), float(e))
            for a, b, c, d, e in json.loads(self._ask("trades"))
        ]

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=60)
        self._tmp.cleanup()


def start_backtesting_py(frame: pl.DataFrame) -> BacktestingPy | str:
    python = os.environ.get("AVIN_BENCH_BT_PYTHON", BT_PYTHON_DEFAULT)
    if not Path(python).exists():
        return f"backtesting.py skipped: no interpreter at {python} (see the module doc)"
    try:
        return BacktestingPy(python, frame)
    except RuntimeError as exc:
        return str(exc)


def compare(name: str, trades: Trades, reference: Trades) -> str:
    if trades == reference:
        return f"{name}: {len(trades)} trades, identical"
    first = next(
        (i for i, (a, b) in enumerate(zip(trades, reference, strict=False)) if a != b),
        min(len(trades), len(reference)),
    )
    return (
        f"{name}: {len(trades)} trades vs {len(reference)}: DIFFER from trade {first} "
        f"({trades[first : first + 1]} vs {reference[first : first + 1]})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per engine (median)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    args = parser.parse_args()
    if args.smoke:  # make bench-smoke
        args.bars, args.runs = 20_000, 1
    n, runs = args.bars, args.runs
    frame = make_bars(n)
    print(
        f"SMA cross {FAST}/{SLOW} on {n:,} synthetic 1-minute bars, no commission; "
        f"median of {runs} runs (every bar: 1 run)"
    )
    opens, closes = frame["open"].to_list(), frame["close"].to_list()

    def timed_reference() -> tuple[float, Trades]:
        t0 = time.perf_counter()
        trades = reference_loop(opens, closes)
        return time.perf_counter() - t0, trades

    t_ref, ref = median_of(runs, timed_reference)
    t_vec, vec = median_of(runs, lambda: vectorised(frame))
    t_bars, bars_trades = event_driven(frame, "bars")
    bt = start_backtesting_py(frame)
    evt_times, bt_times = [], []
    for _ in range(runs):  # avin and backtesting.py in turn: each pair sees the same machine
        elapsed, evt = event_driven(frame)
        evt_times.append(elapsed)
        if not isinstance(bt, str):
            bt_times.append(bt.run())
    t_evt = median(evt_times)
    t_risk, risk_trades = median_of(runs, lambda: event_driven(frame, risk=RiskSettings()))
    rows = [("plain-Python reference loop", t_ref), ("avin vectorised", t_vec)]
    rows.append(("avin event-driven (sparse)", t_evt))
    rows.append(("  + the pre-trade rules", t_risk))
    rows.append(("avin event-driven, every bar", t_bars))
    if not isinstance(bt, str):
        rows.append(("backtesting.py", median(bt_times)))
    for name, elapsed in rows:
        print(f"  {name:<30} {elapsed:8.2f} s  {n / elapsed:>14,.0f} bars/s")
    print(compare("event-driven vs reference", evt, ref))
    print(compare("every bar vs sparse", bars_trades, evt))
    print(compare("sparse with the pre-trade rules vs without", risk_trades, evt))
    print(f"the pre-trade rules (default [risk]): the sparse run {t_risk / t_evt:.2f}x as long")
    print(compare("vectorised vs event-driven", vec, evt))
    if isinstance(bt, str):
        print(bt)
        print(
            f"ratios vs the reference loop: event-driven {t_ref / t_evt:.2f}x "
            f"(every bar {t_ref / t_bars:.2f}x), vectorised {t_ref / t_vec:.1f}x"
        )
        return
    bt_trades = bt.trades()
    bt.close()
    t_bt = median(bt_times)
    print(compare("backtesting.py vs event-driven", bt_trades, evt))
    print(
        "runs in turn (s): event-driven "
        + " ".join(f"{t:.2f}" for t in evt_times)
        + " | backtesting.py "
        + " ".join(f"{t:.2f}" for t in bt_times)
    )
    pairs = median([b / e for e, b in zip(evt_times, bt_times, strict=True)])
    print(
        f"ratios vs backtesting.py: event-driven {pairs:.2f}x (median of the pairs; goal 5x; "
        f"every bar {t_bt / t_bars:.2f}x), vectorised {t_bt / t_vec:.1f}x (goal 100x); "
        f"reference loop {t_bt / t_ref:.2f}x"
    )


if __name__ == "__main__":
    main()
