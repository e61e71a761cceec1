"""Trends: the legs between consecutive pivots of one term.

Per trend: ``kind`` (bull if it ends higher, bear if lower, a flat leg takes its end pivot's kind),
``abs_p = |p2 - p1| / p1 * 100``, ``len`` = bars including both ends, ``speed_p = abs_p / len``,
``vol`` = volume summed over those bars. ``n`` is 0 for the real-time trend (last confirmed pivot ->
candidate), 1 for the newest confirmed trend, and so on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from engine.analysis.types import Pivot, Trend, trend_kind

TREND_SCHEMA: dict[str, Any] = {
    "term": pl.Int8,
    "n": pl.Int64,
    "kind": pl.String,
    "begin_index": pl.Int64,
    "end_index": pl.Int64,
    "begin_ts": pl.Datetime("ns", "UTC"),
    "end_ts": pl.Datetime("ns", "UTC"),
    "begin_price": pl.Float64,
    "end_price": pl.Float64,
    "abs_p": pl.Float64,
    "len": pl.Int64,
    "speed_p": pl.Float64,
    "vol": pl.Float64,
    "confirmed": pl.Boolean,
    "confirmed_ts": pl.Datetime("ns", "UTC"),
}


def trends_frame(pivots: pl.DataFrame, volume: Any = None) -> pl.DataFrame:
    """Trends of every term in a pivot table (from ``zigzag_terms``/``zigzag_threshold``).

    ``volume`` is the bars' volume column (Series or array) indexed like the pivots; without it
    ``vol`` is null. A trend is ``confirmed`` when its end pivot is, at ``confirmed_ts``.
    Rows are in time order per term.
    """
    if pivots.height == 0:
        return pl.DataFrame(schema=TREND_SCHEMA)
    frame = pivots.sort("term", "index", "confirmed", descending=[False, False, True])
    nxt = frame.with_columns(
        pl.col(c).shift(-1).over("term").alias(f"e_{c}")
        for c in ("index", "ts", "kind", "price", "confirmed", "confirmed_ts")
    ).filter(pl.col("e_index").is_not_null())
    p1, p2 = pl.col("price"), pl.col("e_price")
    abs_p = (p2 - p1).abs() / p1 * 100.0
    length = pl.col("e_index") - pl.col("index") + 1
    kind = (
        pl.when(p2 > p1)
        .then(pl.lit("bull"))
        .when(p2 < p1)
        .then(pl.lit("bear"))
        .when(pl.col("e_kind") == "max")
        .then(pl.lit("bull"))
        .otherwise(pl.lit("bear"))
    )
    out = nxt.select(
        pl.col("term"),
        kind.alias("kind"),
        pl.col("index").alias("begin_index"),
        pl.col("e_index").alias("end_index"),
        pl.col("ts").alias("begin_ts"),
        pl.col("e_ts").alias("end_ts"),
        p1.alias("begin_price"),
        p2.alias("end_price"),
        abs_p.alias("abs_p"),
        length.alias("len"),
        (abs_p / length).alias("speed_p"),
        pl.col("e_confirmed").alias("confirmed"),
        pl.col("e_confirmed_ts").alias("confirmed_ts"),
    )
    if volume is not None and out.height:
        cv = np.concatenate(([0.0], np.cumsum(np.asarray(volume, dtype=np.float64))))
        b = out["begin_index"].to_numpy()
        e = out["end_index"].to_numpy()
        vol = pl.Series("vol", cv[e + 1] - cv[b], dtype=pl.Float64)
    else:
        vol = pl.Series("vol", [None] * out.height, dtype=pl.Float64)
    out = out.with_columns(vol)
    n = (
        pl.when(pl.col("confirmed"))
        .then(pl.col("confirmed").cast(pl.Int64).cum_sum(reverse=True).over("term"))
        .otherwise(0)
    )
    return out.with_columns(n.alias("n")).select(list(TREND_SCHEMA))


def trend_between(term: int, n: int, p1: Pivot, p2: Pivot, cumvol: Sequence[float]) -> Trend:
    """The trend ``p1 -> p2``; ``cumvol[i]`` is the volume summed over bars ``0..i-1``."""
    abs_p = abs(p2.price - p1.price) / p1.price * 100.0
    length = p2.index - p1.index + 1
    vol = cumvol[p2.index + 1] - cumvol[p1.index]
    return Trend(
        term, n, trend_kind(p1.price, p2.price, p2.kind), p1, p2, abs_p, length, abs_p / length, vol
    )


def trends_of(term: int, pivots: Sequence[Pivot], cumvol: Sequence[float]) -> list[Trend]:
    """Trends over a pivot sequence (confirmed ones then the candidate), newest first (n = 0..)."""
    out: list[Trend] = []
    has_cand = bool(pivots) and not pivots[-1].confirmed
    n = 0 if has_cand else 1
    for k in range(len(pivots) - 1, 0, -1):
        out.append(trend_between(term, n, pivots[k - 1], pivots[k], cumvol))
        n += 1
    return out
