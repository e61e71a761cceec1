"""A backtest over several instruments: one strategy instance per instrument, then the report."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from engine.backtest.options import BacktestOptions, RunResult
from engine.backtest.report import Report, Section, build_report
from engine.backtest.runner import Backtester
from engine.model import Instrument, TimeFrame
from engine.strategy.registry import build, resolve

InstrumentProgress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Market:
    """The bars of one instrument and the time trading starts (earlier bars are warm-up)."""

    instrument: Instrument
    bars: pl.DataFrame
    base: TimeFrame = TimeFrame.M1
    start: datetime | None = None


def run_backtest(
    strategy: str,
    markets: Sequence[Market],
    *,
    params: Mapping[str, Any] | None = None,
    timeframe: TimeFrame | None = None,
    options: BacktestOptions | None = None,
    progress: InstrumentProgress | None = None,
    sections_ready: Callable[[list[Section]], None] | None = None,
) -> Report:
    """``strategy`` (a registered name or ``module:Class``) on every market; the report.
    ``sections_ready``: as for :func:`~engine.backtest.report.build_report`."""
    options = options or BacktestOptions()
    with no_cycle_collection():  # the runs and the report make many objects and no cycles
        return _run_backtest(
            strategy, markets, params, timeframe, options, progress, sections_ready
        )


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector paused (refcounting frees what a backtest makes): each of
    its passes would walk every order, fill and trade alive, for no garbage."""
    collect = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collect:
            gc.enable()


def _run_backtest(
    strategy: str,
    markets: Sequence[Market],
    params: Mapping[str, Any] | None,
    timeframe: TimeFrame | None,
    options: BacktestOptions,
    progress: InstrumentProgress | None,
    sections_ready: Callable[[list[Section]], None] | None = None,
) -> Report:
    results: list[RunResult] = []
    cls = resolve(strategy)
    for market in markets:
        instance = build(strategy, params, timeframe)
        tester = Backtester(instance, market.instrument, options, base=market.base)
        code = market.instrument.code

        def tick(done: int, total: int, code: str = code) -> None:
            if progress is not None:
                progress(code, done, total)

        results.append(tester.run(market.bars, start=market.start, progress=tick))
        tester.release()  # its orders, fills and trades live on in the result alone
    first = build(strategy, params, timeframe)
    report = build_report(cls.name or strategy, dict(first.params), results, sections_ready)
    report.meta.update(
        {
            "strategy_ref": strategy,
            "timeframe": first.timeframe.value,
            "commission": str(options.commission),
            "slippage_ticks": options.slippage_ticks,
            "capital": str(options.capital),
            "gaps": options.gaps,
            "pre_trade_rules": options.risk is not None,
            "instruments": [m.instrument.code for m in markets],
            "bases": [m.base.value for m in markets],
            "from": _iso(markets, first=True),
            "to": _iso(markets, first=False),
        }
    )
    return report


def _iso(markets: Sequence[Market], *, first: bool) -> str | None:
    values: list[datetime] = []
    for m in markets:
        if m.bars.height == 0:
            continue
        ts = m.bars["ts"].min() if first else m.bars["ts"].max()
        if first and m.start is not None:
            ts = m.start
        if isinstance(ts, datetime):
            values.append(ts)
    if not values:
        return None
    return (min(values) if first else max(values)).isoformat()
