"""Walk-forward: optimise a grid on each training window, trade the winner on the window after it.

Windows are calendar spans in UTC. The origin is midnight of the day of the first traded bar and
the end is midnight after the day of the last bar (the data is taken to cover whole UTC days).
Test windows follow each other without gaps from ``origin + TRAIN``, each ``TEST`` long; each
training window is the ``TRAIN`` just before its test window (never before the origin). A last
test window that would end after the data ends is dropped (its metrics would cover a shorter span
than the others); so is a window whose training or test span has no bar of any market.

Every backtest of a window gets the bars of ``warmup`` before the window fed to its charts only,
as ``Market.start`` does, so a strategy is not cold at the start of each window.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from engine.backtest.report import daily_returns, max_drawdown, sharpe
from engine.backtest.sweep import Outcome, SweepJob, Task, TaskPool

# the metric a training window is judged by, and whether higher is better
RANKING = {"sharpe": True, "net_pnl": True, "win_rate": True, "max_drawdown": False}
UNITS = {"D": "days", "W": "weeks", "M": "months", "Y": "years"}
_PERIOD = re.compile(r"(\d+)([A-Za-z])")


class WalkForwardError(ValueError):
    """A ``--walk-forward`` spec or metric that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar length: ``count`` days, weeks, months or years."""

    count: int
    unit: str  # one of UNITS

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    def shift(self, moment: datetime, times: int = 1) -> datetime:
        """``moment`` moved by this period ``times`` times (negative: back); a month end that
        the target month lacks becomes its last day."""
        n = self.count * times
        if self.unit == "D":
            return moment + timedelta(days=n)
        if self.unit == "W":
            return moment + timedelta(weeks=n)
        months = n * (12 if self.unit == "Y" else 1)
        year, month = divmod(moment.month - 1 + months, 12)
        year += moment.year
        day = min(moment.day, calendar.monthrange(year, month + 1)[1])
        return moment.replace(year=year, month=month + 1, day=day)


def parse_period(text: str) -> Period:
    """``30D``, ``2W``, ``6M`` (months), ``1Y``; a lower-case ``m`` is refused (minutes?)."""
    match = _PERIOD.fullmatch(text.strip())
    if match is None:
        raise WalkForwardError(
            f"--walk-forward: {text!r} is not a length like 30D, 2W, 6M or 1Y "
            "(a whole number, then D days, W weeks, M months or Y years)"
        )
    count, unit = int(match.group(1)), match.group(2)
    if unit == "m":
        raise WalkForwardError(
            f"--walk-forward: {text!r}: write M for months (minutes are not a window length)"
        )
    unit = unit.upper()
    if unit not in UNITS:
        raise WalkForwardError(
            f"--walk-forward: unit {match.group(2)!r} in {text!r}; use D, W, M or Y"
        )
    if count < 1:
        raise WalkForwardError(f"--walk-forward: {text!r} must be at least 1{unit}")
    return Period(count, unit)


def parse_spec(spec: str) -> tuple[Period, Period]:
    """``TRAIN:TEST``, for example ``6M:1M`` or ``30D:5D``."""
    train, sep, test = spec.partition(":")
    if not sep or ":" in test:
        raise WalkForwardError(
            f"--walk-forward wants TRAIN:TEST such as 6M:1M or 30D:5D, got {spec!r}"
        )
    return parse_period(train), parse_period(test)


def check_metric(metric: str) -> str:
    if metric not in RANKING:
        raise WalkForwardError(f"--metric {metric!r}: choose one of {', '.join(RANKING)}")
    return metric


@dataclass(frozen=True, slots=True)
class Window:
    """One step: train on ``[train_start, test_start)``, trade on ``[test_start, test_end)``."""

    train_start: datetime
    test_start: datetime
    test_end: datetime


def windows(first: datetime, last: datetime, train: Period, test: Period) -> list[Window]:
    """The windows over data whose first traded bar is at ``first`` and last bar at ``last``."""
    origin = datetime.combine(first.date(), time(), tzinfo=first.tzinfo)
    end = datetime.combine(last.date() + timedelta(days=1), time(), tzinfo=last.tzinfo)
    anchor = train.shift(origin)
    out: list[Window] = []
    i = 0
    while (test_end := test.shift(anchor, i + 1)) <= end:
        test_start = test.shift(anchor, i)
        out.append(Window(max(origin, train.shift(test_start, -1)), test_start, test_end))
        i += 1
    return out


@dataclass(frozen=True, slots=True)
class WindowResult:
    """A walked window: the combination chosen in-sample and what it did out of sample."""

    window: Window
    combo: dict[str, Any]
    in_sample: Any  # the chosen combination's training metric
    out: Outcome  # the test window's run (row, wins, equity curve)


def best(rows: Sequence[Mapping[str, Any]], metric: str) -> int:
    """The index of the best row by ``metric`` (a tie goes to the earlier row)."""
    higher = RANKING[metric]
    chosen = 0
    for i, row in enumerate(rows):
        value, top = row[metric], rows[chosen][metric]
        if (value > top) if higher else (value < top):
            chosen = i
    return chosen


def walk(
    job: SweepJob,
    combos: Sequence[Mapping[str, Any]],
    steps: Sequence[Window],
    pool: TaskPool,
    *,
    metric: str = "sharpe",
    warmup: timedelta = timedelta(0),
    progress: Callable[[], None] | None = None,
) -> Iterator[WindowResult]:
    """Each window in order: the grid on its training span, the best one on its test span.

    ``progress`` is called after every backtest (grid runs and test runs alike).
    """
    check_metric(metric)
    for step in steps:
        train = (step.train_start, step.test_start)
        rows = []
        for outcome in pool.map(Task(c, train, warmup) for c in combos):
            rows.append(outcome.row)
            if progress is not None:
                progress()
        chosen = best(rows, metric)
        combo = dict(combos[chosen])
        test = (step.test_start, step.test_end)
        (out,) = pool.map([Task(combo, test, warmup, curve=True)])
        if progress is not None:
            progress()
        yield WindowResult(step, combo, rows[chosen][metric], out)


def usable(job: SweepJob, steps: Sequence[Window]) -> list[Window]:
    """The windows whose training and test spans both hold a bar of some market."""
    stamps = [m.bars["ts"] for m in job.markets]

    def has_bars(start: datetime, end: datetime) -> bool:
        for ts, market in zip(stamps, job.markets, strict=True):
            begin = max(start, market.start) if market.start is not None else start
            lo, hi = ts.search_sorted(begin), ts.search_sorted(end)
            if int(hi) > int(lo):
                return True
        return False

    return [
        s
        for s in steps
        if has_bars(s.train_start, s.test_start) and has_bars(s.test_start, s.test_end)
    ]


def span(job: SweepJob) -> tuple[datetime, datetime]:
    """The first traded bar (not before a market's start) and the last bar over all markets."""
    firsts: list[datetime] = []
    lasts: list[datetime] = []
    for m in job.markets:
        ts = m.bars["ts"]
        if m.start is not None:
            ts = ts.filter(ts >= m.start)
        if ts.len():
            firsts.append(_moment(ts.min()))
            lasts.append(_moment(ts.max()))
    if not firsts:
        raise WalkForwardError("--walk-forward: there are no bars to walk over")
    return min(firsts), max(lasts)


def _moment(value: object) -> datetime:
    assert isinstance(value, datetime)
    return value


@dataclass(frozen=True, slots=True)
class Stitched:
    """The test windows end to end: each window's profit carried into the next."""

    row: dict[str, Any]  # trades, net_pnl, max_drawdown, sharpe, win_rate
    ts: np.ndarray
    equity: np.ndarray


def stitch(results: Sequence[WindowResult], capital: Decimal) -> Stitched:
    """The out-of-sample equity (capital plus every earlier window's profit) and its metrics:
    trades and net profit summed, win rate over all trades, drawdown and Sharpe of the curve."""
    base = float(capital)
    parts_ts, parts_eq = [], []
    carried = 0.0
    trades = wins = 0
    net = Decimal(0)
    for r in results:
        assert r.out.ts is not None and r.out.equity is not None
        parts_ts.append(r.out.ts)
        parts_eq.append(r.out.equity + carried)
        if r.out.equity.size:
            carried += float(r.out.equity[-1]) - base
        trades += r.out.row["trades"]
        wins += r.out.wins
        net += r.out.row["net_pnl"]
    ts = np.concatenate(parts_ts) if parts_ts else np.zeros(0, dtype=np.int64)
    equity = np.concatenate(parts_eq) if parts_eq else np.zeros(0)
    row = {
        "trades": trades,
        "net_pnl": net,
        "max_drawdown": max_drawdown(equity)[0],
        "sharpe": sharpe(daily_returns(ts, equity, base)),
        "win_rate": Decimal(wins * 100) / trades if trades else Decimal(0),
    }
    return Stitched(row, ts, equity)
