"""Analysis: ZigZags (hierarchical T1..T5 and threshold), trends, trend statistics, the
multi-timeframe view, filters and the scanner. Needs polars and numpy only (numba optional).
"""

from engine.analysis.aggregate import aggregate
from engine.analysis.filters import (
    Filter,
    FilterEvalError,
    FilterSyntaxError,
    Predicate,
    parse_filter,
)
from engine.analysis.incremental import TermsZigZag, ThresholdZigZag
from engine.analysis.mtf import FrameView, MultiTimeFrameView, ViewSnapshot
from engine.analysis.scanner import history_stats, scan
from engine.analysis.stats import (
    StatsCache,
    TrendStats,
    class_of_percent,
    compute_stats,
    data_version,
    size_of_percent,
)
from engine.analysis.threshold import ThresholdSpec, zigzag_threshold
from engine.analysis.trends import trends_frame, trends_of
from engine.analysis.types import (
    CandidateMoved,
    Event,
    Kind,
    Pivot,
    PivotConfirmed,
    Trend,
    TrendKind,
)
from engine.analysis.zigzag import MAX_TERMS, terms_arrays, zigzag_terms

__all__ = [
    "MAX_TERMS",
    "CandidateMoved",
    "Event",
    "Filter",
    "FilterEvalError",
    "FilterSyntaxError",
    "FrameView",
    "Kind",
    "MultiTimeFrameView",
    "Pivot",
    "PivotConfirmed",
    "Predicate",
    "StatsCache",
    "TermsZigZag",
    "ThresholdSpec",
    "ThresholdZigZag",
    "Trend",
    "TrendKind",
    "TrendStats",
    "ViewSnapshot",
    "aggregate",
    "class_of_percent",
    "compute_stats",
    "data_version",
    "history_stats",
    "parse_filter",
    "scan",
    "size_of_percent",
    "terms_arrays",
    "trends_frame",
    "trends_of",
    "zigzag_terms",
    "zigzag_threshold",
]
