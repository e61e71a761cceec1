"""Analysis: ZigZags (hierarchical T1..T5 and threshold), trends, trend statistics, the
multi-timeframe view, filters and the scanner. Needs polars and numpy only (numba optional).

Names are imported lazily on first use, so importing a submodule (or the ``avin`` CLI) does not
load polars and numba.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "aggregate": "engine.analysis.bars",
    "Filter": "engine.analysis.filters",
    "FilterEvalError": "engine.analysis.filters",
    "FilterSyntaxError": "engine.analysis.filters",
    "Predicate": "engine.analysis.filters",
    "parse_filter": "engine.analysis.filters",
    "TermsZigZag": "engine.analysis.incremental",
    "ThresholdZigZag": "engine.analysis.incremental",
    "FrameView": "engine.analysis.mtf",
    "MultiTimeFrameView": "engine.analysis.mtf",
    "ViewSnapshot": "engine.analysis.mtf",
    "history_stats": "engine.analysis.scanner",
    "scan": "engine.analysis.scanner",
    "StatsCache": "engine.analysis.stats",
    "TrendStats": "engine.analysis.stats",
    "class_of_percent": "engine.analysis.stats",
    "compute_stats": "engine.analysis.stats",
    "data_version": "engine.analysis.stats",
    "size_of_percent": "engine.analysis.stats",
    "ThresholdSpec": "engine.analysis.threshold",
    "zigzag_threshold": "engine.analysis.threshold",
    "trends_frame": "engine.analysis.trends",
    "trends_of": "engine.analysis.trends",
    "CandidateMoved": "engine.analysis.types",
    "Event": "engine.analysis.types",
    "Kind": "engine.analysis.types",
    "Pivot": "engine.analysis.types",
    "PivotConfirmed": "engine.analysis.types",
    "Trend": "engine.analysis.types",
    "TrendKind": "engine.analysis.types",
    "MAX_TERMS": "engine.analysis.zigzag",
    "terms_arrays": "engine.analysis.zigzag",
    "zigzag_terms": "engine.analysis.zigzag",
}

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
