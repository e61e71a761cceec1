"""Batch threshold ZigZag: a pivot is confirmed when price retraces far enough from the running
extreme.

Modes: ``relative`` (a fraction of the extreme: ``0.01`` is 1 %), ``absolute`` (price units) and
``atr`` (a multiple of the average true range at the confirming bar, see ``kernels.atr_py``).
Sources: ``close`` (closes only) or ``hl`` (peaks at highs, valleys at lows, retracement measured
with the opposite side of the bar).

First leg: the running low and high since bar 0 are tracked like any later extreme; the first bar
``j`` that rises from the running low (without making a new low) or falls from the running high
(without making a new high) by the needed move confirms that extreme as the first pivot, at ``j``.

Legs: while tracking a peak, a strictly higher value moves it; otherwise a positive fall
``peak - low >= need`` confirms it (``need = t * peak`` relative, the amount, or ``k * atr[j]``) and
the valley starts at the lowest low after the peak up to ``j``; mirrored for valleys. With ``hl``, a
bar that makes a new extreme never confirms it on the same bar. The last (running) extreme is
reported with ``confirmed`` false: it is tentative. docs/analysis.md states what each mode
guarantees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from engine.analysis.frames import PivotArrays, column, empty_pivots, pivot_frame, ts_series
from engine.analysis.kernels import kernels

Mode = Literal["relative", "absolute", "atr"]
Source = Literal["close", "hl"]


@dataclass(frozen=True, slots=True)
class ThresholdSpec:
    """Parameters of a threshold ZigZag."""

    threshold: float = 0.01
    mode: Mode = "relative"
    source: Source = "close"
    atr_period: int = 14

    def __post_init__(self) -> None:
        if self.mode not in ("relative", "absolute", "atr"):
            raise ValueError(f"mode must be relative, absolute or atr, got {self.mode!r}")
        if self.source not in ("close", "hl"):
            raise ValueError(f"source must be close or hl, got {self.source!r}")
        if not self.threshold > 0:
            raise ValueError(f"threshold must be positive, got {self.threshold}")
        if self.atr_period < 1:
            raise ValueError(f"atr_period must be >= 1, got {self.atr_period}")


def threshold_arrays(
    spec: ThresholdSpec,
    high: Any,
    low: Any,
    close: Any,
    use_numba: bool | None = None,
) -> PivotArrays:
    """Pivots of the threshold ZigZag as arrays."""
    k = kernels(use_numba)
    hi, lo = (close, close) if spec.source == "close" else (high, low)
    relative = spec.mode == "relative"
    if spec.mode == "atr":
        amount = k.atr(high, low, close, spec.atr_period) * spec.threshold
    elif spec.mode == "absolute":
        amount = np.full(hi.shape[0], spec.threshold, dtype=np.float64)
    else:
        amount = np.empty(0, dtype=np.float64)
    return PivotArrays.of(k.threshold(hi, lo, relative, float(spec.threshold), amount))


def zigzag_threshold(
    bars: Any,
    threshold: float = 0.01,
    mode: Mode = "relative",
    source: Source = "close",
    atr_period: int = 14,
    use_numba: bool | None = None,
) -> pl.DataFrame:
    """Pivot table (same columns as ``zigzag_terms``, term 0) of the threshold ZigZag.

    ``bars`` needs ``close`` (and ``high``/``low`` for ``source="hl"`` or ``mode="atr"``).
    """
    spec = ThresholdSpec(threshold, mode, source, atr_period)
    close = column(bars, "close")
    n = close.shape[0]
    if n == 0:
        return empty_pivots()
    need_hl = source == "hl" or mode == "atr"
    high = column(bars, "high") if need_hl else close
    low = column(bars, "low") if need_hl else close
    arrays = threshold_arrays(spec, high, low, close, use_numba)
    return pivot_frame(0, arrays, ts_series(bars, n))
