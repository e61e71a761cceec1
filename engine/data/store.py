"""The Parquet store of 1-minute bars: one file per instrument and UTC calendar year.

Layout: ``<data home>/bars/<INSTRUMENT CODE>/1M/<YYYY>.parquet``, e.g.
``bars/MOEX_SHARE_SBER/1M/2024.parquet``. Each file holds the bars of that year sorted by ``ts``
with unique timestamps, in the schema of :mod:`engine.data.schema`, and metadata naming the
instrument, its uid, the sources merged into it and the schema version.

Merging is idempotent: new bars replace stored bars with the same timestamp, everything else is
kept, and a file whose content would not change is not rewritten. Every write is atomic and a
read-merge-write of one instrument holds an exclusive lock on its folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from engine.data.atomic import is_temp, locked, remove_stale_temps, write_atomic
from engine.data.errors import DAMAGED_FILE, StoreError
from engine.data.schema import (
    BAR_SCHEMA,
    SCHEMA_VERSION,
    FileMeta,
    conform,
    empty_bars,
    strictly_increasing,
)
from engine.paths import homes

BASE_TIMEFRAME_DIR = "1M"


def default_root() -> Path:
    return homes().data / "bars"


@dataclass(slots=True)
class MergeResult:
    """What a merge did: rows added and replaced, files written."""

    added: int = 0
    replaced: int = 0
    files: list[Path] = field(default_factory=list)

    def absorb(self, other: MergeResult) -> None:
        self.added += other.added
        self.replaced += other.replaced
        self.files.extend(other.files)


class BarStore:
    """Reads and writes the 1-minute bars of instruments under ``root``."""

    def __init__(self, root: Path | None = None, timeframe: str = BASE_TIMEFRAME_DIR) -> None:
        """``timeframe``: the folder of the bars kept (``1M``, the store every load derives
        from; ``D``, ``1H``... hold bars a source served in that timeframe, see docs/data.md)."""
        self.root = root if root is not None else default_root()
        self.timeframe = timeframe

    # --- layout -----------------------------------------------------------------------------

    def instrument_dir(self, code: str) -> Path:
        return self.root / code.upper() / self.timeframe

    def year_path(self, code: str, year: int) -> Path:
        return self.instrument_dir(code) / f"{year:04d}.parquet"

    def codes(self) -> list[str]:
        """Instrument codes with at least one stored year, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            path.name for path in self.root.iterdir() if path.is_dir() and self.years(path.name)
        )

    def years(self, code: str) -> list[int]:
        folder = self.instrument_dir(code)
        if not folder.is_dir():
            return []
        years = []
        for path in folder.glob("*.parquet"):
            if not is_temp(path) and path.stem.isdigit():
                years.append(int(path.stem))
        return sorted(years)

    def files(self, code: str, years: range | None = None) -> list[Path]:
        chosen = self.years(code)
        if years is not None:
            chosen = [year for year in chosen if year in years]
        return [self.year_path(code, year) for year in chosen]

    def has(self, code: str) -> bool:
        return bool(self.years(code))

    # --- reading ----------------------------------------------------------------------------

    def read_year(self, code: str, year: int) -> pl.DataFrame:
        path = self.year_path(code, year)
        if not path.exists():
            return empty_bars()
        return read_bars_file(path)

    def read(
        self, code: str, begin: datetime | None = None, end: datetime | None = None
    ) -> pl.DataFrame:
        """Stored bars of ``code`` with ``begin <= ts < end`` (either bound may be open)."""
        first = begin.year if begin is not None else None
        last = end.year if end is not None else None
        paths = [
            self.year_path(code, year)
            for year in self.years(code)
            if (first is None or year >= first) and (last is None or year <= last)
        ]
        if not paths:
            return empty_bars()
        frame = pl.scan_parquet(paths, schema=BAR_SCHEMA)
        if begin is not None:
            frame = frame.filter(pl.col("ts") >= begin)
        if end is not None:
            frame = frame.filter(pl.col("ts") < end)
        try:
            return frame.collect()
        except DAMAGED_FILE as exc:  # polars raises several kinds for damaged files
            raise StoreError(
                f"cannot read stored bars of {code} under {self.instrument_dir(code)}: {exc}",
                "Run `avin data check` to find the damaged file, then re-import it.",
            ) from exc

    def meta(self, code: str, year: int) -> FileMeta:
        return read_meta(self.year_path(code, year))

    def uid(self, code: str) -> str:
        """The uid recorded in the newest file of ``code`` ("" when nothing is stored)."""
        years = self.years(code)
        return self.meta(code, years[-1]).uid if years else ""

    def bounds(self, code: str) -> tuple[datetime, datetime] | None:
        """The first and the last stored timestamp of ``code``."""
        years = self.years(code)
        if not years:
            return None
        first = self.read_year(code, years[0])["ts"].min()
        last = self.read_year(code, years[-1])["ts"].max()
        if not isinstance(first, datetime) or not isinstance(last, datetime):
            return None
        return first, last

    def last_ts(self, code: str) -> datetime | None:
        found = self.bounds(code)
        return None if found is None else found[1]

    # --- writing ----------------------------------------------------------------------------

    def merge(self, code: str, uid: str, bars: pl.DataFrame, source: str) -> MergeResult:
        """Merge valid ``bars`` (unique timestamps) into the store; later data wins on overlap."""
        code = code.upper()
        result = MergeResult()
        if bars.is_empty():
            return result
        bars = conform(bars)
        folder = self.instrument_dir(code)
        with locked(folder):
            remove_stale_temps(folder)
            by_year = bars.with_columns(pl.col("ts").dt.year().alias("_year")).partition_by(
                "_year", as_dict=True, include_key=False
            )
            for key, part in sorted(by_year.items(), key=lambda item: int(str(item[0][0]))):
                year = int(str(key[0]))
                result.absorb(self._merge_year(code, uid, year, part, source))
        return result

    def _merge_year(
        self, code: str, uid: str, year: int, bars: pl.DataFrame, source: str
    ) -> MergeResult:
        path = self.year_path(code, year)
        sources = {source}
        if path.exists():
            old_meta = read_meta(path)
            if old_meta.uid and uid and old_meta.uid != uid:
                raise StoreError(
                    f"{path} holds {code} with uid {old_meta.uid}, but the new bars are for uid "
                    f"{uid}",
                    "Import with the matching --ticker, or move the old folder away first.",
                )
            uid = uid or old_meta.uid
            sources.update(old_meta.sources)
            old = read_bars_file(path)
            merged = (
                pl.concat([old, bars])
                .unique(subset="ts", keep="last", maintain_order=False)
                .sort("ts")
            )
            meta = FileMeta(code, uid, tuple(sorted(sources)), SCHEMA_VERSION)
            if merged.equals(old) and meta == old_meta:
                return MergeResult()
            added = merged.height - old.height
            replaced = _replaced_rows(old, bars)
        else:
            merged = normalize(bars)
            meta = FileMeta(code, uid, (source,), SCHEMA_VERSION)
            added, replaced = merged.height, 0
        write_bars(path, merged, meta)
        return MergeResult(added, replaced, [path])


def normalize(bars: pl.DataFrame) -> pl.DataFrame:
    """Sorted by ``ts`` with unique timestamps (the last row wins); cheap when already so."""
    if not bars["ts"].is_sorted():
        bars = bars.sort("ts", maintain_order=True)
    if not strictly_increasing(bars["ts"]):
        bars = bars.unique(subset="ts", keep="last", maintain_order=True)
    return bars


def _replaced_rows(old: pl.DataFrame, new: pl.DataFrame) -> int:
    """How many rows of ``new`` overwrite a stored row with different values."""
    joined = new.join(old, on="ts", how="inner", suffix="_old")
    if joined.is_empty():
        return 0
    differs = pl.any_horizontal(
        pl.col(name) != pl.col(f"{name}_old") for name in ("open", "high", "low", "close", "volume")
    )
    return int(joined.filter(differs).height)


def read_bars_file(path: Path) -> pl.DataFrame:
    try:
        return conform(pl.read_parquet(path)).rechunk()  # contiguous: zero-copy numpy views
    except DAMAGED_FILE as exc:
        raise StoreError(
            f"cannot read the stored file {path}: {exc}",
            "Move the damaged file away and re-import or re-download that year.",
        ) from exc


def read_meta(path: Path) -> FileMeta:
    try:
        return FileMeta.from_dict(pl.read_parquet_metadata(path))
    except DAMAGED_FILE as exc:
        raise StoreError(
            f"cannot read the metadata of {path}: {exc}",
            "Move the damaged file away and re-import or re-download that year.",
        ) from exc


def write_bars(path: Path, bars: pl.DataFrame, meta: FileMeta) -> None:
    """Write ``bars`` to ``path`` atomically with ``meta`` as Parquet key-value metadata."""
    frame = conform(bars)
    write_atomic(path, lambda temp: frame.write_parquet(temp, metadata=meta.to_dict()))
