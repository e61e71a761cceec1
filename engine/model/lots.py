"""Whole lots in proportion: the one rounding rule of netting (docs/risk.md, "the netting rule")."""

from __future__ import annotations

from collections.abc import Sequence


def split(lots: int, weights: Sequence[int]) -> list[int]:
    """``lots`` in whole lots in proportion to ``weights``: every part gets its floor, then the
    lots left over go one each to the largest fractional remainders, ties to the earlier weight.
    ``0 <= lots <= sum(weights)``; the parts sum to ``lots`` and none is above its weight."""
    total = sum(weights)
    if lots < 0 or lots > total or any(w < 0 for w in weights):
        raise ValueError(f"cannot split {lots} lot(s) over {list(weights)}")
    if lots == 0:
        return [0] * len(weights)
    parts = [lots * w // total for w in weights]
    rests = [lots * w % total for w in weights]  # the fractional remainders, times ``total``
    left = lots - sum(parts)
    for i in sorted(range(len(weights)), key=lambda i: (-rests[i], i))[:left]:
        parts[i] += 1
    return parts
