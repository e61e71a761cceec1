"""The replay clock of the simulated market.

Simulated time starts at ``start`` (default: the main-session open of the most recent weekday before
today) and is replayed in *slots*: each session minute has ``TICKS_PER_MINUTE`` price ticks at
seconds 0, 10, ..., 50 and then a close at second 60. The ticks follow a path consistent with the
minute's OHLC (open, halfway to the first extreme, the first extreme, halfway to the second, the
second extreme, close; the low comes first in a rising minute, the high first in a falling one),
so the in-progress bar moves and the closed bar is exactly the generated one. Closed hours and
weekends are skipped instantly.

Driving it:

- :meth:`SimMarket.step` emits the next slot (ticks for every instrument) synchronously;
  :meth:`advance` and :meth:`advance_to` repeat it. Tests use these: no sleeping.
- :meth:`SimMarket.seek` jumps forward without emitting: a restarted robot carries on the replay
  from where the previous run stopped.
- :meth:`SimMarket.run` is the real-time loop: ``speed`` simulated seconds per real second, paced
  with ``asyncio.sleep``; it calls the same :meth:`step`.

Listeners (``add_listener``) receive each slot's ticks as a list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from engine.broker.sim import session
from engine.broker.sim.generator import DEFAULT_SEED, BarGenerator
from engine.data.sim_catalog import SIM_INSTRUMENTS
from engine.model import Bar, Instrument, as_utc

TICKS_PER_MINUTE = 6
TICK_SECONDS = 60 // TICKS_PER_MINUTE
CLOSE_SLOT = TICKS_PER_MINUTE  # the slot index of a minute's close (at second 60)
DEFAULT_SPEED = 240.0  # simulated seconds per real second: one simulated minute every 0.25 s


@dataclass(frozen=True, slots=True)
class MarketTick:
    """One instrument in one slot.

    ``closed`` False: a new price (``price``) and the minute's bar so far (provisional).
    ``closed`` True: the minute closed; ``bar`` is the complete 1-minute bar and ``price`` its
    close (the same as the last tick's: not a new price).
    ``gap`` is True on the first tick of a session, when the price may jump from the last close.
    """

    instrument: Instrument
    ts: datetime
    price: Decimal
    bar: Bar
    closed: bool
    gap: bool = False


Listener = Callable[[list[MarketTick]], None]


def tick_path(instrument: Instrument, bar: Bar) -> list[Decimal]:
    """The ``TICKS_PER_MINUTE`` prices of a minute, consistent with its OHLC, on the price step."""
    if bar.close >= bar.open:
        first, second = bar.low, bar.high
    else:
        first, second = bar.high, bar.low
    points = [
        bar.open,
        (bar.open + first) / 2,
        first,
        (first + second) / 2,
        second,
        bar.close,
    ]
    return [instrument.round_price(p) for p in points]


class SimMarket:
    """The simulated market: a deterministic bar generator replayed on a clock."""

    def __init__(
        self,
        instruments: Iterable[Instrument] = SIM_INSTRUMENTS,
        *,
        seed: int = DEFAULT_SEED,
        speed: float = DEFAULT_SPEED,
        start: datetime | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.instruments: tuple[Instrument, ...] = tuple(instruments)
        self.generator = BarGenerator(seed)
        self.seed = seed
        self.speed = speed
        self.start = session.default_start() if start is None else as_utc(start)
        self._now = self.start
        self._minute = session.next_session_minute(self.start)  # the minute being replayed
        self._slot = 0
        self._first = True
        self._paths: dict[str, tuple[Bar, list[Decimal]]] = {}
        self._listeners: list[Listener] = []

    # --- clock -----------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """Simulated time of the last emitted slot (or ``start`` before the first)."""
        return self._now

    @property
    def next_time(self) -> datetime:
        """Simulated time of the next slot."""
        return self._minute + timedelta(seconds=TICK_SECONDS * self._slot)

    @property
    def is_open(self) -> bool:
        """True while the session trades: a market order now would fill at the next tick."""
        return session.is_open(self._now) and session.is_open(self._minute)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    # --- data ------------------------------------------------------------------------------

    def minute_bar(self, instrument: Instrument, minute: datetime) -> Bar:
        """The generated 1-minute bar starting at ``minute`` (a session minute)."""
        day = self.generator.day(instrument, minute.date())
        index = int((minute - session.session_open(minute.date())) // session.MINUTE)
        return day.bar(index)

    def reference_price(self, instrument: Instrument) -> Decimal:
        """The price a market order would most likely get: the open of the next minute to trade
        (or the current tick path's next price within a minute)."""
        path = self._paths.get(instrument.code)
        if path is not None and self._slot < TICKS_PER_MINUTE:
            return path[1][self._slot]
        minute = self._minute if self._slot == 0 else self._minute + session.MINUTE
        minute = session.next_session_minute(minute)
        return instrument.round_price(self.minute_bar(instrument, minute).open)

    def seek(self, ts: datetime) -> bool:
        """Carry on the replay from the session minute holding ``ts`` (a previous run's clock),
        without emitting anything; never backwards. True when the clock moved."""
        minute = session.next_session_minute(as_utc(ts).replace(second=0, microsecond=0))
        if minute <= self.next_time:
            return False
        self._now = self._minute = minute
        self._slot = 0
        self._first = True
        self._paths = {}
        return True

    # --- replay ----------------------------------------------------------------------------

    def step(self) -> list[MarketTick]:
        """Emit the next slot for every instrument and move the clock to it."""
        ts = self.next_time
        slot = self._slot
        gap = slot == 0 and (self._first or ts == session.session_open(ts.date()))
        if slot == 0:
            self._paths = {}
            for instrument in self.instruments:
                bar = self.minute_bar(instrument, self._minute)
                self._paths[instrument.code] = (bar, tick_path(instrument, bar))
        ticks: list[MarketTick] = []
        for instrument in self.instruments:
            bar, path = self._paths[instrument.code]
            if slot == CLOSE_SLOT:
                ticks.append(MarketTick(instrument, ts, path[-1], bar, closed=True))
                continue
            seen = path[: slot + 1]
            partial = Bar(
                ts=bar.ts,
                open=bar.open,
                high=float(max(seen)),
                low=float(min(seen)),
                close=float(seen[-1]),
                volume=bar.volume * (slot + 1) // TICKS_PER_MINUTE,
            )
            ticks.append(MarketTick(instrument, ts, path[slot], partial, closed=False, gap=gap))
        self._now = ts
        self._first = False
        if slot == CLOSE_SLOT:
            self._slot = 0
            self._minute = session.next_session_minute(self._minute + session.MINUTE)
        else:
            self._slot += 1
        for listener in list(self._listeners):
            listener(ticks)
        return ticks

    def advance(self, minutes: int = 1) -> list[MarketTick]:
        """Step until ``minutes`` minute closes have been emitted; returns all ticks."""
        out: list[MarketTick] = []
        closes = 0
        while closes < minutes:
            closing = self._slot == CLOSE_SLOT
            out.extend(self.step())
            closes += closing
        return out

    def advance_to(self, ts: datetime) -> list[MarketTick]:
        """Emit every slot at or before ``ts``; the clock ends at ``ts`` if nothing is due then."""
        ts = as_utc(ts)
        out: list[MarketTick] = []
        while self.next_time <= ts:
            out.extend(self.step())
        self._now = max(self._now, ts)
        return out

    async def run(self) -> None:
        """Replay in real time (``speed`` simulated seconds per real second) until cancelled."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            delta = (self.next_time - self._now).total_seconds()
            if 0 < delta <= 60:  # within a session; a longer gap is closed hours: skip it
                due += delta / self.speed
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            else:
                if wait < -1.0:  # fell far behind (a busy loop): do not burst to catch up
                    due = loop.time()
                await asyncio.sleep(0)
            self.step()
