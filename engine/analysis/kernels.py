"""Loop kernels of the ZigZags over numpy arrays (compiled by numba when available).

Every kernel exists twice: the plain Python function (``*_py``) and the dispatched one, which is the
numba-compiled version of the same source when numba is importable. ``kernels(use_numba)`` picks.
Kinds are encoded as +1 (max) and -1 (min). Pivot arrays are (index, kind, price, confirmed_index).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from engine.analysis._jit import HAVE_NUMBA, maybe_njit


def t1_py(open_: Any, high: Any, low: Any, close: Any) -> Any:
    """T1 over bars. Returns (idx, kind, price, cidx, cand_idx, cand_kind, cand_price)."""
    n = high.shape[0]
    o_idx = np.empty(n, np.int64)
    o_kind = np.empty(n, np.int8)
    o_price = np.empty(n, np.float64)
    o_cidx = np.empty(n, np.int64)
    m = 0
    if n == 0:
        return o_idx[:0], o_kind[:0], o_price[:0], o_cidx[:0], -1, 0, np.nan
    if open_[0] < close[0]:
        kind = 1
        price = high[0]
    else:  # a doji starts as Min
        kind = -1
        price = low[0]
    ci = 0
    for i in range(1, n):
        if kind == 1:
            if high[i] > price:  # price == high[i - 1]: the candidate is always the previous bar
                ci = i
                price = high[i]
            else:
                o_idx[m] = ci
                o_kind[m] = 1
                o_price[m] = price
                o_cidx[m] = i
                m += 1
                kind = -1
                ci = i
                price = low[i]
        else:
            if low[i] < price:
                ci = i
                price = low[i]
            else:
                o_idx[m] = ci
                o_kind[m] = -1
                o_price[m] = price
                o_cidx[m] = i
                m += 1
                kind = 1
                ci = i
                price = high[i]
    return o_idx[:m], o_kind[:m], o_price[:m], o_cidx[:m], ci, kind, price


def tnext_py(idx: Any, kind: Any, price: Any, cidx: Any) -> Any:
    """T(n+1) from the confirmed points of T(n). Same return layout as ``t1_py``.

    The confirmed index of a T(n+1) point is that of the T(n) point that confirmed it.
    """
    m = idx.shape[0]
    o_idx = np.empty(m, np.int64)
    o_kind = np.empty(m, np.int8)
    o_price = np.empty(m, np.float64)
    o_cidx = np.empty(m, np.int64)
    k = 0
    if m == 0:
        return o_idx[:0], o_kind[:0], o_price[:0], o_cidx[:0], -1, 0, np.nan
    c = 0
    opp = -1
    for j in range(1, m):
        if kind[j] != kind[c]:
            opp = j
        elif (
            (kind[j] == 1 and price[j] > price[c])
            or (kind[j] == -1 and price[j] < price[c])
            or opp < 0
        ):
            c = j
        else:
            o_idx[k] = idx[c]
            o_kind[k] = kind[c]
            o_price[k] = price[c]
            o_cidx[k] = cidx[j]
            k += 1
            c = opp
            opp = j
    return o_idx[:k], o_kind[:k], o_price[:k], o_cidx[:k], idx[c], kind[c], price[c]


def _highest_after_py(hi: Any, start: int, end: int) -> tuple[int, float]:
    """The first bar of the highest ``hi`` in ``(start, end]``: where a new leg up starts."""
    best = end
    for k in range(end - 1, start, -1):
        if hi[k] >= hi[best]:
            best = k
    return best, hi[best]


def _lowest_after_py(lo: Any, start: int, end: int) -> tuple[int, float]:
    """The first bar of the lowest ``lo`` in ``(start, end]``: where a new leg down starts."""
    best = end
    for k in range(end - 1, start, -1):
        if lo[k] <= lo[best]:
            best = k
    return best, lo[best]


_highest_after = maybe_njit(_highest_after_py)
_lowest_after = maybe_njit(_lowest_after_py)


def threshold_py(hi: Any, lo: Any, relative: bool, rel: float, amount: Any) -> Any:
    """Threshold ZigZag. ``hi``/``lo`` are the same array for ``source="close"``.

    The retracement needed from a running extreme ``e`` at bar ``j`` is ``rel * e`` when
    ``relative`` else ``amount[j]``. Same return layout as ``t1_py``; no candidate (kind 0) while
    the first leg is undetermined (no running extreme has been retraced by the threshold yet).
    """
    n = hi.shape[0]
    o_idx = np.empty(n, np.int64)
    o_kind = np.empty(n, np.int8)
    o_price = np.empty(n, np.float64)
    o_cidx = np.empty(n, np.int64)
    m = 0
    if n == 0:
        return o_idx[:0], o_kind[:0], o_price[:0], o_cidx[:0], -1, 0, np.nan
    state = 0
    ei = 0
    ext = np.nan
    # the first leg follows the running low and high like every later leg follows its extreme
    mn = lo[0]
    mni = 0
    mx = hi[0]
    mxi = 0
    for j in range(1, n):
        if state == 1:
            h = hi[j]
            if h > ext:
                ext = h
                ei = j
            else:
                move = ext - lo[j]
                if move > 0 and move >= (rel * ext if relative else amount[j]):
                    o_idx[m] = ei
                    o_kind[m] = 1
                    o_price[m] = ext
                    o_cidx[m] = j
                    m += 1
                    state = -1
                    ei, ext = _lowest_after(lo, ei, j)
        elif state == -1:
            low_ = lo[j]
            if low_ < ext:
                ext = low_
                ei = j
            else:
                move = hi[j] - ext
                if move > 0 and move >= (rel * ext if relative else amount[j]):
                    o_idx[m] = ei
                    o_kind[m] = -1
                    o_price[m] = ext
                    o_cidx[m] = j
                    m += 1
                    state = 1
                    ei, ext = _highest_after(hi, ei, j)
        else:
            # a bar that makes a new low never confirms the running low (mirror for highs)
            rise = hi[j] - mn
            fall = mx - lo[j]
            up = lo[j] >= mn and rise > 0 and rise >= (rel * mn if relative else amount[j])
            down = hi[j] <= mx and fall > 0 and fall >= (rel * mx if relative else amount[j])
            if up and down:  # only with hl: the older extreme is the first pivot
                up = mni <= mxi
                down = not up
            if up:
                o_idx[m] = mni
                o_kind[m] = -1
                o_price[m] = mn
                o_cidx[m] = j
                m += 1
                state = 1
                ei, ext = _highest_after(hi, mni, j)
            elif down:
                o_idx[m] = mxi
                o_kind[m] = 1
                o_price[m] = mx
                o_cidx[m] = j
                m += 1
                state = -1
                ei, ext = _lowest_after(lo, mxi, j)
            else:
                if lo[j] < mn:
                    mn = lo[j]
                    mni = j
                if hi[j] > mx:
                    mx = hi[j]
                    mxi = j
    if state == 0:
        return o_idx[:m], o_kind[:m], o_price[:m], o_cidx[:m], -1, 0, np.nan
    return o_idx[:m], o_kind[:m], o_price[:m], o_cidx[:m], ei, state, ext


def atr_py(high: Any, low: Any, close: Any, period: int) -> Any:
    """Average true range: the plain mean of the last ``period`` true ranges (fewer at the start).

    The window is summed oldest first, exactly like ``IncrementalATR``, so both agree bit for bit.
    """
    n = high.shape[0]
    tr = np.empty(n, np.float64)
    out = np.empty(n, np.float64)
    for i in range(n):
        r = high[i] - low[i]
        if i > 0:
            a = abs(high[i] - close[i - 1])
            b = abs(low[i] - close[i - 1])
            if a > r:
                r = a
            if b > r:
                r = b
        tr[i] = r
        start = i - period + 1
        if start < 0:
            start = 0
        s = 0.0
        for k in range(start, i + 1):
            s += tr[k]
        out[i] = s / (i + 1 - start)
    return out


class Kernels(NamedTuple):
    t1: Callable[..., Any]
    tnext: Callable[..., Any]
    threshold: Callable[..., Any]
    atr: Callable[..., Any]
    compiled: bool


PURE = Kernels(t1_py, tnext_py, threshold_py, atr_py, False)
FAST = (
    Kernels(
        maybe_njit(t1_py),
        maybe_njit(tnext_py),
        maybe_njit(threshold_py),
        maybe_njit(atr_py),
        True,
    )
    if HAVE_NUMBA
    else PURE
)


def kernels(use_numba: bool | None = None) -> Kernels:
    """The compiled kernels when numba is importable (``use_numba`` None or True), else pure ones."""
    if use_numba is False:
        return PURE
    return FAST
