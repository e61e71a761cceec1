"""The numba kernel of :mod:`engine.data.timeframes` (importing this module needs numba)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def reduce_segments(
    ids: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """OHLCV of each run of equal ``ids`` (sorted input): first row index, open of the first,
    max high, min low, close of the last, summed volume."""
    n = len(ids)
    count = 1
    for i in range(1, n):
        if ids[i] != ids[i - 1]:
            count += 1
    first = np.empty(count, np.int64)
    o = np.empty(count, np.float64)
    h = np.empty(count, np.float64)
    lo = np.empty(count, np.float64)
    c = np.empty(count, np.float64)
    v = np.empty(count, np.int64)
    j = 0
    first[0] = 0
    o[0] = open_[0]
    h[0] = high[0]
    lo[0] = low[0]
    c[0] = close[0]
    v[0] = volume[0]
    for i in range(1, n):
        if ids[i] != ids[i - 1]:
            j += 1
            first[j] = i
            o[j] = open_[i]
            h[j] = high[i]
            lo[j] = low[i]
            v[j] = volume[i]
        else:
            if high[i] > h[j]:
                h[j] = high[i]
            if low[i] < lo[j]:
                lo[j] = low[i]
            v[j] += volume[i]
        c[j] = close[i]
    return first, o, h, lo, c, v
