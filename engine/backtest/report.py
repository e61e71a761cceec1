"""Backtest reports: the trade list, the domain summary and the equity metrics.

Summary over closed trades (``result`` of each round trip, net of commission): total, wins
(r > 0), losses (r < 0), gross profit / loss, profit, ratio (gross profit / |gross loss|, None
without losses), percent profitable, average trade / win / loss, max win / loss, the longest win
and loss streaks (a break-even trade ends both). Equity metrics from the equity curve (capital
plus realised and unrealised PnL at each bar's close): maximum drawdown (money and percent of the
peak), exposure (share of bars with an open position), Sharpe and Sortino of daily returns
(annualised with 252 days, no risk-free rate).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from operator import is_
from typing import Any

import numpy as np
import polars as pl

from engine.backtest.options import RunResult
from engine.model import OrderStatus, Side, Trade
from engine.model.position import result_percent

TRADE_COLUMNS = ("entry_ts", "entry_price", "exit_ts", "exit_price", "lots", "side", "result")
TOTAL = "TOTAL"
_DAY_NS = 86_400_000_000_000
ZERO = Decimal(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def trade_frame(
    trades: Sequence[Trade],
    instrument: str = "",
    results: Sequence[Decimal] | None = None,
    micros: dict[int, int] | None = None,
) -> pl.DataFrame:
    """One row per closed trade: the :data:`TRADE_COLUMNS` plus instrument, commission, result_p.

    Prices and money are strings of Decimals (exact); ``side`` is ``long`` or ``short``.
    ``results``: the trades' ``result`` when the caller has them already (every trade closed).
    ``micros``: as for :func:`_utc_times`, shared with the order frame.
    """
    micros = {} if micros is None else micros
    closed = [t for t in trades if t.closed]  # built column by column: no dict per trade
    if results is None or len(results) != len(closed):
        results = [t.result for t in closed]
    step = Decimal("0.0001")
    columns: dict[str, Any] = {
        "entry_ts": _utc_times([t.entry_ts for t in closed], micros),
        "entry_price": [str(t.entry_price) for t in closed],
        "exit_ts": _utc_times([t.exit_ts for t in closed], micros),
        "exit_price": [str(t.exit_price) for t in closed],
        "lots": [t.lots for t in closed],
        "side": ["long" if t.side is Side.BUY else "short" for t in closed],
        "result": [str(r) for r in results],
        "instrument": pl.repeat(instrument, len(closed), eager=True, dtype=pl.String)
        if instrument
        else [t.instrument for t in closed],
        "commission": [str(t.commission) for t in closed],
        "result_p": [
            str(result_percent(r, t.buy_value).quantize(step))
            for t, r in zip(closed, results, strict=True)
        ],
    }
    schema: dict[str, Any] = {
        "entry_ts": pl.Datetime("us", "UTC"),
        "entry_price": pl.String,
        "exit_ts": pl.Datetime("us", "UTC"),
        "exit_price": pl.String,
        "lots": pl.Int64,
        "side": pl.String,
        "result": pl.String,
        "instrument": pl.String,
        "commission": pl.String,
        "result_p": pl.String,
    }
    return pl.DataFrame(columns, schema=schema)


def _utc_times(
    values: list[datetime | None], micros: dict[int, int]
) -> pl.Series | list[datetime | None]:
    """UTC datetimes as a microsecond column, converted as integers (several times faster than
    polars reading datetime objects); anything else (naive or other zones, all missing) is left
    to polars as it was.

    ``micros``: the conversions so far by the object's ``id`` (a fill's time is the same object
    as its order's update and a trade's entry or exit: each is worked out once). Keyed by ``id``
    because hashing an aware datetime costs more than converting it; sound while every object
    converted stays alive, as the trades and orders of one report do while it is built."""
    out: list[int | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        key = id(v)
        known = micros.get(key)
        if known is None:
            if v.tzinfo is not UTC:
                return values
            since = v - _EPOCH  # (a timedelta's own parts: its // and total_seconds are slower)
            known = micros[key] = (since.days * 86_400 + since.seconds) * 1_000_000 + (
                since.microseconds
            )
        out.append(known)
    if len(out) == out.count(None):
        return values
    return pl.Series(out, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))


def summarize(results: Sequence[Decimal]) -> dict[str, Any]:
    """The domain summary of closed trade results (Decimal money, counts as int)."""
    wins: list[Decimal] = []
    losses: list[Decimal] = []
    win_streak = loss_streak = run_w = run_l = 0
    for r in results:  # one pass: the wins, the losses and the streaks
        if r > 0:
            wins.append(r)
            run_w += 1
            run_l = 0
            if run_w > win_streak:
                win_streak = run_w
        elif r < 0:
            losses.append(r)
            run_l += 1
            run_w = 0
            if run_l > loss_streak:
                loss_streak = run_l
        else:  # break-even ends both
            run_w = run_l = 0
    gross_profit = sum(wins, ZERO)
    gross_loss = sum(losses, ZERO)
    profit = sum(results, ZERO)
    total = len(results)
    return {
        "total": total,
        "wins": len(wins),
        "losses": len(losses),
        "gross_profit": gross_profit,
        "gross_loss": gross_loss,
        "profit": profit,
        "ratio": (gross_profit / -gross_loss) if gross_loss else None,
        "percent_profitable": Decimal(len(wins) * 100) / total if total else ZERO,
        "avg_trade": profit / total if total else ZERO,
        "avg_win": gross_profit / len(wins) if wins else ZERO,
        "avg_loss": gross_loss / len(losses) if losses else ZERO,
        "max_win": max(wins) if wins else ZERO,
        "max_loss": min(losses) if losses else ZERO,
        "win_streak": win_streak,
        "loss_streak": loss_streak,
    }


def max_drawdown(equity: np.ndarray) -> tuple[float, float]:
    """The largest fall from a running peak: (money, percent of that peak)."""
    if equity.size == 0:
        return 0.0, 0.0
    peak = np.maximum.accumulate(equity)
    falls = peak - equity
    i = int(np.argmax(falls))
    money = float(falls[i])
    with np.errstate(divide="ignore", invalid="ignore"):
        pcts = np.where(peak > 0, falls / peak * 100, 0.0)
    pct = float(np.max(pcts)) if pcts.size else 0.0
    return money, pct


def drawdown_curve(equity: np.ndarray) -> np.ndarray:
    """Equity below its running peak (money, <= 0) at each point."""
    if equity.size == 0:
        return equity
    return equity - np.maximum.accumulate(equity)


def daily_returns(ts: np.ndarray, equity: np.ndarray, capital: float) -> np.ndarray:
    """Returns of the last equity of each UTC day, the first against ``capital``."""
    if equity.size == 0:
        return np.zeros(0)
    days = ts // _DAY_NS
    last = np.flatnonzero(np.diff(days) != 0)
    closes = np.concatenate([equity[last], equity[-1:]])
    previous = np.concatenate([[capital], closes[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(previous != 0, closes / previous - 1.0, 0.0)
    return np.asarray(out, dtype=np.float64)


def sharpe(returns: np.ndarray, periods: int = 252) -> float:
    if returns.size < 2:
        return 0.0
    std = float(np.std(returns, ddof=1))
    if std == 0 or not math.isfinite(std):
        return 0.0
    return float(np.mean(returns)) / std * math.sqrt(periods)


def sortino(returns: np.ndarray, periods: int = 252) -> float | None:
    """Mean over downside deviation, annualised; None when there is no downside at all."""
    if returns.size < 2:
        return 0.0
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    if downside == 0:
        return None if float(np.mean(returns)) > 0 else 0.0
    return float(np.mean(returns)) / downside * math.sqrt(periods)


def equity_metrics(
    ts: np.ndarray, equity: np.ndarray, position: np.ndarray, capital: float
) -> dict[str, Any]:
    dd, dd_p = max_drawdown(equity)
    returns = daily_returns(ts, equity, capital)
    final = float(equity[-1]) if equity.size else capital
    return {
        "bars": int(equity.size),
        "capital": capital,
        "final_equity": final,
        "return_p": (final / capital - 1.0) * 100 if capital else 0.0,
        "max_drawdown": dd,
        "max_drawdown_p": dd_p,
        "exposure": float(np.count_nonzero(position)) / position.size if position.size else 0.0,
        "sharpe": sharpe(returns),
        "sortino": sortino(returns),
        "days": int(returns.size),
    }


@dataclass(slots=True)
class Section:
    """The report of one instrument (or of the total)."""

    name: str
    summary: dict[str, Any]
    metrics: dict[str, Any]
    ts: np.ndarray
    equity: np.ndarray
    position: np.ndarray


@dataclass(slots=True)
class Report:
    strategy: str
    params: dict[str, Any]
    sections: list[Section]  # per instrument, then TOTAL
    trades: pl.DataFrame  # every closed trade, with its instrument
    orders: pl.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> Section:
        return self.sections[-1]

    @property
    def rejected(self) -> pl.DataFrame:
        """The orders that were refused (by the pre-trade rules or the market), with the reason."""
        if not self.orders.height:
            return self.orders
        return self.orders.filter(pl.col("status") == OrderStatus.REJECTED.value)

    def section(self, name: str) -> Section:
        for s in self.sections:
            if s.name == name:
                return s
        raise KeyError(name)


def equity_frame(sections: Sequence[Section]) -> pl.DataFrame:
    """Every section's equity curve, drawdown and position: a row per time and section."""
    frames = [
        pl.DataFrame(
            {
                "instrument": pl.repeat(s.name, s.ts.size, eager=True, dtype=pl.String),
                "ts": pl.Series(s.ts, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")),
                "equity": s.equity,
                "drawdown": drawdown_curve(s.equity),
                "position": s.position.astype(np.int64),
            }
        )
        for s in sections
    ]
    return pl.concat(frames) if frames else pl.DataFrame()


def order_frame(results: Sequence[RunResult], micros: dict[int, int] | None = None) -> pl.DataFrame:
    """One row per order of every run (column by column: no dict per order); ``micros`` as for
    :func:`_utc_times`."""
    micros = {} if micros is None else micros
    orders = [o for r in results for o in r.orders]
    if not orders:
        return pl.DataFrame()

    def text(values: Any) -> list[str | None]:
        return [None if v is None else str(v) for v in values]

    columns: dict[str, Any] = {
        "instrument": [o.instrument for o in orders],
        "created_ts": _utc_times([o.created_ts for o in orders], micros),
        "updated_ts": _utc_times([o.updated_ts for o in orders], micros),
        "side": [o.side._value_ for o in orders],  # _value_: the member's value, no descriptor
        "type": [o.type._value_ for o in orders],
        "lots": [o.lots for o in orders],
        "price": text(o.price for o in orders),
        "stop_price": text(o.stop_price for o in orders),
        "status": [o.status._value_ for o in orders],
        "filled_lots": [o.filled_lots for o in orders],
        "avg_fill_price": text(o.avg_fill_price for o in orders),
        "commission": [str(o.commission) for o in orders],
        "reason": [o.reason for o in orders],
    }
    return pl.DataFrame(columns)


def build_report(
    strategy: str,
    params: dict[str, Any],
    results: Sequence[RunResult],
    sections_ready: Callable[[list[Section]], None] | None = None,
) -> Report:
    """The report of ``results``. ``sections_ready`` is given the sections (every instrument's,
    then TOTAL) as soon as they are known, before the trade and order lists are built: a caller
    may begin saving the equity curves meanwhile (engine/backtest/storage.py)."""
    sections: list[Section] = []
    closed_results: list[list[Decimal]] = []
    for r in results:
        closed = [t.result for t in r.trades]  # (a run's trades are its closed ones)
        closed_results.append(closed)
        sections.append(
            Section(
                name=r.instrument.code,
                summary={**summarize(closed), "rejected": _rejected(r)},
                metrics=equity_metrics(r.ts, r.equity, r.position, float(r.capital)),
                ts=r.ts,
                equity=r.equity,
                position=r.position,
            )
        )
    sections.append(_total(results, sections))
    if sections_ready is not None:
        sections_ready(sections)
    micros: dict[int, int] = {}  # (every run's trades and orders live until the report is built)
    trade_frames = [
        trade_frame(r.trades, r.instrument.code, closed, micros)
        for r, closed in zip(results, closed_results, strict=True)
    ]
    table = pl.concat(trade_frames) if trade_frames else trade_frame([])
    table = table.sort("exit_ts", maintain_order=True)
    report = Report(strategy, dict(params), sections, table, order_frame(results, micros))
    rules: dict[str, int] = {}
    for r in results:
        for rule, count in r.rejections.items():
            rules[rule] = rules.get(rule, 0) + count
    report.meta["rejections"] = rules  # refused by the pre-trade rules, per rule
    return report


def _rejected(result: RunResult) -> int:
    """Orders refused (by the pre-trade rules or the market's own checks)."""
    return sum(1 for o in result.orders if o.status is OrderStatus.REJECTED)


def _total(results: Sequence[RunResult], sections: Sequence[Section] | None = None) -> Section:
    """All instruments in one account: capital plus the sum of their PnL on the union of times.

    ``sections``: each run's own; the total of one run is that run (its trades, already in exit
    order, summed in the same order; its equity curve, hence its metrics), so it is taken from
    there, not worked out again."""
    capital = float(results[0].capital) if results else 0.0
    all_trades = sorted(
        (t for r in results for t in r.trades), key=lambda t: (t.exit_ts, t.entry_ts)
    )
    one = sections[0] if sections is not None and len(results) == 1 else None
    if one is not None and all(map(is_, all_trades, results[0].trades)):
        summary = dict(one.summary)
    else:
        summary = summarize([t.result for t in all_trades])
        summary["rejected"] = sum(_rejected(r) for r in results)
    if not results:
        empty = np.zeros(0)
        return Section(
            TOTAL, summary, equity_metrics(empty, empty, empty, capital), empty, empty, empty
        )
    run = results[0]
    if len(results) == 1 and bool(np.all(run.ts[1:] > run.ts[:-1])):
        # already its own sorted unique times, each its own bar: the account's equity is the run's
        ts, equity = run.ts, run.equity
        exposed = np.abs(run.position).astype(np.int64, copy=False)
        if one is not None:
            return Section(TOTAL, summary, dict(one.metrics), ts, equity, exposed)
    else:
        ts = np.unique(np.concatenate([r.ts for r in results]))
        pnl = np.zeros(ts.size)
        exposed = np.zeros(ts.size, dtype=np.int64)
        for r in results:
            idx = np.searchsorted(r.ts, ts, side="right") - 1  # the last bar at or before each
            have = idx >= 0
            pnl[have] += r.equity[idx[have]] - float(r.capital)
            exposed[have] += np.abs(r.position[idx[have]])
        equity = capital + pnl
    return Section(
        TOTAL, summary, equity_metrics(ts, equity, exposed, capital), ts, equity, exposed
    )
