"""ZigZag legs for the chart overlay, from ``engine.analysis`` when it is installed.

A leg joins two consecutive pivots of one term in bar-index space of the bars given; the leg from
the last confirmed pivot to the real-time candidate is ``tentative`` (drawn dimmed).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from engine.model import Bar


class Leg(NamedTuple):
    term: int
    i1: int
    p1: float
    i2: int
    p2: float
    tentative: bool


def analysis_available() -> bool:
    """Whether the ZigZag can be drawn; looks without importing (that pulls numpy and polars)."""
    global _AVAILABLE
    if _AVAILABLE is None:
        try:
            _AVAILABLE = importlib.util.find_spec("engine.analysis.zigzag") is not None
        except (ImportError, ValueError):
            _AVAILABLE = False
    return _AVAILABLE


_AVAILABLE: bool | None = None


def zigzag_legs(bars: Sequence[Bar], terms: Iterable[int]) -> list[Leg]:
    """Legs of the enabled terms (1..5); empty when there is no analysis package or no bars."""
    wanted = sorted({t for t in terms if 1 <= t <= 5})
    if not wanted or len(bars) < 2:
        return []
    try:
        import numpy as np

        from engine.analysis.zigzag import terms_arrays
    except ImportError:
        return []
    o = np.fromiter((b.open for b in bars), dtype=np.float64, count=len(bars))
    h = np.fromiter((b.high for b in bars), dtype=np.float64, count=len(bars))
    low = np.fromiter((b.low for b in bars), dtype=np.float64, count=len(bars))
    c = np.fromiter((b.close for b in bars), dtype=np.float64, count=len(bars))
    # the pure-Python kernels take well under a millisecond for a screenful and need no JIT warm-up
    levels = terms_arrays(o, h, low, c, max(wanted), use_numba=False)
    legs: list[Leg] = []
    for term in wanted:
        arrays = levels[term - 1]
        idx = [int(i) for i in arrays.idx]
        price = [float(p) for p in arrays.price]
        for k in range(1, len(idx)):
            legs.append(Leg(term, idx[k - 1], price[k - 1], idx[k], price[k], False))
        if arrays.cand_kind != 0 and idx:
            legs.append(Leg(term, idx[-1], price[-1], arrays.cand_idx, arrays.cand_price, True))
    return legs
