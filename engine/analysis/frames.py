"""Conversions between bar DataFrames, numpy arrays and pivot tables."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import polars as pl

from engine.analysis.types import Kind, Pivot

BAR_COLUMNS = ("ts", "open", "high", "low", "close", "volume")

PIVOT_SCHEMA: dict[str, Any] = {
    "term": pl.Int8,
    "index": pl.Int64,
    "ts": pl.Datetime("ns", "UTC"),
    "kind": pl.String,
    "price": pl.Float64,
    "confirmed": pl.Boolean,
    "confirmed_index": pl.Int64,
    "confirmed_ts": pl.Datetime("ns", "UTC"),
}


class PivotArrays(NamedTuple):
    """Confirmed pivots of one term as arrays, plus the real-time candidate (``cand_kind`` 0: none)."""

    idx: np.ndarray
    kind: np.ndarray
    price: np.ndarray
    cidx: np.ndarray
    cand_idx: int
    cand_kind: int
    cand_price: float

    @staticmethod
    def of(raw: Any) -> PivotArrays:
        idx, kind, price, cidx, ci, ck, cp = raw
        return PivotArrays(idx, kind, price, cidx, int(ci), int(ck), float(cp))


def column(bars: Any, name: str) -> np.ndarray:
    """A float64 contiguous numpy column of a DataFrame or a mapping of arrays."""
    values = bars[name]
    arr = values.to_numpy() if isinstance(values, pl.Series) else np.asarray(values)
    return np.ascontiguousarray(arr, dtype=np.float64)


def ts_series(bars: Any, n: int) -> pl.Series:
    """The ``ts`` column as a UTC nanosecond Datetime series (nulls when there is none)."""
    dtype = pl.Datetime("ns", "UTC")
    if isinstance(bars, pl.DataFrame) and "ts" in bars.columns:
        ts = bars["ts"]
        if isinstance(ts.dtype, pl.Datetime):
            if ts.dtype.time_zone is None:
                ts = ts.dt.replace_time_zone("UTC")
            return ts.cast(dtype)
        return ts.cast(pl.Int64).cast(dtype)
    return pl.Series("ts", [None] * n, dtype=dtype)


def pivot_frame(term: int, arrays: PivotArrays, ts: pl.Series) -> pl.DataFrame:
    """Rows for the confirmed pivots of ``arrays`` and its candidate (``confirmed`` false)."""
    idx = arrays.idx
    cidx = arrays.cidx
    kinds = np.where(arrays.kind > 0, "max", "min")
    has_cand = arrays.cand_kind != 0
    if has_cand:
        idx = np.append(idx, arrays.cand_idx)
        kinds = np.append(kinds, "max" if arrays.cand_kind > 0 else "min")
    n_conf = arrays.idx.shape[0]
    prices = np.append(arrays.price, arrays.cand_price) if has_cand else arrays.price
    cidx_s = pl.Series("confirmed_index", cidx, dtype=pl.Int64)
    if has_cand:
        cidx_s = cidx_s.append(pl.Series([None], dtype=pl.Int64))
    frame = pl.DataFrame(
        {
            "term": pl.Series([term] * len(idx), dtype=pl.Int8),
            "index": pl.Series(idx, dtype=pl.Int64),
            "ts": ts.gather(idx) if len(idx) else ts.clear(),
            "kind": pl.Series(kinds.astype(str), dtype=pl.String),
            "price": pl.Series(prices, dtype=pl.Float64),
            "confirmed": pl.Series([True] * n_conf + [False] * int(has_cand), dtype=pl.Boolean),
            "confirmed_index": cidx_s,
        }
    )
    conf_ts = ts.gather(cidx) if n_conf else ts.clear()
    if has_cand:
        conf_ts = conf_ts.append(pl.Series([None], dtype=ts.dtype))
    return frame.with_columns(conf_ts.alias("confirmed_ts")).select(list(PIVOT_SCHEMA))


def empty_pivots() -> pl.DataFrame:
    return pl.DataFrame(schema=PIVOT_SCHEMA)


def pivots_from_frame(frame: pl.DataFrame) -> list[Pivot]:
    """``Pivot`` tuples from a pivot table (in its row order)."""
    out = []
    for row in frame.iter_rows(named=True):
        out.append(
            Pivot(
                term=int(row["term"]),
                index=int(row["index"]),
                ts=row["ts"],
                kind=Kind(row["kind"]),
                price=float(row["price"]),
                confirmed=bool(row["confirmed"]),
                confirmed_index=row["confirmed_index"],
                confirmed_ts=row["confirmed_ts"],
            )
        )
    return out
