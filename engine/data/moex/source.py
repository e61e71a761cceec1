"""MOEX ISS as a :class:`~engine.data.sources.protocol.DataSource` (``avin.source`` = ``moex-iss``).

Endpoints (``<base>/iss/engines/stock/markets/shares/boards/{board}/securities/{secid}``):
``.json`` (block ``securities``: lot size, price step, decimals, ISIN), ``/candles.json`` (``from``,
``till`` inclusive, ``interval``; pages of up to 500 rows through ``start``) and ``/trades.json``
(the current or last trading day only; pages through ``start`` until an empty page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl

from engine.data.errors import DataError
from engine.data.instruments import InstrumentCache
from engine.data.moex import convert
from engine.data.moex.client import CANDLES_PAGE, IssClient
from engine.model import Instrument, TimeFrame, as_utc

SOURCE = "moex-iss"
DEFAULT_BOARD = "TQBR"
_CHUNK_DAYS = {
    TimeFrame.M1: 7,  # ~900 candles a day on 2 sessions: about 13 pages a chunk
    TimeFrame.M10: 90,
    TimeFrame.H1: 365,
    TimeFrame.D: 3650,
    TimeFrame.W: 3650,
    TimeFrame.MONTH: 3650,
}


@dataclass(slots=True)
class Notes:
    """What the conversion of one instrument's rows noticed (for the report)."""

    served: int = 0
    invalid: int = 0
    remainders: int = 0

    def add(self, converted: convert.Converted) -> None:
        self.served += converted.served
        self.invalid += converted.invalid
        self.remainders += converted.remainders


@dataclass(slots=True)
class MoexSource:
    """Bars, security facts and trades of MOEX shares from ISS."""

    client: IssClient
    board: str = DEFAULT_BOARD
    cache: InstrumentCache | None = None  # to give ISS's shares the broker's uid when known
    name: str = SOURCE
    timeframes: tuple[TimeFrame, ...] = tuple(convert.INTERVALS)
    securities: dict[str, convert.Security] = field(default_factory=dict)
    notes: dict[str, Notes] = field(default_factory=dict)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        await self.client.close()

    def chunk_days(self, timeframe: TimeFrame) -> int:
        return _CHUNK_DAYS.get(timeframe, 7)

    @property
    def coverage_key(self) -> str:
        """Days recorded whole on one board say nothing of another board's."""
        return f"{self.name}-{self.board.upper()}"

    def _path(self, secid: str, tail: str = "") -> str:
        board = self.board.upper()
        return f"iss/engines/stock/markets/shares/boards/{board}/securities/{secid.upper()}{tail}"

    async def security(self, secid: str) -> convert.Security:
        key = secid.upper()
        if key not in self.securities:
            table = await self.client.page(self._path(key, ".json"), "securities", {})
            self.securities[key] = convert.security(table, key, self.board.upper())
        return self.securities[key]

    async def instrument(self, query: str) -> Instrument:
        ticker = query.strip().upper()
        if ticker.count("_") >= 2:  # MOEX_SHARE_SBER
            ticker = ticker.split("_", 2)[2]
        found = await self.security(ticker)
        known = self.cache.get(f"MOEX_SHARE_{found.secid}") if self.cache is not None else None
        return found.instrument(known.uid if known else "", known.figi if known else "")

    async def bars(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> pl.DataFrame:
        sec = await self.security(instrument.ticker)
        begin, end = as_utc(begin), as_utc(end)
        if timeframe in (TimeFrame.D, TimeFrame.W, TimeFrame.MONTH):
            since, till = begin.date().isoformat(), (end - timedelta(microseconds=1)).date()
            till_text = till.isoformat()
        else:
            since = _moscow(begin)
            till_text = _moscow(end - timedelta(seconds=1))
        table = await self.client.table(
            self._path(sec.secid, "/candles.json"),
            "candles",
            {"from": since, "till": till_text, "interval": str(convert.interval(timeframe))},
            page_size=CANDLES_PAGE,
        )
        converted = convert.candles(table, timeframe, sec.lot)
        self.notes.setdefault(instrument.code, Notes()).add(converted)
        frame = converted.frame
        return frame.filter((pl.col("ts") >= begin) & (pl.col("ts") < end))

    async def trades(self, instrument: Instrument, day: date | None = None) -> pl.DataFrame:
        sec = await self.security(instrument.ticker)
        table = await self.client.table(self._path(sec.secid, "/trades.json"), "trades", {})
        converted = convert.trades(table, sec.lot)
        self.notes.setdefault(instrument.code, Notes()).add(converted)
        frame = converted.frame
        if day is not None and not frame.is_empty():
            local_day = pl.col("ts").dt.convert_time_zone(convert.MOSCOW).dt.date()
            served = sorted(frame.select(local_day.unique())["ts"].to_list())
            if day not in served:
                raise DataError(
                    f"ISS serves the trades of {', '.join(map(str, served))} only, not of {day}",
                    "Fetch the trades on the day itself (`avin data download TICKER --trades` "
                    "without --from), or record them while avin runs",
                )
            frame = frame.filter(local_day == day)
        return frame


def _moscow(moment: datetime) -> str:
    """``moment`` as ISS's Moscow local time text (polars' own zone database: no tzdata
    package needed on Windows)."""
    local = pl.Series([as_utc(moment)]).dt.convert_time_zone(convert.MOSCOW)
    return str(local.dt.strftime("%Y-%m-%d %H:%M:%S")[0])
