"""``avin backtest STRATEGY --grid NAME=...``: one backtest per combination, one CSV row each.

Examples::

    avin backtest sma_cross --data bars.csv --grid fast=5:20:5 --grid slow=30,50,100 \\
        --out sweep.csv
    avin backtest sma_cross --tickers SBER --from 2024-01-01 --to 2024-07-01 \\
        --grid fast=5,10 --grid slow=20:60:10 --workers 2 --out sweep.csv

Rows come in combination order (the last ``--grid`` varies fastest): the parameter columns, then
``trades, net_pnl, max_drawdown, sharpe, win_rate``. Each row is what a single ``avin backtest``
with those ``--param`` values reports. A row is written as soon as it is done: Ctrl-C keeps every
finished row in the file. The rows are also saved under ``<data home>/sweeps/<id>/`` (``--no-save``
skips it), where the TUI's backtests screen (``b``) shows them as a table and a heatmap.

A rule strategy (``sma_cross_rule``...) is swept vectorised in this process
(:mod:`engine.backtest.vector_sweep`, the same rows) unless ``--engine-only``, ``--ray`` or an
option only the engine models (the pre-trade rules: ``--no-risk``) asks for one engine run per
combination; the sweep then says once on stderr why it is not vectorised.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.backtest.sweep import SweepJob, TaskPool


SIX = Decimal("0.000001")


def register_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2|START:STOP:STEP",
        help="sweep a parameter (repeatable; a range includes STOP): one backtest per combination",
    )
    p.add_argument("--out", type=Path, help="the sweep's CSV (default: stdout)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    p.add_argument(
        "--ray",
        metavar="auto|ADDRESS",
        help="run the backtests on a Ray cluster (auto: the one this machine is part of; "
        "needs the avin[ray] extra) instead of local processes",
    )
    p.add_argument(
        "--engine-only",
        action="store_true",
        help="one engine run per combination even for a rule strategy (default: computed "
        "vectorised when the strategy and options allow it)",
    )


def run_sweep(args: argparse.Namespace, job: SweepJob) -> int:
    """Runs the grid of ``args`` over ``job``; exit code 0, 2 for a bad grid, 130 on Ctrl-C."""
    from engine.backtest.sweep import METRICS, GridError, combinations, parse_grid, sweep

    try:
        grid = parse_grid(args.grid)
    except GridError as exc:
        print(f"avin backtest: {exc}", file=sys.stderr)
        return 2
    problem = grid_problem(args, grid, job)
    if problem:
        print(f"avin backtest: {problem}", file=sys.stderr)
        return 2
    combos = accepted_combinations(job, combinations(grid))
    if not combos:
        return 2
    out = open_output(args.out)
    if out is None:
        return 2
    writer = csv.writer(out)
    writer.writerow([*grid, *METRICS])
    out.flush()
    done = 0
    started = time.monotonic()
    pool, vectorised = _sweep_pool(args, job, combos)
    rows = sweep(job, combos, pool=pool)
    kept: list[list[str]] = []
    try:
        with _progress(args, len(combos)) as advance:
            for row in rows:
                kept.append([_cell(row[k]) for k in (*grid, *METRICS)])
                writer.writerow(kept[-1])
                out.flush()
                done += 1
                advance()
    except KeyboardInterrupt:
        _close(rows)
        print(f"avin backtest: stopped; {done} of {len(combos)} rows kept", file=sys.stderr)
        _save(args, job, grid, kept, len(combos), vectorised)
        return 130
    finally:
        if out is not sys.stdout:
            out.close()
    _save(args, job, grid, kept, len(combos), vectorised)
    note = getattr(pool, "note", "")  # a local pool that could not start its workers
    if note:
        print(f"avin backtest: {note}", file=sys.stderr)
    took = time.monotonic() - started
    where = f" in {args.out}" if args.out else ""
    print(f"{done} backtests in {took:.1f} s{where}", file=sys.stderr)
    return 0


def _save(
    args: argparse.Namespace,
    job: SweepJob,
    grid: Mapping[str, Any],
    kept: list[list[str]],
    total: int,
    vectorised: bool = False,
) -> None:
    """Saves the rows under ``<data home>/sweeps/<id>/`` (unless ``--no-save``) and says where:
    on stdout like a single backtest, on stderr when stdout carries the CSV."""
    from engine.backtest.sweep import METRICS
    from engine.backtest.sweep_storage import save_sweep

    if args.no_save:
        return
    source: dict[str, Any] = (
        {"data": str(args.data.resolve())}
        if args.data
        else {
            "tickers": list(args.tickers),
            "from": args.begin.isoformat() if args.begin else None,
            "to": args.end.isoformat() if args.end else None,
        }
    )
    meta = {
        "strategy": job.strategy,
        "grid": dict(grid),
        "params": dict(job.params),
        "metrics": list(METRICS),
        "source": source,
        "instruments": [m.instrument.code for m in job.markets],
        "timeframe": str(job.timeframe) if job.timeframe else None,
        "workers": None
        if args.ray or vectorised
        else min(args.workers or os.cpu_count() or 1, total),
        "vectorised": vectorised,
        "ray": args.ray or None,
        "combinations": total,
        "complete": len(kept) == total,
    }
    folder = save_sweep([*grid, *METRICS], kept, meta)
    print(f"saved: {folder}", file=sys.stderr if args.out is None else sys.stdout)


def _sweep_pool(
    args: argparse.Namespace, job: SweepJob, combos: list[dict[str, Any]]
) -> tuple[TaskPool, bool]:
    """The vectorised pool when the strategy and options allow it (unless ``--engine-only`` or
    ``--ray``), else :func:`task_pool`, saying once on stderr why the sweep is not vectorised."""
    if not args.engine_only and not args.ray:
        try:  # the vectorised runner needs numba, which the binary leaves out
            from engine.backtest.vector_sweep import NotVectorisable, vector_pool
        except ImportError:
            why: object = "numba is not in this build of avin"
        else:
            try:
                return vector_pool(job, combos), True
            except NotVectorisable as refused:
                why = refused
        print(
            f"avin backtest: not vectorised, {why}: one engine run per combination",
            file=sys.stderr,
        )
    return task_pool(args, job, len(combos)), False


def task_pool(args: argparse.Namespace, job: SweepJob, tasks: int) -> TaskPool:
    """Where the backtests run: the Ray cluster of ``--ray``, else ``--workers`` processes."""
    from engine.backtest.sweep import local_pool

    if args.ray:
        from engine.backtest.ray_pool import RayPool

        return RayPool(job, args.ray)
    return local_pool(job, args.workers, tasks)


def open_output(path: Path | None) -> IO[str] | None:
    """Standard output without a path, else the file opened for writing now, once every check
    has passed (a run refused for a bad argument leaves an earlier file as it was); None after
    saying why it cannot be written."""
    if path is None:
        return sys.stdout
    try:
        return path.open("w", newline="", encoding="utf-8")
    except OSError as exc:
        print(f"avin backtest: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return None


def accepted_combinations(job: SweepJob, combos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The combinations the strategy takes; those it refuses are counted on stderr with the
    first one's reason (all refused: said as the error, and the list is empty)."""
    from engine.backtest.sweep import screen

    screened = screen(job, combos)
    if screened.refused:
        combo, why = screened.refused[0]
        first = ", ".join(f"{name}={_cell(value)}" for name, value in combo.items())
        if not screened.accepted:
            message = f"{why} (every combination is refused; first: {first})"
            print(f"avin backtest: {message}", file=sys.stderr)
        else:
            print(
                f"avin backtest: {len(screened.refused)} of {len(combos)} combinations left "
                f"out, the strategy refuses them (first: {first}: {why})",
                file=sys.stderr,
            )
    return screened.accepted


def grid_problem(args: argparse.Namespace, grid: Mapping[str, Any], job: SweepJob) -> str:
    """What is wrong with a grid and the sweep options around it ("" when nothing)."""
    clash = sorted(set(grid) & set(job.params))
    if clash:
        return f"{', '.join(clash)} given both as --param and --grid"
    if args.workers is not None and args.workers < 1:
        return f"--workers must be at least 1, got {args.workers}"
    return ""


def _close(rows: Iterator[Mapping[str, Any]]) -> None:
    close = getattr(rows, "close", None)
    if close is not None:
        close()  # stops the worker processes


def _cell(value: Any) -> str:
    """Money and rates to six decimals, floats to ten significant digits, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = f"{value.quantize(SIX):f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _progress(args: argparse.Namespace, total: int) -> AbstractContextManager[Any]:
    if args.quiet or not sys.stderr.isatty():
        return nullcontext(lambda: None)
    return _Bar(total)


class _Bar:
    """A rich progress bar over the combinations, with the time left."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.progress = Progress(
            "sweep",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=True,
        )
        self.task = self.progress.add_task("sweep", total=total)

    def __enter__(self) -> Any:
        self.progress.__enter__()
        return lambda: self.progress.advance(self.task)

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)
