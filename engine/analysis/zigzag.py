"""Batch hierarchical ZigZag T1..T5 (the rules of domain.md).

T1 runs over the bars (Max at highs, Min at lows, strict extension, equal highs/lows reverse, a doji
starts as Min); T(n+1) runs over the confirmed points of T(n) only. Each term also has one real-time
candidate, which for T(n+1) may be older than T(n)'s.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from engine.analysis.frames import (
    PivotArrays,
    column,
    empty_pivots,
    pivot_frame,
    ts_series,
)
from engine.analysis.kernels import kernels

MAX_TERMS = 5


def terms_arrays(
    open_: Any,
    high: Any,
    low: Any,
    close: Any,
    terms: int = MAX_TERMS,
    use_numba: bool | None = None,
) -> list[PivotArrays]:
    """The pivots of T1..T``terms`` as arrays (index 0 of the list is T1)."""
    if not 1 <= terms <= MAX_TERMS:
        raise ValueError(f"terms must be 1..{MAX_TERMS}, got {terms}")
    k = kernels(use_numba)
    out = [PivotArrays.of(k.t1(open_, high, low, close))]
    for _ in range(1, terms):
        prev = out[-1]
        out.append(PivotArrays.of(k.tnext(prev.idx, prev.kind, prev.price, prev.cidx)))
    return out


def zigzag_terms(bars: Any, terms: int = MAX_TERMS, use_numba: bool | None = None) -> pl.DataFrame:
    """Pivot table of T1..T``terms`` over ``bars`` (a DataFrame with ts, open, high, low, close).

    Columns: term, index, ts, kind ("max"/"min"), price, confirmed, confirmed_index, confirmed_ts.
    Rows are sorted by term then bar index; each term ends with its candidate (confirmed false).
    """
    high = column(bars, "high")
    n = high.shape[0]
    if n == 0:
        return empty_pivots()
    arrays = terms_arrays(
        column(bars, "open"), high, column(bars, "low"), column(bars, "close"), terms, use_numba
    )
    ts = ts_series(bars, n)
    return pl.concat([pivot_frame(i + 1, a, ts) for i, a in enumerate(arrays)])
