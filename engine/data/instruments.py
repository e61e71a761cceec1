"""The instrument cache: the broker's share list as a small Parquet table in the data home.

Columns: exchange, category, ticker, class_code, uid, figi, name, lot, step (decimal text),
currency. It is refreshed on demand from a broker (``avin data instruments --refresh``); when no
cache exists yet it is seeded from the simulated market's catalog (``SIM_INSTRUMENTS``).
Look-ups accept an instrument code (``MOEX_SHARE_SBER``), a ticker, a uid or a figi, in any case.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl

from engine.data.atomic import write_atomic
from engine.data.errors import StoreError, UnknownInstrumentError
from engine.data.sim_catalog import SIM_INSTRUMENTS
from engine.model import Instrument
from engine.paths import homes

log = logging.getLogger(__name__)

CACHE_SCHEMA = pl.Schema(
    {
        "exchange": pl.String,
        "category": pl.String,
        "ticker": pl.String,
        "class_code": pl.String,
        "uid": pl.String,
        "figi": pl.String,
        "name": pl.String,
        "lot": pl.Int64,
        "step": pl.String,
        "currency": pl.String,
    }
)


def default_path() -> Path:
    return homes().data / "instruments.parquet"


def sim_instruments() -> list[Instrument]:
    """The simulated market's catalog (the cache's contents before anything was imported)."""
    return list(SIM_INSTRUMENTS)


class InstrumentCache:
    """Instruments known without asking the broker."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_path()
        self._items: list[Instrument] | None = None

    def exists(self) -> bool:
        return self.path.exists()

    def all(self) -> list[Instrument]:
        if self._items is None:
            if self.path.exists():
                self._items = _read(self.path)
            else:
                seeded = sim_instruments()
                if seeded:
                    self.save(seeded)
                self._items = seeded
        return list(self._items)

    def save(self, instruments: Iterable[Instrument]) -> None:
        items = sorted(instruments, key=lambda item: (item.code, item.uid))
        frame = pl.DataFrame([instrument_row(item) for item in items], schema=CACHE_SCHEMA)
        write_atomic(self.path, lambda temp: frame.write_parquet(temp))
        self._items = items

    def get(self, query: str) -> Instrument | None:
        """By code, ticker, uid or figi (case-insensitive); a code or uid match wins."""
        text = query.strip().upper()
        if not text:
            return None
        items = self.all()
        for key in (
            lambda item: item.code,
            lambda item: item.uid.upper(),
            lambda item: item.figi.upper(),
            lambda item: item.ticker.upper(),
        ):
            for item in items:
                if key(item) == text:
                    return item
        return None

    def find(self, query: str) -> Instrument:
        found = self.get(query)
        if found is None:
            raise UnknownInstrumentError(
                f"unknown instrument {query!r}: it is not in the instrument cache {self.path}",
                "Refresh the cache with `avin data instruments --refresh`, or give the ticker "
                "explicitly (`avin data import --ticker TICKER ...`).",
            )
        return found

    def replace(self, instruments: Iterable[Instrument]) -> int:
        items = list(instruments)
        self.save(items)
        return len(items)


def instrument_row(item: Instrument) -> dict[str, object]:
    """One instrument as a row of the cache (and of the data service's instrument list)."""
    return {
        "exchange": item.exchange,
        "category": item.category,
        "ticker": item.ticker,
        "class_code": item.class_code,
        "uid": item.uid,
        "figi": item.figi,
        "name": item.name,
        "lot": item.lot,
        "step": str(item.step),
        "currency": item.currency,
    }


def _read(path: Path) -> list[Instrument]:
    try:
        rows = pl.read_parquet(path).to_dicts()
        return [
            Instrument(
                exchange=str(row["exchange"]),
                category=str(row["category"]),
                ticker=str(row["ticker"]),
                uid=str(row["uid"] or ""),
                figi=str(row["figi"] or ""),
                class_code=str(row["class_code"] or ""),
                lot=int(row["lot"] or 1),
                step=Decimal(str(row["step"] or "0.01")),
                currency=str(row["currency"] or "rub"),
                name=str(row["name"] or ""),
            )
            for row in rows
        ]
    except (OSError, KeyError, InvalidOperation, pl.exceptions.PolarsError) as exc:
        raise StoreError(
            f"the instrument cache {path} is unreadable ({exc})",
            "Delete it and run `avin data instruments --refresh`.",
        ) from exc
