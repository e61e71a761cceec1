"""The template of a data source: copy this module to add one (docs/adapters.md).

It is a real source, run by the contract suite (``tests/contract/``) like the others: a folder
of CSV files, ``<folder>/instruments.csv`` (``ticker,lot,step,name``) and one
``<folder>/<TICKER>.csv`` of 1-minute bars (``ts,open,high,low,close,volume``; ``ts`` ISO 8601
with a zone, volume in shares). Where a copy talks to a service instead, the comments marked
``SERVICE`` say what changes; everything else (the schema of what it returns, the half-open
range, the errors) is the contract and stays.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl

from engine.data.errors import DataError, UnknownInstrumentError
from engine.data.schema import BAR_SCHEMA, empty_bars
from engine.model import Instrument, TimeFrame, as_utc


@dataclass(slots=True)
class CsvFolderSource:
    folder: Path
    # What the store records in ``avin.source``: short, no comma.
    name: str = "csv-folder"
    # The timeframes the source serves itself (fetch_bars refuses the others).
    timeframes: tuple[TimeFrame, ...] = (TimeFrame.M1,)

    async def open(self) -> None:
        # SERVICE: open the HTTP session or gRPC channel here (not in __init__).
        if not self.folder.is_dir():
            raise DataError(f"{self.folder} is not a folder", "Give the folder of the CSV files")

    async def close(self) -> None:
        # SERVICE: close what open() opened; called after a failure too.
        return None

    def chunk_days(self, timeframe: TimeFrame) -> int:
        # How many days one bars() call covers: what one request (with its pages) can serve.
        # A chunk is merged into the store whole or not at all.
        return 31

    async def instrument(self, query: str) -> Instrument:
        ticker = query.strip().upper().rsplit("_", 1)[-1]
        # SERVICE: ask the service for the security (lot size, price step) instead.
        for row in self._rows(self.folder / "instruments.csv"):
            if row.get("ticker", "").upper() == ticker:
                try:
                    lot, step = int(row["lot"]), Decimal(row["step"])
                except (KeyError, ValueError, InvalidOperation):
                    raise DataError(
                        f"instruments.csv gives {ticker} no usable lot or step", "Fix the row"
                    ) from None
                return Instrument(
                    "MOEX", "SHARE", ticker, "", "", "TQBR", lot, step, "rub", row.get("name", "")
                )
        raise UnknownInstrumentError(
            f"{self.name} has no instrument {query!r}", "Add it to instruments.csv"
        )

    async def bars(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> pl.DataFrame:
        if timeframe not in self.timeframes:
            raise DataError(f"{self.name} has no {timeframe.code} bars", "Use --tf 1M")
        path = self.folder / f"{instrument.ticker}.csv"
        if not path.exists():
            return empty_bars()  # no data is an empty frame, not an error
        # SERVICE: request [begin, end) page by page; raise DataError if any page fails, so
        # no part of the range is returned.
        try:
            raw = pl.read_csv(path, schema_overrides={"ts": pl.String})
            frame = raw.select(
                pl.col("ts").str.to_datetime(time_zone="UTC", time_unit="ns"),
                pl.col("open", "high", "low", "close").cast(pl.Float64),
                # the store keeps lots: convert the source's unit once, here
                (pl.col("volume").cast(pl.Float64) / instrument.lot + 0.5)
                .floor()
                .cast(pl.Int64)
                .alias("volume"),
            )
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise DataError(f"cannot read {path}: {exc}", "Fix or remove the file") from exc
        valid = (
            (pl.col("high") >= pl.max_horizontal("open", "close"))
            & (pl.col("low") <= pl.min_horizontal("open", "close"))
            & (pl.col("low") > 0)
            & (pl.col("volume") >= 0)
        )
        return (
            frame.filter(valid & (pl.col("ts") >= as_utc(begin)) & (pl.col("ts") < as_utc(end)))
            .unique(subset="ts", keep="last")
            .sort("ts")
            .select(pl.col(n).cast(t) for n, t in BAR_SCHEMA.items())
        )

    async def trades(self, instrument: Instrument, day: date | None = None) -> pl.DataFrame:
        # A source without trades says so (the contract: a DataError with what to do).
        raise DataError(f"{self.name} has no trades", "Use --source moex for a day's trades")

    @staticmethod
    def _rows(path: Path) -> list[dict[str, str]]:
        if not path.exists():
            return []
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
