"""History for the engine's charts at start: the Parquet store first, the broker for the rest.

Stored 1-minute bars give the charts depth at once; the broker's candles fill from the last stored
bar to now. On the simulated market the store is skipped (its bars may be real history, which
would not join the generated prices).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from engine.broker.base import Broker
from engine.model import Bar, Instrument, TimeFrame

log = logging.getLogger("avin.engine")


def stored_bars(instrument: Instrument, begin: datetime, end: datetime) -> list[Bar]:
    """1-minute bars of the data store in ``[begin, end)``; none when nothing is stored."""
    from engine.data import load_bars
    from engine.data.errors import DataError

    try:
        frame = load_bars(instrument, TimeFrame.M1, begin, end)
    except DataError:
        return []
    return [
        Bar(ts, o, h, lo, c, v)
        for ts, o, h, lo, c, v in frame.select(
            "ts", "open", "high", "low", "close", "volume"
        ).iter_rows()
    ]


async def load_history(
    broker: Broker, instrument: Instrument, begin: datetime, end: datetime, *, use_store: bool
) -> list[Bar]:
    """Complete 1-minute bars in ``[begin, end)``: stored ones, then the broker's after them."""
    bars = stored_bars(instrument, begin, end) if use_store else []
    start = bars[-1].ts + timedelta(minutes=1) if bars else begin
    if start < end:
        bars.extend(await broker.candles(instrument, TimeFrame.M1, start, end))
    return bars
