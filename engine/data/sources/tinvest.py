"""T-Invest behind the :class:`DataSource` protocol: the API (``GetCandles``, ``GetLastTrades``
through the configured broker) and the yearly history archives (``history-data``).

``TInvestApiSource`` wraps any object with the Broker methods ``connect``, ``close``,
``find_instrument``, ``candles`` and optionally ``last_trades`` (the T-Invest adapter, the fake
server's, or the simulated market's :class:`~engine.runtime.data_broker.SimHistory`); ``avin.source`` is
``broker:<name>`` as ``avin data update`` writes it. ``TInvestArchiveSource`` serves 1-minute bars
only, a year's archive per request; it has no trades.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from engine.data.archive import parse, read_archive_bytes
from engine.data.errors import DataError, UnknownInstrumentError
from engine.data.history_client import HistoryClient
from engine.data.instruments import InstrumentCache
from engine.data.schema import COLUMNS, SOURCE_ARCHIVE, conform, empty_bars
from engine.data.store import normalize
from engine.data.ticks import empty_ticks, trades_frame
from engine.data.update import WINDOWS, bars_frame, chunks
from engine.model import Instrument, TimeFrame, as_utc


def _within(frame: pl.DataFrame, begin: datetime, end: datetime) -> pl.DataFrame:
    return frame.filter((pl.col("ts") >= as_utc(begin)) & (pl.col("ts") < as_utc(end)))


@dataclass(slots=True)
class TInvestApiSource:
    """Candles and the last hour of trades from a connected broker."""

    broker: Any
    cache: InstrumentCache | None = None
    timeframes: tuple[TimeFrame, ...] = tuple(WINDOWS)
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"broker:{getattr(self.broker, 'name', 'tinvest')}"

    async def open(self) -> None:
        await self.broker.connect()

    async def close(self) -> None:
        await self.broker.close()

    def chunk_days(self, timeframe: TimeFrame) -> int:
        return max(1, WINDOWS.get(timeframe, timedelta(days=1)).days)

    async def instrument(self, query: str) -> Instrument:
        try:
            found: Instrument = await self.broker.find_instrument(query)
            return found
        except Exception as exc:  # the broker's UnknownInstrument, or it is unreachable
            if self.cache is not None and self.cache.get(query) is not None:
                return self.cache.find(query)
            describe = getattr(exc, "describe", None)
            text = describe() if callable(describe) else f"{type(exc).__name__}: {exc}"
            raise UnknownInstrumentError(
                f"{self.name} does not know {query!r} ({text})",
                "`avin data instruments --refresh` lists what the broker has",
            ) from exc

    async def bars(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> pl.DataFrame:
        window = WINDOWS.get(timeframe)
        if window is None:
            raise DataError(f"T-Invest candles have no {timeframe.code} interval", "Use 1M..D")
        bars = []
        for lo, hi in chunks(as_utc(begin), as_utc(end), window):
            bars.extend(await self.broker.candles(instrument, timeframe, lo, hi))
        valid = [bar for bar in bars if bar.validate() is None]
        if not valid:
            return empty_bars()
        return normalize(_within(bars_frame(valid), begin, end))

    async def trades(self, instrument: Instrument, day: date | None = None) -> pl.DataFrame:
        last_trades = getattr(self.broker, "last_trades", None)
        if not callable(last_trades):
            raise DataError(
                f"the {self.name} market gives no trade history",
                "The simulated tape is recorded while avin runs; --source moex gives a day's trades",
            )
        end = datetime.now(UTC)
        if day is not None and day != end.date():
            raise DataError(
                f"T-Invest gives the trades of the last hour only, not of {day}",
                "Record the tape while avin runs, or use --source moex for a whole day",
            )
        trades = await last_trades(instrument, end - timedelta(hours=1), end)
        return trades_frame(trades) if trades else empty_ticks()


@dataclass(slots=True)
class TInvestArchiveSource:
    """1-minute bars from the yearly archives (the ZIP of a year per request)."""

    client: HistoryClient
    cache: InstrumentCache = field(default_factory=InstrumentCache)
    name: str = SOURCE_ARCHIVE
    timeframes: tuple[TimeFrame, ...] = (TimeFrame.M1,)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def chunk_days(self, timeframe: TimeFrame) -> int:
        return 366  # one archive holds a year

    async def instrument(self, query: str) -> Instrument:
        return self.cache.find(query)

    async def bars(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> pl.DataFrame:
        if timeframe is not TimeFrame.M1:
            raise DataError("T-Invest archives hold 1-minute bars only", "Use --tf 1M")
        frames = []
        uid = instrument.uid or instrument.figi
        last = as_utc(end) - timedelta(microseconds=1)
        for year in range(as_utc(begin).year, last.year + 1):
            body = await asyncio.to_thread(self.client.fetch, uid, year)
            if body is None:
                continue  # no archive for that year
            batch = parse(read_archive_bytes(f"{uid}-{year}.zip", body))
            frames.append(conform(batch.bars.select(COLUMNS)))
        if not frames:
            return empty_bars()
        return normalize(_within(pl.concat(frames), begin, end))

    async def trades(self, instrument: Instrument, day: date | None = None) -> pl.DataFrame:
        raise DataError(
            "T-Invest history archives hold no trades",
            "Use --source moex (one day) or --source tinvest (the last hour)",
        )
