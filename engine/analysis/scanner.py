"""Scanner: replay 1-minute history through the multi-timeframe view and evaluate a filter.

For each timeframe ``tf`` in ``timeframes`` the filter is evaluated at the completion time of every
``tf`` bar (the start of the next frame) within ``[begin, end]``, with ``tf`` as the default
timeframe of fields written without one. A hit row: ``ts`` (the evaluation time: all the data used
was known then), ``tf``, ``bar_ts`` (start of the bar just completed) and ``close`` of that bar.

Statistics for ``.cdf``/``.size``/``.class`` fields come from ``stats`` when given, otherwise they
are computed from the bars complete before ``begin`` (``stats_from="history"``, no look-ahead), or
from all the bars (``stats_from="all"``: convenient for exploring, but it looks ahead).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from engine.analysis.bars import aggregate, normalize_bars
from engine.analysis.filters import Filter, parse_filter
from engine.analysis.mtf import MultiTimeFrameView, StatsMap, as_timeframe, from_ns, to_ns
from engine.analysis.stats import StatsCache, TrendStats, compute_stats
from engine.analysis.threshold import ThresholdSpec
from engine.analysis.zigzag import MAX_TERMS
from engine.model.timeframe import TimeFrame

HIT_SCHEMA: dict[str, Any] = {
    "ts": pl.Datetime("ns", "UTC"),
    "tf": pl.String,
    "bar_ts": pl.Datetime("ns", "UTC"),
    "close": pl.Float64,
}


def history_stats(
    bars_1m: pl.DataFrame,
    timeframes: Iterable[TimeFrame],
    until: datetime | None,
    terms: int = MAX_TERMS,
    instrument: str | None = None,
    cache_dir: str | Path | None = None,
) -> dict[tuple[TimeFrame, int], TrendStats]:
    """Trend statistics per (timeframe, term) over the bars complete at ``until`` (None: all)."""
    out: dict[tuple[TimeFrame, int], TrendStats] = {}
    bars = normalize_bars(bars_1m)
    cache = StatsCache(cache_dir) if cache_dir is not None and instrument else None
    for tf in timeframes:
        agg = aggregate(bars, tf)
        if until is not None:
            agg = agg.filter(pl.col("end").cast(pl.Int64) <= to_ns(until))
        agg = agg.drop("end")
        if cache is not None and instrument:
            per_term = cache.load_or_compute(instrument, tf, agg, range(1, terms + 1))
        else:
            per_term = compute_stats(agg, terms)
        for term, st in per_term.items():
            out[(tf, term)] = st
    return out


def scan(
    bars_1m: pl.DataFrame,
    filter: Filter | str,
    timeframes: Iterable[TimeFrame | str] | None = None,
    begin: datetime | None = None,
    end: datetime | None = None,
    *,
    terms: int = MAX_TERMS,
    threshold: ThresholdSpec | None = None,
    stats: StatsMap | None = None,
    stats_from: Literal["history", "all"] = "history",
    instrument: str | None = None,
    cache_dir: str | Path | None = None,
) -> pl.DataFrame:
    """Hits of ``filter`` over the history in ``bars_1m`` (see module doc)."""
    flt = parse_filter(filter) if isinstance(filter, str) else filter
    tfs = [as_timeframe(t) for t in timeframes] if timeframes else sorted(flt.timeframes(), key=_o)
    if not tfs:
        raise ValueError("no timeframe: name one in the filter (1H.T1...) or pass timeframes")
    bars = normalize_bars(bars_1m)
    if bars.height == 0:
        return pl.DataFrame(schema=HIT_SCHEMA)
    needed = set(tfs) | flt.timeframes()
    if stats is None and flt.needs_stats():
        first: datetime = bars["ts"][0]
        until = None if stats_from == "all" else (begin if begin is not None else first)
        stats = history_stats(bars, needed, until, terms, instrument, cache_dir)
    view = MultiTimeFrameView.from_bars(bars, needed, terms, threshold, stats)
    lo = to_ns(begin) if begin is not None else -(2**62)
    hi = to_ns(end) if end is not None else 2**62
    schedule: list[tuple[int, int, TimeFrame]] = []
    for tf in tfs:
        ends = view.completion_times(tf)
        for i in np.nonzero((ends >= lo) & (ends <= hi))[0]:
            schedule.append((int(ends[i]), _o(tf), tf))
    schedule.sort(key=lambda x: (x[0], x[1]))
    rows: list[tuple[datetime, str, datetime, float]] = []
    snap = None
    last_t = None
    for t, _, tf in schedule:
        if t != last_t:
            snap = view.as_of(t)
            last_t = t
        assert snap is not None
        if flt(snap, tf):
            bar = snap[tf].bar(1)
            assert bar is not None
            rows.append((from_ns(t), tf.code, bar.ts, bar.close))
    return pl.DataFrame(rows, schema=HIT_SCHEMA, orient="row")


def _o(tf: TimeFrame) -> int:
    return TimeFrame.all().index(tf)
