"""Parameter sweeps: one backtest per combination of a grid, on all local cores.

Each row is exactly what a single ``avin backtest`` with those parameters reports (same engine,
same pre-trade rules). Workers are fresh interpreters (``spawn``: forking a process whose polars
thread pool is running can deadlock); they receive the bars once, as Arrow IPC files memory-mapped
from a temporary folder, so every worker reads the same pages and no task carries bars.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing
import os
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from engine.backtest.options import BacktestOptions
from engine.backtest.report import Report
from engine.backtest.session import Market, run_backtest
from engine.model import TimeFrame

METRICS = ("trades", "net_pnl", "max_drawdown", "sharpe", "win_rate")
MAX_COMBINATIONS = 100_000


class GridError(ValueError):
    """A ``--grid`` item that cannot be read; the message says which and why."""


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``NAME=V1,V2,...`` or ``NAME=START:STOP:STEP`` (STOP included) per item, in order.

    Values are JSON when they parse (numbers, true/false), else strings; a range of integers stays
    integer, any other range is exact decimal steps given as floats.
    """
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name or not raw.strip():
            raise GridError(f"--grid wants NAME=V1,V2 or NAME=START:STOP:STEP, got {item!r}")
        if name in grid:
            raise GridError(f"--grid names {name!r} twice")
        values = _range(name, raw) if ":" in raw else [_value(v) for v in raw.split(",")]
        if len(set(map(repr, values))) != len(values):
            raise GridError(f"--grid {name}: a value is listed twice in {raw!r}")
        grid[name] = values
    count = 1
    for values in grid.values():
        count *= len(values)
    if count > MAX_COMBINATIONS:
        raise GridError(f"--grid makes {count:,} combinations; at most {MAX_COMBINATIONS:,}")
    return grid


def _value(text: str) -> Any:
    text = text.strip()
    if not text:
        raise GridError("--grid: an empty value (two commas in a row?)")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _range(name: str, raw: str) -> list[Any]:
    parts = raw.split(":")
    if len(parts) != 3:
        raise GridError(f"--grid {name}: a range is START:STOP:STEP, got {raw!r}")
    try:
        start, stop, step = (Decimal(p.strip()) for p in parts)
    except InvalidOperation:
        raise GridError(
            f"--grid {name}: START, STOP and STEP must be numbers, got {raw!r}"
        ) from None
    if step <= 0:
        raise GridError(f"--grid {name}: STEP must be positive, got {parts[2].strip()}")
    if stop < start:
        raise GridError(f"--grid {name}: STOP {stop} is below START {start}")
    count = int((stop - start) / step) + 1
    if count > MAX_COMBINATIONS:
        raise GridError(f"--grid {name}: {count:,} values; at most {MAX_COMBINATIONS:,}")
    values = [start + step * i for i in range(count)]
    if all(v == v.to_integral_value() for v in (start, step)):
        return [int(v) for v in values]
    return [float(v) for v in values]


def combinations(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination, the last name varying fastest."""
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]


@dataclass(frozen=True)
class Screened:
    """A grid's combinations split by whether the strategy takes them (:func:`screen`)."""

    accepted: list[dict[str, Any]]
    refused: list[tuple[dict[str, Any], str]]  # the combination and the strategy's reason


def screen(job: SweepJob, combos: Sequence[Mapping[str, Any]]) -> Screened:
    """Builds the strategy once per combination (no bars, microseconds each): the combinations
    its ``validate`` refuses (sma_cross with fast >= slow) are set apart with the reason, so a
    grid over two related parameters runs its sensible part instead of failing half-way.
    An unknown strategy raises, as a single run does."""
    from engine.strategy.base import StrategyParamError
    from engine.strategy.registry import build

    accepted: list[dict[str, Any]] = []
    refused: list[tuple[dict[str, Any], str]] = []
    for combo in combos:
        try:
            build(job.strategy, {**job.params, **combo}, job.timeframe)
        except StrategyParamError as exc:
            refused.append((dict(combo), str(exc)))
        else:
            accepted.append(dict(combo))
    return Screened(accepted, refused)


def summary_row(params: Mapping[str, Any], report: Report) -> dict[str, Any]:
    """The sweep row of one backtest: its parameters, then the total's metrics."""
    total = report.total
    return {
        **params,
        "trades": total.summary["total"],
        "net_pnl": total.summary["profit"],
        "max_drawdown": total.metrics["max_drawdown"],
        "sharpe": total.metrics["sharpe"],
        "win_rate": total.summary["percent_profitable"],
    }


@dataclass(frozen=True, slots=True)
class Task:
    """One backtest of a sweep: a combination, optionally on a trading span of the bars.

    ``span`` (start, end) trades only the bars with ``start <= ts < end``; the bars of the
    ``warmup`` before ``start`` are fed to the charts only (as ``Market.start`` does). ``curve``
    asks for the equity curve too (walk-forward stitches them).
    """

    combo: Mapping[str, Any]
    span: tuple[datetime, datetime] | None = None
    warmup: timedelta = timedelta(0)
    curve: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one task gives back: its sweep row, the winning trades, the equity curve if asked."""

    row: dict[str, Any]
    wins: int
    ts: np.ndarray | None = None  # int64 ns
    equity: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class SweepJob:
    """Everything one backtest of the sweep needs except its grid parameters."""

    strategy: str
    markets: tuple[Market, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    timeframe: TimeFrame | None = None
    options: BacktestOptions = field(default_factory=BacktestOptions)

    def run(self, combo: Mapping[str, Any]) -> dict[str, Any]:
        return self.do(Task(combo)).row

    def do(self, task: Task) -> Outcome:
        job = self if task.span is None else self.within(*task.span, task.warmup)
        report = run_backtest(
            job.strategy,
            job.markets,
            params={**job.params, **task.combo},
            timeframe=job.timeframe,
            options=job.options,
        )
        total = report.total
        if not task.curve:
            return Outcome(summary_row(task.combo, report), total.summary["wins"])
        return Outcome(
            summary_row(task.combo, report), total.summary["wins"], total.ts, total.equity
        )

    def within(self, start: datetime, end: datetime, warmup: timedelta) -> SweepJob:
        """The job trading only ``start <= ts < end`` (never before a market's own start), with
        the bars of ``warmup`` before it as warm-up."""
        return replace(self, markets=tuple(_clip(m, start, end, warmup) for m in self.markets))


def _clip(market: Market, start: datetime, end: datetime, warmup: timedelta) -> Market:
    if market.start is not None and market.start > start:
        start = market.start
    ts = market.bars["ts"]
    lo, hi = (int(i) for i in ts.search_sorted(pl.Series([start - warmup, end]), side="left"))
    return replace(market, bars=market.bars.slice(lo, max(0, hi - lo)), start=start)


class LocalPool:
    """Runs tasks here (one worker) or in spawned processes sharing the job's bars.

    Use it as a context manager: leaving it (or closing a :meth:`map` early) stops the workers.
    """

    def __init__(self, job: SweepJob, workers: int) -> None:
        self.job = job
        self.workers = max(1, workers)
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._pool: Any = None
        self.note = ""  # why the tasks ran here although workers were asked for

    def __enter__(self) -> LocalPool:
        if self.workers > 1:
            self._folder = tempfile.TemporaryDirectory(prefix="avin-sweep-")
            shared = _share_bars(self.job, Path(self._folder.name))
            ctx = multiprocessing.get_context("spawn")
            try:
                with _no_interrupts():  # Ctrl-C is for this process: it stops the workers
                    self._pool = ctx.Pool(
                        self.workers, initializer=_worker_start, initargs=(shared,)
                    )
            except ImportError as exc:  # a Python built without sem_open: no process pools
                self.note = f"no worker processes on this Python ({exc}); ran here, one by one"
                self.workers = 1
                self._folder.cleanup()
                self._folder = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def map(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        """The outcomes in task order, each as soon as it and the ones before it are done."""
        if self._pool is None:
            for task in tasks:
                yield self.job.do(task)
            return
        yield from self._pool.imap(_worker_do, tasks, chunksize=1)


class TaskPool(Protocol):
    """Where sweep tasks run: :class:`LocalPool` or ``engine.backtest.ray_pool.RayPool``."""

    def __enter__(self) -> TaskPool: ...

    def __exit__(self, *exc: object) -> None: ...

    def map(self, tasks: Iterable[Task]) -> Iterator[Outcome]: ...


def sweep(
    job: SweepJob,
    combos: Sequence[Mapping[str, Any]],
    workers: int | None = None,
    pool: TaskPool | None = None,
) -> Iterator[dict[str, Any]]:
    """The rows in combination order, each as soon as it and the ones before it are done.

    On ``pool`` when given (``engine.backtest.ray_pool.RayPool`` for a cluster), else on
    :func:`local_pool` of ``workers``. Closing the iterator early (Ctrl-C) stops the workers; the
    rows already given stay valid.
    """
    with pool or local_pool(job, workers, len(combos)) as running:
        for outcome in running.map(Task(combo) for combo in combos):
            yield outcome.row


def local_pool(job: SweepJob, workers: int | None, tasks: int) -> LocalPool:
    """``workers`` processes (None: every core), never more than ``tasks``; 1 runs here."""
    return LocalPool(job, min(workers or os.cpu_count() or 1, tasks))


@contextlib.contextmanager
def _no_interrupts() -> Iterator[None]:
    """SIGINT ignored while workers start: they inherit it, so a Ctrl-C at the terminal (sent to
    the whole process group) reaches only this process, which then stops them quietly."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _share_bars(job: SweepJob, folder: Path) -> SweepJob:
    """The job with each market's bars replaced by the path of an Arrow IPC file in ``folder``."""
    markets = []
    for i, market in enumerate(job.markets):
        path = folder / f"{i}.arrow"
        market.bars.write_ipc(path, compression="uncompressed")
        markets.append(replace(market, bars=pl.DataFrame({"path": [str(path)]})))
    return replace(job, markets=tuple(markets))


_JOB: SweepJob | None = None


def _worker_start(shared: SweepJob) -> None:
    global _JOB
    markets = tuple(replace(m, bars=_mapped(m.bars["path"][0])) for m in shared.markets)
    _JOB = replace(shared, markets=markets)


def _mapped(path: str) -> pl.DataFrame:
    """The bars of an Arrow IPC file, read through a memory map (the page cache is shared); the
    binary ships without pyarrow, and there polars reads the file itself."""
    try:
        import pyarrow as pa
    except ImportError:
        return pl.read_ipc(path)
    with pa.memory_map(path) as source:
        table = pa.ipc.open_file(source).read_all()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _worker_do(task: Task) -> Outcome:
    assert _JOB is not None, "the sweep worker was not initialised"
    return _JOB.do(task)
