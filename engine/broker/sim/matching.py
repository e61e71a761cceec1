"""The matching engine: working orders against a stream of prices (or bars), synchronously.

It is pure (no clock, no I/O): feed it prices with :meth:`MatchingEngine.on_price` or whole bars
with :meth:`MatchingEngine.on_bar` (the backtester) and it returns the fills, already applied to the
orders (``Order.apply_fill``). Orders are filled whole, in the order they were added.

Rules (no look-ahead: an order only sees prices that arrive after it was added):

- MARKET fills at the next price.
- LIMIT buy fills when a price <= limit arrives (sell: >= limit). If the price crossed the limit
  continuously (the previous price was on the other side, no session gap in between) the fill is at
  the limit price; if it gapped through the limit, or the order was already marketable when it
  arrived, the fill is at that (better) price.
- TAKE_PROFIT is the same as a limit at ``stop_price`` (sell when the price rises to it, buy when it
  falls to it), filled as a market order.
- STOP (stop-market) buy triggers when a price >= stop arrives (sell: <= stop). It fills at the stop
  price when crossed continuously and at the trigger price after a gap or when already through the
  stop on arrival (the worse price).
- STOP_LIMIT triggers like STOP and becomes a LIMIT at ``price``, checked against the triggering
  price at once as if it had just arrived.
- Slippage (``slippage_ticks``, 0 by default) makes every fill that many price steps worse for
  the order (higher for a buy, lower for a sell) than the rules above give.
- Commission is ``commission_rate`` of the fill value, rounded half-up to 0.01.

Fill ids are ``{fill_prefix}{n}``; a market that outlives one engine run (the simulated broker)
gives each instance its own prefix, so no id is ever reused: the engine deduplicates fills by id.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from engine.model import Bar, Fill, Instrument, Order, OrderType, Side

DEFAULT_COMMISSION = Decimal("0.0005")  # 0.05% of value
_CENT = Decimal("0.01")
_NO_COMMISSION = Decimal("0.00")


def commission_for(value: Decimal, rate: Decimal) -> Decimal:
    if not rate and value >= 0:  # no commission (a backtest's --commission 0): the same 0.00
        return _NO_COMMISSION
    return (value * rate).quantize(_CENT, rounding=ROUND_HALF_UP)


def check_order(order: Order, instrument: Instrument, *, market_open: bool = True) -> str | None:
    """Why the order cannot be accepted (plain words), or None if it can."""
    if order.lots <= 0:
        return f"lots must be positive, got {order.lots}"
    if order.type is OrderType.MARKET and order.price is None and order.stop_price is None:
        return None if market_open else "market closed"
    for label, price in (("price", order.price), ("stop price", order.stop_price)):
        if price is None:
            continue
        if price <= 0:
            return f"{label} must be positive, got {price}"
        if price % instrument.step != 0:
            return (
                f"{label} {price} is not a multiple of the price step {instrument.step} "
                f"of {instrument.code}"
            )
    if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and order.price is None:
        return f"a {order.type.value} order needs a price"
    stops = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT)
    if order.type in stops and order.stop_price is None:
        return f"a {order.type.value} order needs a stop price"
    if order.type is OrderType.MARKET and not market_open:
        return "market closed"
    return None


def bar_path(bar: Bar) -> list[float]:
    """The prices a bar is assumed to have traded through: open, nearer extreme... close.

    A rising bar goes open, low, high, close; a falling (or flat) one open, high, low, close.
    """
    return price_path(bar.open, bar.high, bar.low, bar.close)


def price_path(open_: float, high: float, low: float, close: float) -> list[float]:
    """:func:`bar_path` of a bar given by its prices."""
    if close > open_:
        return [open_, low, high, close]
    return [open_, high, low, close]


def _touch(price: Decimal, level: Decimal, ref: Decimal | None, *, below: bool) -> Decimal | None:
    """The fill price when ``price`` reached ``level`` (from above if ``below``), else None."""
    if below:
        if price > level:
            return None
        return level if ref is not None and ref > level else price
    if price < level:
        return None
    return level if ref is not None and ref < level else price


@dataclass(slots=True, init=False)  # __init__ by hand: mypyc compiles it (engine/native.py)
class Working:
    order: Order
    instrument: Instrument
    triggered: bool = False  # a STOP_LIMIT whose stop was crossed (now a limit)

    def __init__(self, order: Order, instrument: Instrument, triggered: bool = False) -> None:
        self.order = order
        self.instrument = instrument
        self.triggered = triggered


class MatchingEngine:
    """Working orders per instrument code, matched against incoming prices."""

    def __init__(
        self,
        commission_rate: Decimal = DEFAULT_COMMISSION,
        *,
        slippage_ticks: int = 0,
        fill_prefix: str = "sim-fill-",
    ) -> None:
        if slippage_ticks < 0:
            raise ValueError(f"slippage must not be negative, got {slippage_ticks}")
        self.commission_rate = Decimal(commission_rate)
        self.slippage_ticks = slippage_ticks  # each fill this many price steps worse
        self._working: dict[str, Working] = {}
        self._last: dict[str, Decimal] = {}
        self._fill_ids = itertools.count(1)
        self._fill_prefix = fill_prefix

    def commission(self, instrument: Instrument, price: Decimal, lots: int) -> Decimal:
        return commission_for(instrument.value(price, lots), self.commission_rate)

    def last_price(self, code: str) -> Decimal | None:
        return self._last.get(code.upper())

    def add(self, order: Order, instrument: Instrument) -> None:
        """Start working an accepted order; it will see only prices that arrive from now on."""
        if not order.is_open:
            raise ValueError(f"order {order.id} is {order.status.value}, not working")
        self._working[order.id] = Working(order, instrument)

    def remove(self, order_id: str) -> Order | None:
        """Stop working an order (cancel); returns it, or None if it was not working."""
        working = self._working.pop(order_id, None)
        return None if working is None else working.order

    def orders(self) -> list[Order]:
        return [w.order for w in self._working.values()]

    def is_working(self, order_id: str) -> bool:
        return order_id in self._working

    def on_price(self, code: str, price: Decimal, ts: datetime, *, gap: bool = False) -> list[Fill]:
        """A new price for ``code``: fill what it reaches; ``gap`` when it may have jumped."""
        code = code.upper()
        ref = None if gap else self._last.get(code)
        fills: list[Fill] = []
        rate = self.commission_rate
        for working in [w for w in self._working.values() if w.instrument.code == code]:
            order = working.order
            if order.type is OrderType.MARKET:
                fill_price = price
            else:
                matched = self._match(working, price, ref)
                if matched is None:
                    continue
                fill_price = matched
            if self.slippage_ticks:
                slip = working.instrument.step * self.slippage_ticks
                fill_price = fill_price + slip if order.side is Side.BUY else fill_price - slip
            lots = order.remaining_lots
            fill = Fill(  # positional (twice as fast as keywords): Fill's field order
                order.id,
                code,
                order.side,
                lots,
                fill_price,
                commission_for(fill_price * (lots * working.instrument.lot), rate),
                ts,
                f"{self._fill_prefix}{next(self._fill_ids)}",
                order.account,
            )
            order.apply_fill(fill)
            if not order.is_open:
                del self._working[order.id]
            fills.append(fill)
        self._last[code] = price
        return fills

    def on_bar(
        self, instrument: Instrument, bar: Bar, *, gap: bool = True, ts: datetime | None = None
    ) -> list[Fill]:
        """Match a whole bar along :func:`bar_path` (its open after a gap when ``gap``)."""
        fills: list[Fill] = []
        when = bar.ts if ts is None else ts
        for i, value in enumerate(bar_path(bar)):
            price = instrument.round_price(value)
            fills.extend(self.on_price(instrument.code, price, when, gap=gap and i == 0))
        return fills

    def _match(self, working: Working, price: Decimal, ref: Decimal | None) -> Decimal | None:
        order = working.order
        buy = order.side is Side.BUY
        kind = order.type
        if kind is OrderType.MARKET:
            return price
        if kind is OrderType.LIMIT:
            assert order.price is not None
            return _touch(price, order.price, ref, below=buy)
        assert order.stop_price is not None
        if kind is OrderType.TAKE_PROFIT:
            return _touch(price, order.stop_price, ref, below=buy)
        if kind is OrderType.STOP:
            return _touch(price, order.stop_price, ref, below=not buy)
        # STOP_LIMIT
        if not working.triggered:
            if _touch(price, order.stop_price, ref, below=not buy) is None:
                return None
            working.triggered = True
            ref = None  # the limit order arrives at this price
        assert order.price is not None
        return _touch(price, order.price, ref, below=buy)
