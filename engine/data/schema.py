"""The one schema of stored 1-minute bars (and of every derived timeframe).

``ts`` is the frame start as a UTC timestamp in nanoseconds; prices are float64; ``volume`` is in
lots. Every Parquet file also carries key-value metadata: the instrument code and uid, the data
sources merged into it and the schema version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

SCHEMA_VERSION = 1
TS_DTYPE = pl.Datetime("ns", "UTC")
BAR_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "ts": TS_DTYPE,
        "open": pl.Float64,
        "high": pl.Float64,
        "low": pl.Float64,
        "close": pl.Float64,
        "volume": pl.Int64,
    }
)
COLUMNS: tuple[str, ...] = tuple(BAR_SCHEMA.names())

META_INSTRUMENT = "avin.instrument"
META_UID = "avin.uid"
META_SOURCE = "avin.source"
META_VERSION = "avin.schema_version"

SOURCE_ARCHIVE = "tinvest-archive"


def empty_bars() -> pl.DataFrame:
    return pl.DataFrame(schema=BAR_SCHEMA)


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` reduced to the bar columns in order, cast to the store schema."""
    return frame.select(pl.col(name).cast(dtype) for name, dtype in BAR_SCHEMA.items())


@dataclass(frozen=True, slots=True)
class FileMeta:
    """What a stored file says about itself."""

    instrument: str
    uid: str
    sources: tuple[str, ...]
    version: int

    def to_dict(self) -> dict[str, str]:
        return {
            META_INSTRUMENT: self.instrument,
            META_UID: self.uid,
            META_SOURCE: ",".join(self.sources),
            META_VERSION: str(self.version),
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> FileMeta:
        sources = tuple(s for s in data.get(META_SOURCE, "").split(",") if s)
        try:
            version = int(data.get(META_VERSION, "0"))
        except ValueError:
            version = 0
        return cls(data.get(META_INSTRUMENT, ""), data.get(META_UID, ""), sources, version)


def strictly_increasing(ts: pl.Series) -> bool:
    """Sorted with no repeated value (cheap: no hashing)."""
    if len(ts) < 2:
        return True
    if not ts.is_sorted():
        return False
    smallest = ts.diff().min()
    return isinstance(smallest, timedelta) and smallest > timedelta(0)
