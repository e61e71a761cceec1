"""``avin backtest STRATEGY --grid ... --walk-forward TRAIN:TEST``: out-of-sample optimisation.

Example::

    avin backtest sma_cross --data bars.csv --grid fast=5:20:5 --grid slow=30,50 \\
        --walk-forward 6M:1M --metric sharpe --out wf.csv --equity-out wf-equity.csv

One CSV row per window: ``window, train_from, train_to, test_from, test_to``, the chosen
parameters, ``in_sample_<metric>`` (the chosen combination's training score), then the test
window's ``trades, net_pnl, max_drawdown, sharpe, win_rate``. A last row ``stitched`` has the
metrics of all test windows end to end. Rows are written as windows finish; Ctrl-C keeps them.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.backtest.sweep import SweepJob


def register_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--walk-forward",
        metavar="TRAIN:TEST",
        help="with --grid: optimise on each TRAIN window, trade the best on the TEST after it, "
        "roll forward by TEST (lengths like 30D, 2W, 6M, 1Y)",
    )
    p.add_argument(
        "--metric",
        default="sharpe",
        help="walk-forward: what picks the best combination: sharpe (default), net_pnl, "
        "win_rate, max_drawdown (lowest wins)",
    )
    p.add_argument(
        "--equity-out",
        type=Path,
        help="walk-forward: the stitched out-of-sample equity curve as CSV (ts, equity)",
    )


def run_walk_forward(args: argparse.Namespace, job: SweepJob) -> int:
    """Walks the grid of ``args`` over ``job``; 0, 2 for a bad spec, 130 on Ctrl-C."""
    from avin_tui.cli.sweep import (
        _cell,
        _progress,
        accepted_combinations,
        grid_problem,
        open_output,
        task_pool,
    )
    from engine.backtest.sweep import METRICS, GridError, combinations, parse_grid
    from engine.backtest.walk_forward import (
        WalkForwardError,
        check_metric,
        parse_spec,
        span,
        stitch,
        usable,
        walk,
        windows,
    )

    try:
        train, test = parse_spec(args.walk_forward)
        metric = check_metric(args.metric)
        grid = parse_grid(args.grid)
        steps = usable(job, windows(*span(job), train, test))
        if not steps:
            first, last = span(job)
            raise WalkForwardError(
                f"--walk-forward {args.walk_forward}: the bars ({first:%Y-%m-%d} to "
                f"{last:%Y-%m-%d}) hold no full {train} training plus {test} test window"
            )
    except (GridError, WalkForwardError) as exc:
        print(f"avin backtest: {exc}", file=sys.stderr)
        return 2
    problem = grid_problem(args, grid, job)
    if problem:
        print(f"avin backtest: {problem}", file=sys.stderr)
        return 2
    combos = accepted_combinations(job, combinations(grid))
    if not combos:
        return 2
    warmup = timedelta(days=max(0, args.warmup_days))
    curve_folder = args.equity_out.parent if args.equity_out else None
    if curve_folder is not None and not curve_folder.is_dir():
        missing = f"cannot write {args.equity_out}: no folder {curve_folder}"
        print(f"avin backtest: {missing}", file=sys.stderr)
        return 2
    out = open_output(args.out)
    if out is None:
        return 2
    writer = csv.writer(out)
    head = ["window", "train_from", "train_to", "test_from", "test_to"]
    writer.writerow([*head, *grid, f"in_sample_{metric}", *METRICS])
    out.flush()
    results = []
    started = time.monotonic()
    try:
        with (
            _progress(args, len(steps) * (len(combos) + 1)) as advance,
            task_pool(args, job, len(combos)) as pool,
        ):
            for n, r in enumerate(
                walk(job, combos, steps, pool, metric=metric, warmup=warmup, progress=advance), 1
            ):
                results.append(r)
                w = r.window
                spans = [w.train_start, w.test_start, w.test_start, w.test_end]
                params = [_cell(r.combo[k]) for k in grid]
                scores = [_cell(r.in_sample), *(_cell(r.out.row[k]) for k in METRICS)]
                writer.writerow([n, *map(_day, spans), *params, *scores])
                out.flush()
    except BaseException as exc:
        if out is not sys.stdout:
            out.close()
        if not isinstance(exc, KeyboardInterrupt):
            raise
        print(
            f"avin backtest: stopped; {len(results)} of {len(steps)} windows kept",
            file=sys.stderr,
        )
        return 130
    whole = stitch(results, job.options.capital)
    oos = ["", "", _day(results[0].window.test_start), _day(results[-1].window.test_end)]
    writer.writerow(["stitched", *oos, *([""] * len(grid)), "", *map(_cell, whole.row.values())])
    if out is not sys.stdout:
        out.close()
    if args.equity_out is not None:
        curve_file = open_output(args.equity_out)
        if curve_file is None:
            return 1
        with curve_file as f:
            curve = csv.writer(f)
            curve.writerow(["ts", "equity"])
            for ts, equity in zip(whole.ts.tolist(), whole.equity.tolist(), strict=True):
                curve.writerow([_iso(ts), f"{equity:.2f}"])
    took = time.monotonic() - started
    print(
        f"{len(steps)} windows x {len(combos)} combinations in {took:.1f} s; out of sample: "
        f"{whole.row['trades']} trades, net {_cell(whole.row['net_pnl'])}, "
        f"sharpe {whole.row['sharpe']:.2f}",
        file=sys.stderr,
    )
    return 0


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
