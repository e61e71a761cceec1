"""The vectorised backtest of a :class:`~engine.strategy.rules.Rule`: signals with polars, the
position state machine and the fills with numba, trades at the next bar's open.

The fill rules are the event-driven backtester's for market orders: a signal at the close of bar
``i`` fills at the open of bar ``i + 1`` (a signal on the last bar never fills), commission per
fill ``rate`` of its value rounded half up to 0.01, slippage ``ticks`` price steps against the
trader. :meth:`VectorResult.trades` books the fills through the engine's
:class:`~engine.model.Position` (Decimal, identical round trips); ``result`` arrays are floats for
speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import polars as pl
from numba import njit

from engine.broker.sim.matching import DEFAULT_COMMISSION, commission_for
from engine.model import Fill, Instrument, Position, Side, Trade
from engine.strategy.rules import Rule

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@njit(cache=True)
def _targets(
    el: np.ndarray, xl: np.ndarray, es: np.ndarray, xs: np.ndarray, lots: int
) -> np.ndarray:  # pragma: no cover - jitted
    n = el.shape[0]
    out = np.zeros(n, dtype=np.int64)
    position = 0
    for i in range(n):
        target = position
        if (position > 0 and xl[i]) or (position < 0 and xs[i]):
            target = 0
        if el[i]:
            target = lots
        elif es[i]:
            target = -lots
        out[i] = target
        position = target
    return out


@njit(cache=True)
def _round_trips(
    fill_idx: np.ndarray, fill_delta: np.ndarray, price: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - jitted
    """Closed trades of a position that only ever is 0 or +-L: entry/exit fill, side, lots."""
    m = fill_idx.shape[0]
    entry = np.empty(m, dtype=np.int64)
    exit_ = np.empty(m, dtype=np.int64)
    side = np.empty(m, dtype=np.int64)
    size = np.empty(m, dtype=np.int64)
    k = 0
    position = 0
    opened = -1
    for j in range(m):
        new = position + fill_delta[j]
        if position != 0 and (new == 0 or (new > 0) != (position > 0)):
            entry[k] = opened
            exit_[k] = j
            side[k] = 1 if position > 0 else -1
            size[k] = abs(position)
            k += 1
            opened = j if new != 0 else -1
        elif position == 0 and new != 0:
            opened = j
        position = new
    return entry[:k], exit_[:k], side[:k], size[:k]


@dataclass(slots=True)
class VectorResult:
    instrument: Instrument
    ts: np.ndarray  # int64 ns per bar
    fill_bar: np.ndarray  # bar index of each fill
    fill_lots: np.ndarray  # signed lots of each fill
    fill_price: np.ndarray  # float price of each fill
    position: np.ndarray  # lots at each bar's close
    trade_entry: np.ndarray  # fill index of each closed trade's entry
    trade_exit: np.ndarray
    trade_side: np.ndarray  # +1 long, -1 short
    trade_lots: np.ndarray
    commission: Decimal
    slippage: Decimal

    @property
    def trade_count(self) -> int:
        return int(self.trade_entry.shape[0])

    def bar_time(self, bar: int) -> datetime:
        return _EPOCH + timedelta(microseconds=int(self.ts[bar]) // 1000)

    def fills(self) -> list[Fill]:
        inst = self.instrument
        out = []
        for j in range(self.fill_bar.shape[0]):
            lots = int(self.fill_lots[j])
            side = Side.BUY if lots > 0 else Side.SELL
            price = inst.round_price(float(self.fill_price[j]))
            price += self.slippage if side is Side.BUY else -self.slippage
            out.append(
                Fill(
                    order_id=f"vector-{j}",
                    instrument=inst.code,
                    side=side,
                    lots=abs(lots),
                    price=price,
                    commission=commission_for(inst.value(price, abs(lots)), self.commission),
                    ts=self.bar_time(int(self.fill_bar[j])),
                    fill_id=f"vector-fill-{j}",
                )
            )
        return out

    def trades(self) -> list[Trade]:
        """Closed round trips booked by the engine's Position accounting (exact Decimal)."""
        position = Position(self.instrument.code, lot_size=self.instrument.lot)
        for fill in self.fills():
            position.apply_fill(fill)
        return [t for t in position.trades if t.closed]

    def results(self) -> np.ndarray:
        """Float result of each closed trade before commission (fast, for large runs)."""
        entry = self.fill_price[self.trade_entry]
        exit_ = self.fill_price[self.trade_exit]
        return (exit_ - entry) * self.trade_side * self.trade_lots * self.instrument.lot


def run_rule(
    rule: Rule,
    bars: pl.DataFrame,
    instrument: Instrument,
    *,
    commission: Decimal = DEFAULT_COMMISSION,
    slippage_ticks: int = 0,
) -> VectorResult:
    """Backtest ``rule`` over ``bars`` at once (see the module doc)."""
    frame = bars if bars["ts"].is_sorted() else bars.sort("ts")
    sig = rule.signals(frame)
    arrays = [np.asarray(sig[k].to_numpy(), dtype=np.bool_) for k in Rule.SIGNALS]
    return run_signals(
        arrays, rule.lots, frame, instrument, commission=commission, slippage_ticks=slippage_ticks
    )


def run_signals(
    signals: list[np.ndarray],
    lots: int,
    frame: pl.DataFrame,
    instrument: Instrument,
    *,
    commission: Decimal = DEFAULT_COMMISSION,
    slippage_ticks: int = 0,
) -> VectorResult:
    """:func:`run_rule` from the rule's boolean signal arrays (``Rule.SIGNALS`` order), one
    value per bar of ``frame`` (sorted by time)."""
    target = _targets(signals[0], signals[1], signals[2], signals[3], lots)
    n = target.shape[0]
    previous = np.concatenate((np.zeros(1, dtype=np.int64), target[:-1]))
    delta = target - previous
    signal_bars = np.flatnonzero(delta[: max(n - 1, 0)])  # a signal on the last bar never fills
    fill_bar = signal_bars + 1
    fill_lots = delta[signal_bars]
    opens = frame["open"].to_numpy().astype(np.float64)
    fill_price = opens[fill_bar]
    # the lots held at each close: the previous bar's target, filled at this bar's open
    position = previous
    entry, exit_, side, size = _round_trips(fill_bar, fill_lots, fill_price)
    return VectorResult(
        instrument=instrument,
        ts=frame["ts"].cast(pl.Int64).to_numpy(),
        fill_bar=fill_bar,
        fill_lots=fill_lots,
        fill_price=fill_price,
        position=position,
        trade_entry=entry,
        trade_exit=exit_,
        trade_side=side,
        trade_lots=size,
        commission=Decimal(commission),
        slippage=instrument.step * slippage_ticks,
    )
