"""Positions and round-trip trades, accounted in Decimal.

A position holds signed lots (long > 0, short < 0) at an average price per share. A fill that
reduces it realises PnL against the average price; a fill that crosses zero closes the position and
opens the opposite one at the fill price. A trade (round trip) opens with a fill from flat and closes
when the net quantity returns to zero: ``result = sell value - buy value - commission``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.model.copying import by_fields
from engine.model.order import Fill, Side

ZERO = Decimal(0)


@dataclass(slots=True, init=False)  # __init__ by hand: mypyc compiles it (engine/native.py)
class Trade:
    instrument: str
    side: Side  # BUY for a long round trip, SELL for a short one
    entry_ts: datetime
    entry_price: Decimal = ZERO  # average entry price per share
    lots: int = 0  # the largest absolute size reached
    buy_value: Decimal = ZERO
    sell_value: Decimal = ZERO
    commission: Decimal = ZERO
    exit_ts: datetime | None = None
    exit_price: Decimal | None = None  # average exit price per share
    strategy: str = ""
    _entered_lots: int = 0
    _exited_lots: int = 0
    _exit_value: Decimal = ZERO

    def __init__(
        self,
        instrument: str,
        side: Side,
        entry_ts: datetime,
        entry_price: Decimal = ZERO,
        lots: int = 0,
        buy_value: Decimal = ZERO,
        sell_value: Decimal = ZERO,
        commission: Decimal = ZERO,
        exit_ts: datetime | None = None,
        exit_price: Decimal | None = None,
        strategy: str = "",
        _entered_lots: int = 0,
        _exited_lots: int = 0,
        _exit_value: Decimal = ZERO,
    ) -> None:
        self.instrument = instrument
        self.side = side
        self.entry_ts = entry_ts
        self.entry_price = entry_price
        self.lots = lots
        self.buy_value = buy_value
        self.sell_value = sell_value
        self.commission = commission
        self.exit_ts = exit_ts
        self.exit_price = exit_price
        self.strategy = strategy
        self._entered_lots = _entered_lots
        self._exited_lots = _exited_lots
        self._exit_value = _exit_value

    def __reduce__(self) -> tuple[Any, ...]:
        return by_fields(self)  # copy and pickle through __init__ (engine/model/copying.py)

    @property
    def closed(self) -> bool:
        return self.exit_ts is not None

    @property
    def result(self) -> Decimal:
        return self.sell_value - self.buy_value - self.commission

    @property
    def result_p(self) -> Decimal:
        return result_percent(self.result, self.buy_value)


def result_percent(result: Decimal, buy_value: Decimal) -> Decimal:
    """A round trip's result in percent of what its buys cost (0 without buys)."""
    return ZERO if buy_value == 0 else result / buy_value * 100


@dataclass(slots=True)
class Position:
    instrument: str
    lot_size: int = 1  # shares per lot
    lots: int = 0  # signed
    avg_price: Decimal = ZERO  # per share, of the open quantity
    realized: Decimal = ZERO  # realised PnL before commission
    commission: Decimal = ZERO
    last_price: Decimal | None = None
    account: str = ""
    trades: list[Trade] = field(default_factory=list)

    def __reduce__(self) -> tuple[Any, ...]:
        return by_fields(self)  # copy and pickle through __init__ (engine/model/copying.py)

    @property
    def is_flat(self) -> bool:
        return self.lots == 0

    @property
    def open_trade(self) -> Trade | None:
        if self.trades and not self.trades[-1].closed:
            return self.trades[-1]
        return None

    def unrealized(self, price: Decimal | None = None) -> Decimal:
        mark = self.last_price if price is None else price
        if mark is None or self.lots == 0:
            return ZERO
        return (mark - self.avg_price) * self.lots * self.lot_size

    def total_pnl(self, price: Decimal | None = None) -> Decimal:
        """Realised plus unrealised PnL, net of commission."""
        return self.realized + self.unrealized(price) - self.commission

    def market_value(self, price: Decimal | None = None) -> Decimal:
        mark = self.last_price if price is None else price
        if mark is None:
            mark = self.avg_price
        return mark * self.lots * self.lot_size

    def apply_fill(self, fill: Fill) -> None:
        lots = fill.lots
        if lots <= 0:
            raise ValueError(f"fill of {lots} lots")
        commission = fill.commission
        self.commission += commission
        if self.last_price is None:
            self.last_price = fill.price
        held = self.lots
        if held == 0 or (held > 0) is (fill.side is Side.BUY):
            self._open(fill, lots, commission)
            return
        closing = min(lots, abs(held))
        share = commission * closing / lots if commission else commission  # (0 shares as 0)
        self._close(fill, closing, share)
        if lots > closing:
            self._open(fill, lots - closing, commission - share)

    def _open(self, fill: Fill, lots: int, commission: Decimal) -> None:
        held = self.lots
        new_lots = held + lots if fill.side is Side.BUY else held - lots
        if held:
            self.avg_price = (self.avg_price * abs(held) + fill.price * lots) / abs(new_lots)
        else:  # from flat the fill's price is the average (the Decimal the sum above gives)
            self.avg_price = fill.price
        self.lots = new_lots
        trade = self.open_trade
        if trade is None:
            trade = Trade(self.instrument, fill.side, fill.ts)
            self.trades.append(trade)
        trade._entered_lots += lots
        trade.entry_price = self.avg_price
        trade.lots = max(trade.lots, abs(new_lots))
        _book(trade, fill, fill.price * (lots * self.lot_size), commission)

    def _close(self, fill: Fill, lots: int, commission: Decimal) -> None:
        price = fill.price
        held = self.lots
        if held > 0:
            self.realized += (price - self.avg_price) * (lots * self.lot_size)
            self.lots = held - lots
        else:
            self.realized -= (price - self.avg_price) * (lots * self.lot_size)
            self.lots = held + lots
        trade = self.open_trade
        assert trade is not None, "a reducing fill always has an open trade"
        trade._exited_lots += lots
        trade._exit_value += price * lots
        _book(trade, fill, price * (lots * self.lot_size), commission)
        if self.lots == 0:
            self.avg_price = ZERO
            trade.exit_ts = fill.ts
            trade.exit_price = trade._exit_value / trade._exited_lots


def _book(trade: Trade, fill: Fill, value: Decimal, commission: Decimal) -> None:
    """Add a fill's money ``value`` (and its commission share) to the round trip."""
    if fill.side is Side.BUY:
        trade.buy_value += value
    else:
        trade.sell_value += value
    trade.commission += commission
