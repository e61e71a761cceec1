"""Sweeps of rule strategies computed vectorised: every combination without the event loop.

A strategy whose logic is a :class:`~engine.strategy.rules.Rule` (a
:class:`~engine.strategy.rules.RuleStrategy`) gives the same trades run vectorised
(:func:`engine.backtest.vector.run_signals`) as run bar by bar by the backtester. A sweep over
such a strategy builds each combination's rule, computes every indicator (each computed node of a
rule: ``sma(close, 10)``...) once per distinct label for the whole grid, derives the signals,
positions and fills of each combination from those shared columns, books the fills as the
engine's ``Position`` does but in integers (exact trade results: prices in units of their step,
commission rounded half up to the cent per fill) and builds the equity curve and the report's
total section with the backtester's float operations and :mod:`engine.backtest.report`'s code.
Each row equals the one the per-combination engine run gives, floats to the last bit
(tests/backtest/test_vector_sweep.py).

:func:`vector_pool` refuses (:class:`NotVectorisable`, with the reason) what the vectorised path
does not model: a strategy that is not a rule, the pre-trade rules, an explicit ``mode`` or
``verify_wake``, a strategy timeframe other than the bars', a rule looking further back than the
chart depth, bars with repeated timestamps. The caller then runs the per-combination pool.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from engine.backtest.options import RunResult
from engine.backtest.report import Report, _total, summarize
from engine.backtest.session import Market
from engine.backtest.sweep import Outcome, SweepJob, Task, summary_row
from engine.backtest.vector import VectorResult, run_signals
from engine.model import Instrument
from engine.strategy.registry import build, resolve
from engine.strategy.rules import Rule, RuleStrategy


class NotVectorisable(ValueError):
    """The sweep cannot run vectorised; the message says why."""


def vector_pool(job: SweepJob, combos: Sequence[Mapping[str, Any]]) -> VectorPool:
    """The vectorised pool of ``job`` over ``combos``, or :class:`NotVectorisable`.

    A combination the strategy refuses (its ``validate``) is not judged here: the pool raises
    the strategy's error when it reaches it, as the per-combination pool does.
    """
    cls = resolve(job.strategy)
    if not issubclass(cls, RuleStrategy):
        raise NotVectorisable(f"{cls.name or job.strategy} is not a rule strategy")
    options = job.options
    if options.risk is not None:
        raise NotVectorisable("the pre-trade rules are on (--no-risk turns them off)")
    if options.mode != "auto" or options.verify_wake:
        raise NotVectorisable(f"the run mode {options.mode!r} asks for the engine")
    for market in job.markets:
        ts = market.bars["ts"]
        if ts.len() > 1 and not ts.sort().diff().drop_nulls().cast(pl.Int64).gt(0).all():
            raise NotVectorisable(f"the bars of {market.instrument.code} repeat a timestamp")
    for combo in combos:
        try:
            strategy = build(job.strategy, {**job.params, **combo}, job.timeframe)
            assert isinstance(strategy, RuleStrategy)
            rule = strategy.make_rule()
        except Exception:  # the pool raises it in its turn, as the engine's pool does
            continue
        for market in job.markets:
            if tuple(strategy.timeframes) != (market.base,):
                raise NotVectorisable(
                    f"the strategy reads {', '.join(t.value for t in strategy.timeframes)} "
                    f"over {market.base.value} bars"
                )
        if rule.window + 1 > options.chart_depth:
            raise NotVectorisable(
                f"the rule of {dict(combo)} looks back {rule.window} bars, beyond the chart "
                f"depth {options.chart_depth}"
            )
    return VectorPool(job)


class SignalCache:
    """The signals of rules over one frame; each computed node is evaluated once per label."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self._columns: dict[str, pl.Series] = {}  # node label -> its values (nulls, not NaN)

    def signals(self, rule: Rule) -> list[np.ndarray]:
        """``Rule.signals`` as boolean arrays in ``Rule.SIGNALS`` order (the same values)."""
        exprs = [getattr(rule, k) for k in Rule.SIGNALS]
        env: dict[str, str] = {}
        frame = self.frame
        for expr in exprs:
            for node in [] if expr is None else expr.computed():
                if node.label in env:
                    continue
                assert node.kernel is not None
                name = f"__rule_{len(env)}"
                column = self._columns.get(node.label)
                if column is None:
                    values = node.kernel(frame, env)
                    column = pl.Series(name, values, dtype=pl.Float64).fill_nan(None)
                    self._columns[node.label] = column
                frame = frame.with_columns(column.alias(name))
                env[node.label] = name
        cols = [
            (pl.lit(False) if expr is None else expr.to_polars(env))
            .cast(pl.Boolean)
            .fill_null(False)
            .alias(key)
            for key, expr in zip(Rule.SIGNALS, exprs, strict=True)
        ]
        out = frame.select(cols)
        return [np.asarray(out[k].to_numpy(), dtype=np.bool_) for k in Rule.SIGNALS]


@dataclass(slots=True)
class _Prepared:
    """One market ready for many rules: its sorted bars, the first traded bar, the signals."""

    market: Market
    frame: pl.DataFrame
    first: int
    cache: SignalCache
    ticks: dict[float, int] = field(default_factory=dict)  # an open -> its valid price, in units


def _prepare(markets: Iterable[Market]) -> list[_Prepared]:
    out = []
    for market in markets:
        bars = market.bars
        frame = bars if bars["ts"].is_sorted() else bars.sort("ts")
        start = market.start
        first = 0 if start is None else int(frame["ts"].search_sorted(start, side="left"))
        out.append(_Prepared(market, frame, first, SignalCache(frame)))
    return out


class VectorPool:
    """A :class:`~engine.backtest.sweep.TaskPool` computing each task vectorised, here."""

    def __init__(self, job: SweepJob) -> None:
        self.job = job
        self._prepared: dict[Any, list[_Prepared]] = {}

    def __enter__(self) -> VectorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._prepared.clear()

    def map(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        for task in tasks:
            yield self.do(task)

    def do(self, task: Task) -> Outcome:
        key = None if task.span is None else (task.span, task.warmup)
        prepared = self._prepared.get(key)
        if prepared is None:
            job = self.job if task.span is None else self.job.within(*task.span, task.warmup)
            prepared = self._prepared[key] = _prepare(job.markets)
        job = self.job
        params = {**job.params, **task.combo}
        strategy = build(job.strategy, params, job.timeframe)
        assert isinstance(strategy, RuleStrategy)
        rule = strategy.make_rule()
        runs = [self._run(rule, p) for p in prepared]
        total = _total([run for run, _ in runs])  # the equity curve and its metrics
        # the trade summary of the closed round trips of every market (the row's metrics do not
        # depend on their order)
        total.summary = {**summarize([r for _, results in runs for r in results]), "rejected": 0}
        report = Report(strategy.name or job.strategy, dict(strategy.params), [total], *_EMPTY)
        row = summary_row(task.combo, report)
        wins = total.summary["wins"]
        if not task.curve:
            return Outcome(row, wins)
        return Outcome(row, wins, total.ts, total.equity)

    def _run(self, rule: Rule, prepared: _Prepared) -> tuple[RunResult, list[Decimal]]:
        """The backtester's result for ``rule`` on one market (its equity; no trade list) and the
        result of each closed round trip."""
        options = self.job.options
        inst = prepared.market.instrument
        first = prepared.first
        frame = prepared.frame.slice(first)
        signals = [s[first:] for s in prepared.cache.signals(rule)]
        vector = run_signals(
            signals,
            rule.lots,
            frame,
            inst,
            commission=options.commission,
            slippage_ticks=options.slippage_ticks,
        )
        results, cash = _book(vector, inst, options.commission, prepared.ticks)
        n = frame.height
        flows = np.zeros(n, dtype=np.float64)
        np.add.at(flows, vector.fill_bar.astype(np.int64), cash)  # in fill order
        close = frame["close"].to_numpy().astype(np.float64)
        lots = vector.position[:n].astype(np.int64)
        equity = float(options.capital) + np.cumsum(flows) + lots * inst.lot * close
        return RunResult(
            strategy_id=f"vector:{inst.ticker}",
            instrument=inst,
            base=prepared.market.base,
            orders=[],
            fills=[],
            trades=[],
            open_trade=None,
            ts=frame["ts"].cast(pl.Int64).to_numpy(),
            close=close,
            position=lots,
            equity=equity,
            capital=Decimal(options.capital),
        ), results


def _book(
    vector: VectorResult, inst: Instrument, rate: Decimal, ticks: dict[float, int]
) -> tuple[list[Decimal], np.ndarray]:
    """The result of each closed round trip (``Trade.result``) and the cash flow of each fill
    (commission included), exactly as the backtester books them (``Position``: Decimal values,
    commission rounded half up to 0.01 per fill, a reversing fill's commission shared by the lots
    it closes and opens) but in integers: a price in units of its step's last digit, money in
    units of 10**-m. The integers are int64 while every product fits (and a value converts to a
    float exactly), Python integers otherwise."""
    k = max(0, -int(inst.step.as_tuple().exponent))
    r = max(0, -int(rate.as_tuple().exponent))
    rate_int = int(rate.scaleb(r))
    m = max(k, 2) + 1  # one digit below the cent: half a cent's commission share
    slip = int(vector.slippage.scaleb(k))
    lot = inst.lot
    raw, where = np.unique(vector.fill_price, return_inverse=True)
    table = []
    for value in raw.tolist():  # each distinct open once (and once per sweep)
        units = ticks.get(value)
        if units is None:
            units = ticks[value] = int(inst.round_price(value).scaleb(k))
        table.append(units)
    lots = vector.fill_lots
    top = max(table, default=0) + slip
    most = int(np.abs(lots).max(initial=0))
    biggest = top * most * lot  # the largest fill value (a fee share: times rate, 10**m, lots)
    fits = biggest < 2**53 and 2 * biggest * max(rate_int, 1) * 10 ** (m + 1) * most < 2**62
    kind: Any = np.int64 if fits else object
    prices = np.asarray(table, dtype=kind)[where] + np.where(lots > 0, slip, -slip).astype(kind)
    size = np.abs(lots).astype(kind)
    values = prices * size * lot
    product = values * rate_int
    digits = k + r
    if digits <= 2:
        cents = product * 10 ** (2 - digits)
    else:
        unit = 10 ** (digits - 2)
        cents = (2 * product + unit) // (2 * unit)
    # float(value) and float(commission) as the backtester takes them (both correctly rounded)
    money = (values / 10**k).astype(np.float64)
    cash = np.where(lots > 0, -money, money) - (cents / 100).astype(np.float64)
    e, x = vector.trade_entry, vector.trade_exit
    held = vector.trade_lots.astype(kind)
    gain = (prices[x] - prices[e]) * vector.trade_side.astype(kind) * held * lot * 10 ** (m - k)
    cent_m = 10 ** (m - 2)
    fee = cents[e] * cent_m * held // size[e]  # the share of the lots it opened
    fee = fee + cents[x] * cent_m * held // size[x]  # ... and of the lots it closed
    results = [Decimal(int(v)).scaleb(-m) for v in (gain - fee).tolist()]
    return results, cash


_EMPTY = (pl.DataFrame(), pl.DataFrame())  # a total-only report has no trade or order frames
