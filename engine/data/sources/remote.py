"""``--source remote``: another machine's store through its data service (``avin data serve``).

``avin data download SBER --source remote --base-url HOST:PORT --from 2024-01-01`` copies the
served 1-minute bars into the local store (every other timeframe is derived from them here as
there). The token is ``$AVIN_DATA_TOKEN`` (or the local service's token file); the instrument
(its uid) is the server's instrument cache entry.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import polars as pl

from engine.data.errors import DataError, UnknownInstrumentError
from engine.data.flight_request import TOKEN_ENV, BarsRequest
from engine.data.remote import RemoteStore, local_token
from engine.model import Instrument, TimeFrame

CHUNK_DAYS = 30


class RemoteSource:
    """A :class:`~engine.data.sources.protocol.DataSource` over :class:`RemoteStore`."""

    name = "avin-data-service"
    timeframes: tuple[TimeFrame, ...] = (TimeFrame.M1,)

    def __init__(self, endpoint: str | None, token: str | None = None) -> None:
        if not endpoint:
            raise DataError(
                "--source remote needs the data service's address",
                "Add --base-url HOST:PORT (what `avin data serve` printed).",
            )
        token = token or local_token()
        if token is None:
            raise DataError(
                f"no token for the data service at {endpoint}",
                f"Set {TOKEN_ENV} to the token `avin data serve` printed.",
            )
        self.endpoint = endpoint
        self._token = token
        self._remote: RemoteStore | None = None
        self._instruments: list[Instrument] | None = None

    @property
    def remote(self) -> RemoteStore:
        if self._remote is None:
            self._remote = RemoteStore(self.endpoint, self._token)
        return self._remote

    async def open(self) -> None:
        self.remote  # noqa: B018 - connect (a bad address fails here)

    async def close(self) -> None:
        if self._remote is not None:
            self._remote.close()
            self._remote = None

    def chunk_days(self, timeframe: TimeFrame) -> int:
        return CHUNK_DAYS

    async def instrument(self, query: str) -> Instrument:
        if self._instruments is None:
            self._instruments = await asyncio.to_thread(self.remote.instruments)
        text = query.strip().upper()
        for item in self._instruments:
            if text in (item.code, item.ticker.upper(), item.uid.upper(), item.figi.upper()):
                return item
        raise UnknownInstrumentError(
            f"the data service at {self.endpoint} knows no instrument {query!r}",
            "`avin data instruments` on the server's machine lists the known ones.",
        )

    async def bars(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> pl.DataFrame:
        if timeframe not in self.timeframes:
            raise DataError(
                f"{self.name} copies 1-minute bars only (not {timeframe.code})",
                "Use --tf 1M: every other timeframe is derived from them.",
            )
        request = BarsRequest(instrument.code, timeframe, begin, end)
        return await asyncio.to_thread(self.remote.fetch, request)

    async def trades(self, instrument: Instrument, day: date | None = None) -> pl.DataFrame:
        raise DataError(
            f"the data service serves no trades (yet): nothing to fetch for {instrument.code}",
            "Use --source moex for a day's trades.",
        )
