"""The tick store: anonymous market trades (the tape), one Parquet file per instrument and day.

Layout: ``<data home>/ticks/<INSTRUMENT CODE>/<YYYY-MM-DD>.parquet`` (the UTC day of the trades).
One schema whatever the source (the simulated market, the fake T-Invest server, T-Invest):

========  ====================  =================================================
``ts``    ``Datetime(ns, UTC)``  the exchange's time of the trade
``price`` ``Float64``            price per share
``lots``  ``Int64``              lots traded
``side``  ``Int8``               the aggressor: 1 buy, 2 sell, 0 not told
========  ====================  =================================================

Rows are sorted by ``ts`` (stable: trades of one instant keep their order). Merging is
idempotent: a row equal in every column to a stored row of the same instant is not added twice
(the tape has no trade ids, so two identical trades in the same nanosecond count once). Writes are
atomic and hold the folder's lock, like the bar store. Metadata: ``avin.instrument``,
``avin.uid``, ``avin.source`` (comma-separated sources merged in) and ``avin.tick_schema_version``.

:func:`bars_from_trades` aggregates trades into bars of any minute timeframe (open of the first
trade, highest, lowest, close of the last, summed lots), the way an exchange builds candles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl

from engine.data.atomic import is_temp, locked, remove_stale_temps, write_atomic
from engine.data.errors import DAMAGED_FILE, StoreError
from engine.model import Bar, MarketTrade, Side, TimeFrame, as_utc
from engine.paths import homes

TICK_SCHEMA_VERSION = 1
TICK_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "ts": pl.Datetime("ns", "UTC"),
        "price": pl.Float64,
        "lots": pl.Int64,
        "side": pl.Int8,
    }
)
META_INSTRUMENT = "avin.instrument"
META_UID = "avin.uid"
META_SOURCE = "avin.source"
META_VERSION = "avin.tick_schema_version"
_SIDE_CODE = {Side.BUY: 1, Side.SELL: 2, None: 0}
_CODE_SIDE = {1: Side.BUY, 2: Side.SELL}


def default_root() -> Path:
    return homes().data / "ticks"


def empty_ticks() -> pl.DataFrame:
    return pl.DataFrame(schema=TICK_SCHEMA)


def trades_frame(trades: Iterable[MarketTrade]) -> pl.DataFrame:
    """Trades as rows of the tick schema (in the given order)."""
    rows = list(trades)
    if not rows:
        return empty_ticks()
    return pl.DataFrame(
        {
            "ts": [as_utc(t.ts) for t in rows],
            "price": [float(t.price) for t in rows],
            "lots": [t.lots for t in rows],
            "side": [_SIDE_CODE[t.side] for t in rows],
        },
        schema=TICK_SCHEMA,
    )


def frame_trades(code: str, frame: pl.DataFrame) -> list[MarketTrade]:
    """Rows of the tick schema back as trades of instrument ``code``."""
    return [
        MarketTrade(code, ts, Decimal(repr(price)), int(lots), _CODE_SIDE.get(int(side)))
        for ts, price, lots, side in frame.select("ts", "price", "lots", "side").iter_rows()
    ]


@dataclass(slots=True)
class TickMerge:
    added: int = 0
    files: list[Path] = field(default_factory=list)


class TickStore:
    """Reads and writes the trades of instruments under ``root``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_root()

    def folder(self, code: str) -> Path:
        return self.root / code.upper()

    def day_path(self, code: str, day: date) -> Path:
        return self.folder(code) / f"{day.isoformat()}.parquet"

    def days(self, code: str) -> list[date]:
        folder = self.folder(code)
        if not folder.is_dir():
            return []
        out = []
        for path in folder.glob("*.parquet"):
            if is_temp(path):
                continue
            try:
                out.append(date.fromisoformat(path.stem))
            except ValueError:
                continue
        return sorted(out)

    def codes(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.days(p.name))

    # --- reading ----------------------------------------------------------------------------

    def read_day(self, code: str, day: date) -> pl.DataFrame:
        path = self.day_path(code, day)
        if not path.exists():
            return empty_ticks()
        return _read_file(path)

    def read(
        self, code: str, begin: datetime | None = None, end: datetime | None = None
    ) -> pl.DataFrame:
        """Stored trades of ``code`` with ``begin <= ts < end`` (either bound may be open)."""
        first = as_utc(begin).date() if begin is not None else None
        last = as_utc(end).date() if end is not None else None
        frames = [
            self.read_day(code, day)
            for day in self.days(code)
            if (first is None or day >= first) and (last is None or day <= last)
        ]
        if not frames:
            return empty_ticks()
        frame = pl.concat(frames)
        if begin is not None:
            frame = frame.filter(pl.col("ts") >= as_utc(begin))
        if end is not None:
            frame = frame.filter(pl.col("ts") < as_utc(end))
        return frame

    def trades(
        self, code: str, begin: datetime | None = None, end: datetime | None = None
    ) -> list[MarketTrade]:
        return frame_trades(code.upper(), self.read(code, begin, end))

    def last_ts(self, code: str) -> datetime | None:
        """The time of the newest stored trade of ``code`` (None when nothing is stored)."""
        days = self.days(code)
        if not days:
            return None
        last = self.read_day(code, days[-1])["ts"].max()
        return last if isinstance(last, datetime) else None

    # --- writing ----------------------------------------------------------------------------

    def merge(
        self, code: str, uid: str, trades: Iterable[MarketTrade] | pl.DataFrame, source: str
    ) -> TickMerge:
        """Add trades to their day files (idempotent; see the module doc)."""
        code = code.upper()
        frame = trades if isinstance(trades, pl.DataFrame) else trades_frame(trades)
        result = TickMerge()
        if frame.is_empty():
            return result
        frame = frame.select(pl.col(n).cast(t) for n, t in TICK_SCHEMA.items())
        folder = self.folder(code)
        with locked(folder):
            remove_stale_temps(folder)
            parts = frame.with_columns(pl.col("ts").dt.date().alias("_day")).partition_by(
                "_day", as_dict=True, include_key=False
            )
            for key, part in sorted(parts.items(), key=lambda item: str(item[0][0])):
                day = key[0]
                assert isinstance(day, date)
                added = self._merge_day(code, uid, day, part, source)
                if added:
                    result.added += added
                    result.files.append(self.day_path(code, day))
        return result

    def _merge_day(self, code: str, uid: str, day: date, part: pl.DataFrame, source: str) -> int:
        path = self.day_path(code, day)
        sources = {source}
        old = empty_ticks()
        if path.exists():
            meta = _read_meta(path)
            if meta.get(META_UID) and uid and meta[META_UID] != uid:
                raise StoreError(
                    f"{path} holds trades of {code} with uid {meta[META_UID]}, not {uid}",
                    "Move the old folder away first.",
                )
            uid = uid or meta.get(META_UID, "")
            sources.update(s for s in meta.get(META_SOURCE, "").split(",") if s)
            old = _read_file(path)
        new = _new_rows(old, part)
        if new.is_empty() and path.exists():
            return 0
        merged = pl.concat([old, new]).sort("ts", maintain_order=True)
        meta_out = {
            META_INSTRUMENT: code,
            META_UID: uid,
            META_SOURCE: ",".join(sorted(sources)),
            META_VERSION: str(TICK_SCHEMA_VERSION),
        }
        write_atomic(path, lambda temp: merged.write_parquet(temp, metadata=meta_out))
        return new.height


def _new_rows(old: pl.DataFrame, part: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``part`` not already in ``old`` (and each distinct row of ``part`` once)."""
    keys = list(TICK_SCHEMA.names())
    part = part.unique(subset=keys, keep="first", maintain_order=True)
    if old.is_empty():
        return part
    return part.join(old, on=keys, how="anti", maintain_order="left")


def _read_file(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
        return frame.select(pl.col(n).cast(t) for n, t in TICK_SCHEMA.items())
    except DAMAGED_FILE as exc:
        raise StoreError(
            f"cannot read the stored trades {path}: {exc}",
            "Move the damaged file away; the recorder starts a new one.",
        ) from exc


def _read_meta(path: Path) -> dict[str, str]:
    try:
        return pl.read_parquet_metadata(path)
    except DAMAGED_FILE as exc:
        raise StoreError(
            f"cannot read the metadata of {path}: {exc}",
            "Move the damaged file away; the recorder starts a new one.",
        ) from exc


def bars_from_trades(
    trades: Iterable[MarketTrade], timeframe: TimeFrame = TimeFrame.M1
) -> list[Bar]:
    """Bars of ``timeframe`` built from trades (in time order): the exchange's candle rule."""
    out: list[Bar] = []
    frame: datetime | None = None
    o = h = lo = c = 0.0
    volume = 0
    for trade in trades:
        start = timeframe.floor(as_utc(trade.ts))
        price = float(trade.price)
        if start != frame:
            if frame is not None:
                out.append(Bar(frame, o, h, lo, c, volume))
            frame, o, h, lo, c, volume = start, price, price, price, price, 0
        h = max(h, price)
        lo = min(lo, price)
        c = price
        volume += trade.lots
    if frame is not None:
        out.append(Bar(frame, o, h, lo, c, volume))
    return out


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)
