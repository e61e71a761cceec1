"""Trend statistics: empirical CDFs of abs_p, len, speed_p and vol per term and timeframe, the
size classes of domain.md, and an on-disk cache that invalidates itself when the data change.

CDF: ``cdf(x) = #{history values <= x} / N`` over the *confirmed* trends of the history.
Percentile ``p = 100 * cdf``. Size: [0,1) -7, [1,3) -6, [3,5) -5, [5,10) -4, [10,20) -3,
[20,30) -2, [30,40) -1, [40,60) 0, [60,70) +1, [70,80) +2, [80,90) +3, [90,95) +4, [95,97) +5,
[97,99) +6, [99,100] +7. Class: XS [0,10), S [10,30), M [30,70), L [70,90), XL [90,100].
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from engine.analysis.trends import trends_frame
from engine.analysis.zigzag import MAX_TERMS, zigzag_terms

METRICS = ("abs_p", "len", "speed_p", "vol")
SIZE_EDGES = (1, 3, 5, 10, 20, 30, 40, 60, 70, 80, 90, 95, 97, 99)
CLASS_EDGES = (10, 30, 70, 90)
CLASSES = ("XS", "S", "M", "L", "XL")
ALGO_VERSION = "zz1"  # bump when the ZigZag or trend definitions change: invalidates caches


def size_of_percent(pct: float) -> int:
    """Size class -7..+7 of a percentile in [0, 100]."""
    return -7 + bisect_right(SIZE_EDGES, pct)


def class_of_percent(pct: float) -> str:
    """Coarse class XS/S/M/L/XL of a percentile in [0, 100]."""
    return CLASSES[bisect_right(CLASS_EDGES, pct)]


class TrendStats:
    """Sorted history of each trend metric for one (instrument, timeframe, term)."""

    __slots__ = ("_sorted",)

    def __init__(self, sorted_values: Mapping[str, np.ndarray]) -> None:
        self._sorted = {m: np.asarray(sorted_values[m], dtype=np.float64) for m in METRICS}

    @classmethod
    def from_trends(cls, trends: pl.DataFrame) -> TrendStats:
        """From a trends table of one term; only confirmed trends count."""
        done = trends.filter(pl.col("confirmed"))
        return cls({m: done[m].cast(pl.Float64).drop_nulls().sort().to_numpy() for m in METRICS})

    @property
    def count(self) -> int:
        return int(self._sorted["abs_p"].shape[0])

    def values(self, metric: str) -> np.ndarray:
        return self._sorted[_check(metric)]

    def rank(self, metric: str, value: float) -> tuple[int, int]:
        """(number of history values <= value, history size)."""
        arr = self._sorted[_check(metric)]
        return int(np.searchsorted(arr, value, side="right")), int(arr.shape[0])

    def cdf(self, metric: str, value: float) -> float:
        k, n = self.rank(metric, value)
        return k / n if n else float("nan")

    def percent(self, metric: str, value: float) -> float:
        k, n = self.rank(metric, value)
        return k * 100 / n if n else float("nan")

    def size(self, metric: str, value: float) -> int | None:
        k, n = self.rank(metric, value)
        return size_of_percent(k * 100 / n) if n else None

    def size_class(self, metric: str, value: float) -> str | None:
        k, n = self.rank(metric, value)
        return class_of_percent(k * 100 / n) if n else None

    def annotate(self, trends: pl.DataFrame) -> pl.DataFrame:
        """``trends`` with ``<metric>_cdf`` and ``<metric>_size`` columns and ``size_class``."""
        cols = []
        for m in METRICS:
            arr = self._sorted[m]
            vals = trends[m].cast(pl.Float64).fill_null(np.nan).to_numpy()
            k = np.searchsorted(arr, vals, side="right")
            n = arr.shape[0]
            pct = k * 100 / n if n else np.full(vals.shape, np.nan)
            cols.append(pl.Series(f"{m}_cdf", k / n if n else pct, dtype=pl.Float64))
            sizes = -7 + np.searchsorted(np.asarray(SIZE_EDGES, dtype=np.float64), pct, "right")
            cols.append(pl.Series(f"{m}_size", sizes if n else [None] * len(vals), dtype=pl.Int8))
            if m == "abs_p":
                idx = np.searchsorted(np.asarray(CLASS_EDGES, dtype=np.float64), pct, "right")
                names = [CLASSES[i] for i in idx] if n else [None] * len(vals)
                cols.append(pl.Series("size_class", names, dtype=pl.String))
        return trends.with_columns(cols)

    def to_frame(self) -> pl.DataFrame:
        """One column per metric (each sorted on its own)."""
        return pl.DataFrame({m: self._sorted[m] for m in METRICS})

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> TrendStats:
        return cls({m: frame[m].to_numpy() for m in METRICS})


def _check(metric: str) -> str:
    if metric not in METRICS:
        raise KeyError(f"unknown metric {metric!r}: use one of {', '.join(METRICS)}")
    return metric


def compute_stats(bars: pl.DataFrame, terms: int = MAX_TERMS) -> dict[int, TrendStats]:
    """Statistics of T1..T``terms`` over ``bars`` of one instrument and timeframe."""
    trends = trends_frame(zigzag_terms(bars, terms), bars["volume"] if bars.height else None)
    return {
        t: TrendStats.from_trends(trends.filter(pl.col("term") == t)) for t in range(1, terms + 1)
    }


def data_version(bars: pl.DataFrame) -> str:
    """A short digest of the bars: row count, ts range and a checksum of every OHLCV value."""
    h = hashlib.blake2b(digest_size=10)
    h.update(f"{ALGO_VERSION}|{bars.height}|".encode())
    if bars.height:
        ts = bars["ts"].cast(pl.Int64).to_numpy()
        h.update(f"{ts[0]}|{ts[-1]}|".encode())
        h.update(np.ascontiguousarray(ts).tobytes())
        for name in ("open", "high", "low", "close", "volume"):
            h.update(np.ascontiguousarray(bars[name].cast(pl.Float64).to_numpy()).tobytes())
    return h.hexdigest()


class StatsCache:
    """Parquet cache of ``TrendStats``: ``<dir>/<INSTRUMENT>/<TF name>/T<term>-<version>.parquet``.

    The key holds instrument, timeframe, term and the data version, so two instruments or two
    timeframes never share an entry and changed bars miss the cache (older files are removed).
    Timeframe folders use the enum names (M1, MONTH, ...) so ``1M`` and ``M`` differ on
    case-insensitive file systems.
    """

    def __init__(self, cache_dir: str | Path) -> None:
        self.root = Path(cache_dir)

    def path(self, instrument: str, timeframe: Any, term: int, version: str) -> Path:
        tf_name = getattr(timeframe, "name", str(timeframe))
        safe = instrument.upper().replace("/", "_")
        return self.root / safe / tf_name / f"T{term}-{version}.parquet"

    def load_or_compute(
        self,
        instrument: str,
        timeframe: Any,
        bars: pl.DataFrame,
        terms: Iterable[int] = range(1, MAX_TERMS + 1),
    ) -> dict[int, TrendStats]:
        wanted = sorted(set(terms))
        version = data_version(bars)
        out: dict[int, TrendStats] = {}
        missing = []
        for t in wanted:
            path = self.path(instrument, timeframe, t, version)
            if path.exists():
                out[t] = TrendStats.from_frame(pl.read_parquet(path))
            else:
                missing.append(t)
        if missing:
            computed = compute_stats(bars, max(missing))
            for t in missing:
                path = self.path(instrument, timeframe, t, version)
                path.parent.mkdir(parents=True, exist_ok=True)
                for old in path.parent.glob(f"T{t}-*.parquet"):
                    old.unlink()
                tmp = path.with_suffix(".tmp")
                computed[t].to_frame().write_parquet(tmp)
                tmp.replace(path)
                out[t] = computed[t]
        return out
