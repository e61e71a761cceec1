"""The protocol every data source implements (history bars, instruments, trades)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol, runtime_checkable

import polars as pl

from engine.model import Instrument, TimeFrame


@runtime_checkable
class DataSource(Protocol):
    """A read-only source of market data.

    ``name`` is what the store records in ``avin.source``. ``timeframes`` are the bar timeframes
    it serves; ``chunk_days(tf)`` how many calendar days one :meth:`bars` call should cover (the
    downloader merges each call's bars at once, so a chunk is stored whole or not at all).
    """

    name: str
    timeframes: tuple[TimeFrame, ...]

    async def open(self) -> None:
        """Connect (sessions, channels); called once before anything else."""

    async def close(self) -> None:
        """Release what :meth:`open` took; called once, also after a failure."""

    def chunk_days(self, timeframe: TimeFrame) -> int: ...

    async def instrument(self, query: str) -> Instrument:
        """The instrument of a ticker (or code); raises ``UnknownInstrumentError``."""
        ...

    async def bars(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> pl.DataFrame:
        """Bars with ``begin <= ts < end`` in the store schema (``engine.data.schema``): UTC frame
        starts, volumes in lots, sorted, unique; raises ``DataError`` rather than return part of
        the range."""
        ...

    async def trades(self, instrument: Instrument, day: date | None = None) -> pl.DataFrame:
        """Trades in the tick schema (``engine.data.ticks``) of ``day`` (None: the latest the
        source has); raises ``DataError`` when the source has no trades of that day."""
        ...
