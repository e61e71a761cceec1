"""The simulated market's tape and order book, derived from its price ticks.

Each price tick of :class:`~engine.broker.sim.market.SimMarket` trades the part of the minute's
volume the tick adds (``bar.volume * (slot + 1) // 6`` so far), at the tick's price, in one to three
anonymous trades a microsecond apart (the split and the aggressor of a flat tick are a stable hash of
instrument and time, so a replay gives the same tape). Hence the trades of a minute rebuild its
bar exactly: open, high, low, close and volume (every tick of a minute with at least six lots of
volume trades; the catalog's minutes have far more).

The order book is built around the last trade: its price is the touch on the aggressor's side (a
buy lifted the best ask, so the best ask is that price and the best bid one step below; a sell hit
the best bid, so the best bid is that price and the best ask one step above); the deeper
levels step away by one price step each, with lots shaped by the minute's volume and the same
stable hash. Resting limit orders of the market's own clients are added to their price levels.
``limit_up`` / ``limit_down`` are the price band (``PRICE_BAND`` around the last price) outside
which orders are refused.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from engine.broker.base import BrokerError
from engine.broker.sim.market import MarketTick
from engine.model import BOOK_DEPTHS, BookLevel, Instrument, MarketTrade, OrderBook, Side

PRICE_BAND = Decimal("0.2")  # the day's price limits: 20% around the last price
KEEP = timedelta(hours=1)  # how much tape is kept per instrument (what GetLastTrades can give)


def _hash(*parts: object) -> int:
    return zlib.crc32("|".join(str(p) for p in parts).encode())


def _mix(seed: int, k: int) -> int:
    """A stable pseudo-random 32-bit number from ``seed`` and ``k`` (an integer hash mix)."""
    x = (seed ^ (k * 0x9E3779B1)) & 0xFFFFFFFF
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    return x ^ (x >> 16)


def tick_trades(
    instrument: Instrument, ts: datetime, price: Decimal, lots: int, previous: Decimal | None
) -> list[MarketTrade]:
    """The anonymous trades of one tick: ``lots`` at ``price`` in 1-3 trades a microsecond apart
    (distinct times: the tape has no trade ids, the time tells trades apart)."""
    if lots <= 0:
        return []
    h = _hash(instrument.code, ts.isoformat())
    count = min(lots, 1 + h % 3)
    base, extra = divmod(lots, count)
    if previous is None or price == previous:
        side = Side.BUY if (h >> 4) & 1 else Side.SELL
    else:
        side = Side.BUY if price > previous else Side.SELL
    return [
        MarketTrade(
            instrument.code,
            ts + timedelta(microseconds=i),
            price,
            base + (1 if i < extra else 0),
            side,
        )
        for i in range(count)
    ]


@dataclass(slots=True)
class _Minute:
    ts: datetime  # the minute's start
    volume: int  # lots traded so far in the minute


class Tape:
    """Trades from a market's ticks; keeps the last hour of each instrument."""

    def __init__(self, keep: timedelta = KEEP) -> None:
        self.keep = keep
        self._minutes: dict[str, _Minute] = {}
        self._last: dict[str, Decimal] = {}
        self._side: dict[str, Side] = {}
        self._volume: dict[str, int] = {}  # the volume of the minute in progress (or the last)
        self._recent: dict[str, deque[MarketTrade]] = {}

    def on_ticks(self, ticks: Iterable[MarketTick]) -> list[MarketTrade]:
        """The trades of these ticks, in time order (also kept for :meth:`trades`)."""
        out: list[MarketTrade] = []
        for tick in ticks:
            if tick.closed:
                continue
            code = tick.instrument.code
            minute = self._minutes.get(code)
            done = minute.volume if minute is not None and minute.ts == tick.bar.ts else 0
            lots = tick.bar.volume - done
            self._minutes[code] = _Minute(tick.bar.ts, tick.bar.volume)
            self._volume[code] = tick.bar.volume
            trades = tick_trades(tick.instrument, tick.ts, tick.price, lots, self._last.get(code))
            self._last[code] = tick.price
            if not trades:
                continue
            self._side[code] = trades[-1].side or Side.BUY
            recent = self._recent.setdefault(code, deque())
            recent.extend(trades)
            horizon = trades[-1].ts - self.keep
            while recent and recent[0].ts < horizon:
                recent.popleft()
            out.extend(trades)
        return out

    def trades(
        self, code: str, begin: datetime | None = None, end: datetime | None = None
    ) -> list[MarketTrade]:
        """Kept trades of ``code`` with ``begin <= ts < end`` (either bound may be None)."""
        return [
            t
            for t in self._recent.get(code, ())
            if (begin is None or t.ts >= begin) and (end is None or t.ts < end)
        ]

    def last_price(self, code: str) -> Decimal | None:
        return self._last.get(code)

    def last_side(self, code: str) -> Side | None:
        """The aggressor of the last trade of ``code`` (None before the first)."""
        return self._side.get(code)

    def minute_volume(self, code: str) -> int:
        return self._volume.get(code, 0)


def price_limits(instrument: Instrument, price: Decimal) -> tuple[Decimal, Decimal]:
    """(limit_down, limit_up): the band around ``price``, on the price step, inside the band."""
    step = instrument.step
    up = (price * (1 + PRICE_BAND) / step).to_integral_value(rounding=ROUND_FLOOR) * step
    down = (price * (1 - PRICE_BAND) / step).to_integral_value(rounding=ROUND_CEILING) * step
    return max(down, step), up


def valid_depth(depth: int) -> int:
    """``depth`` when a book of that depth is offered, else a clear error."""
    if depth not in BOOK_DEPTHS:
        raise BrokerError(
            f"order book depth {depth} is not offered",
            hint=f"Use one of {', '.join(map(str, BOOK_DEPTHS))}.",
        )
    return depth


def make_book(
    instrument: Instrument,
    price: Decimal,
    ts: datetime,
    depth: int,
    *,
    side: Side | None = None,
    volume: int = 0,
    resting: Iterable[tuple[Side, Decimal, int]] = (),
) -> OrderBook:
    """The order book around the last trade at ``price`` (see the module doc).

    ``side``: that trade's aggressor (None: a buy); ``volume``: the lots of the minute (shapes the
    level sizes); ``resting``: (side, limit price, lots) of the market's own resting limit orders,
    added to their levels.
    """
    step = instrument.step
    down, up = price_limits(instrument, price)
    base = max(1, volume // 6)
    best_ask = price + step if side is Side.SELL else price
    best_bid = best_ask - step
    asks: dict[Decimal, int] = {}
    bids: dict[Decimal, int] = {}
    seed = _hash(instrument.code, ts.isoformat())
    for i in range(depth):
        ask = best_ask + step * i
        bid = best_bid - step * i
        size = base * (10 + 2 * i)  # deeper levels hold more
        if ask <= up:
            asks[ask] = max(1, size * (50 + _mix(seed, 2 * i) % 100) // 1000)  # x 0.5 .. 1.49
        if bid >= down:
            bids[bid] = max(1, size * (50 + _mix(seed, 2 * i + 1) % 100) // 1000)
    added = False
    for order_side, limit, lots in resting:
        if lots <= 0:
            continue
        if order_side is Side.BUY and down <= limit <= best_bid:
            bids[limit] = bids.get(limit, 0) + lots
            added = True
        elif order_side is Side.SELL and best_ask <= limit <= up:
            asks[limit] = asks.get(limit, 0) + lots
            added = True
    if added:  # a resting order may open a level of its own: the sides in price order again
        bids = {p: bids[p] for p in sorted(bids, reverse=True)[:depth]}
        asks = {p: asks[p] for p in sorted(asks)[:depth]}
    return OrderBook(
        instrument=instrument.code,
        ts=ts,
        bids=tuple(map(BookLevel, bids.keys(), bids.values())),
        asks=tuple(map(BookLevel, asks.keys(), asks.values())),
        depth=depth,
        limit_up=up,
        limit_down=down,
    )
