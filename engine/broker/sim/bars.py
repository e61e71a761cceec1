"""Bars of the simulated market: history up to its clock, and the bars of live subscriptions.

:func:`history` answers ``candles`` from the deterministic generator (complete bars only, up to the
simulated now). :class:`BarStreams` turns each tick into ``BarEvent``s for every subscribed
timeframe: 1-minute bars as the market gives them, coarser ones aggregated from the minutes, each
closed exactly once (a frame is closed when no further session minute can fall into it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from engine.broker.base import BarEvent, BrokerEvent
from engine.broker.sim import session
from engine.broker.sim.generator import DayBars
from engine.broker.sim.market import MarketTick, SimMarket
from engine.model import Bar, Instrument, TimeFrame, as_utc
from engine.model.aggregation import BarAggregator

_TINY = timedelta(microseconds=1)
_MINUTE_NS = 60 * 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ns(ts: datetime) -> int:
    return (ts - _EPOCH) // _TINY * 1000


def frame_complete(timeframe: TimeFrame, frame_ts: datetime, now: datetime) -> bool:
    """True when no more session minutes can fall into the frame starting at ``frame_ts``."""
    return session.next_session_minute(now) >= timeframe.next(frame_ts)


def history(
    market: SimMarket, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
) -> list[Bar]:
    """Complete ``timeframe`` bars of ``instrument`` with ``begin <= ts < end``, up to the
    market's now."""
    begin, end, now = as_utc(begin), as_utc(end), market.now
    if end <= begin:
        return []
    if timeframe is TimeFrame.M1:
        first, last = begin, min(end, now)
    else:
        first, last = timeframe.floor(begin), min(now, timeframe.next(end - _TINY))
    minutes = market.generator.arrays(instrument, first, last)
    minutes = minutes.slice(0, int(np.searchsorted(minutes.ts, _ns(now) - _MINUTE_NS, "right")))
    if timeframe is TimeFrame.M1:
        return minutes.to_bars()
    frames = _derive(minutes, timeframe)
    return [b for b in frames if begin <= b.ts < end and frame_complete(timeframe, b.ts, now)]


def _derive(minutes: DayBars, timeframe: TimeFrame) -> list[Bar]:
    """``timeframe`` bars from 1-minute bars by the data layer's one batch aggregation."""
    from engine.data.timeframes import derive

    frame = derive(minutes.to_frame(), timeframe)
    return DayBars(
        ts=frame["ts"].dt.epoch("ns").to_numpy(),
        open=frame["open"].to_numpy(),
        high=frame["high"].to_numpy(),
        low=frame["low"].to_numpy(),
        close=frame["close"].to_numpy(),
        volume=frame["volume"].to_numpy(),
    ).to_bars()


class BarStreams:
    """The bar subscriptions of the simulated broker and the events each tick makes of them."""

    def __init__(
        self,
        market: SimMarket,
        emit: Callable[[BrokerEvent], None],
        keys: set[tuple[str, TimeFrame]],
    ) -> None:
        self.market = market
        self.emit = emit
        self.keys = keys  # (code, timeframe) subscribed: the broker's Subscriptions.bars
        self._aggregators: dict[tuple[str, TimeFrame], BarAggregator] = {}
        self._closed_frames: dict[tuple[str, TimeFrame], datetime] = {}

    def subscribe(self, instrument: Instrument, timeframe: TimeFrame) -> None:
        """Bars of ``timeframe`` from now on; a coarser frame starts from the minutes of the
        frame in progress (its first event is the frame so far)."""
        key = (instrument.code, timeframe)
        self.keys.add(key)
        if timeframe is not TimeFrame.M1 and key not in self._aggregators:
            aggregator = BarAggregator(timeframe)
            now = self.market.now
            begin = timeframe.floor(now)
            for bar in self.market.generator.bar_list(instrument, begin, now):
                if bar.ts + session.MINUTE <= now:
                    aggregator.update(bar)
            self._aggregators[key] = aggregator

    def unsubscribe(self, code: str) -> None:
        for key in [k for k in self.keys if k[0] == code]:
            self.keys.discard(key)
            self._aggregators.pop(key, None)
            self._closed_frames.pop(key, None)

    def on_tick(self, tick: MarketTick) -> None:
        """Emit the bars ``tick`` makes, finest timeframe first."""
        code = tick.instrument.code
        for key in sorted((k for k in self.keys if k[0] == code), key=lambda k: k[1].minutes or 0):
            timeframe = key[1]
            if timeframe is TimeFrame.M1:
                self.emit(BarEvent(code, timeframe, tick.bar, tick.closed))
                continue
            aggregator = self._aggregators[key]
            result = aggregator.update(tick.bar)
            done = self._closed_frames.get(key)
            if result.closed is not None and result.closed.ts != done:
                self.emit(BarEvent(code, timeframe, result.closed, True))
            current = result.current
            if current is None:
                continue
            closed = tick.closed and frame_complete(timeframe, current.ts, tick.ts)
            if closed:
                self._closed_frames[key] = current.ts
            self.emit(BarEvent(code, timeframe, current, closed))
