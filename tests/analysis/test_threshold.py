"""Threshold ZigZag: reference implementation, modes, incremental agreement."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from analysis_helpers import bars_of, frame, ohlc_rows
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analysis import ThresholdZigZag, zigzag_threshold
from engine.analysis._jit import HAVE_NUMBA
from engine.analysis.frames import pivots_from_frame


def reference(x: list[float], t: float) -> tuple[list[tuple[int, str, float, int]], tuple | None]:
    """Textbook peaks/valleys: obviously-correct, slow. Returns (confirmed, tentative)."""
    pivots: list[tuple[int, str, float, int]] = []
    direction = None  # "up": tracking a peak, "down": tracking a valley
    ext_i = 0
    for j in range(1, len(x)):
        if direction is None:
            if x[j] - x[0] >= t * x[0]:
                pivots.append((0, "min", x[0], j))
                direction, ext_i = "up", j
            elif x[0] - x[j] >= t * x[0]:
                pivots.append((0, "max", x[0], j))
                direction, ext_i = "down", j
        elif direction == "up":
            peak = x[ext_i]
            if x[j] > peak:
                ext_i = j
            elif peak - x[j] >= t * peak:
                pivots.append((ext_i, "max", peak, j))
                direction, ext_i = "down", j
        else:
            valley = x[ext_i]
            if x[j] < valley:
                ext_i = j
            elif x[j] - valley >= t * valley:
                pivots.append((ext_i, "min", valley, j))
                direction, ext_i = "up", j
    if direction is None:
        return pivots, None
    return pivots, (ext_i, "max" if direction == "up" else "min", x[ext_i])


def closes_frame(x: list[float]):
    return frame([(c, c, c, c) for c in x])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(1.0, 1000.0, allow_nan=False), min_size=1, max_size=80),
    st.sampled_from([0.001, 0.01, 0.05, 0.1, 0.3]),
)
def test_relative_close_equals_reference(x: list[float], t: float) -> None:
    piv = zigzag_threshold(closes_frame(x), t)
    confirmed = [
        (r["index"], r["kind"], r["price"], r["confirmed_index"])
        for r in piv.iter_rows(named=True)
        if r["confirmed"]
    ]
    tentative = [
        (r["index"], r["kind"], r["price"]) for r in piv.iter_rows(named=True) if not r["confirmed"]
    ]
    ref_conf, ref_tent = reference(x, t)
    assert confirmed == ref_conf
    assert tentative == ([ref_tent] if ref_tent else [])


def test_hand_checked_relative_close() -> None:
    x = [100, 99.5, 101, 103, 102, 100.9, 104, 102.9, 102.95]
    piv = zigzag_threshold(closes_frame(x), 0.02)
    rows = [(r["index"], r["kind"], r["price"], r["confirmed"]) for r in piv.iter_rows(named=True)]
    # 103 - 100 >= 2: the first point is a valley, confirmed at bar 3; 103 -> 100.9 falls
    # 2.1 >= 2.06: peak 103 confirmed at 5; 100.9 -> 104 rises 3.1 >= 2.018: valley confirmed at 6;
    # 104 -> 102.9 falls 1.1 < 2.08: the peak 104 stays tentative
    assert rows == [
        (0, "min", 100.0, True),
        (3, "max", 103.0, True),
        (5, "min", 100.9, True),
        (6, "max", 104.0, False),
    ]
    assert piv["confirmed_index"].to_list() == [3, 5, 6, None]


def test_no_pivot_until_first_threshold_move() -> None:
    piv = zigzag_threshold(closes_frame([100, 100.5, 99.6]), 0.01)
    assert piv.height == 0


@settings(max_examples=100, deadline=None)
@given(
    ohlc_rows(1, 50),
    st.sampled_from(["relative", "absolute", "atr"]),
    st.sampled_from(["close", "hl"]),
)
def test_incremental_equals_batch_every_prefix(rows: list[tuple], mode: str, source: str) -> None:
    t = {"relative": 0.03, "absolute": 4.0, "atr": 1.5}[mode]
    df = frame(rows)
    zz = ThresholdZigZag(t, mode, source, atr_period=3)
    for k, bar in enumerate(bars_of(df), start=1):
        zz.update(bar)
        if k in (1, len(rows) // 2, len(rows)):
            batch = pivots_from_frame(zigzag_threshold(df.head(k), t, mode, source, 3))  # type: ignore[arg-type]
            assert zz.pivots() == batch


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed: nothing to compare")
@settings(max_examples=100, deadline=None)
@given(ohlc_rows(2, 60), st.sampled_from(["close", "hl"]))
def test_alternation_and_numba_equals_pure(rows: list[tuple], source: str) -> None:
    df = frame(rows)
    fast = zigzag_threshold(df, 0.02, source=source, use_numba=True)  # type: ignore[arg-type]
    pure = zigzag_threshold(df, 0.02, source=source, use_numba=False)  # type: ignore[arg-type]
    assert fast.equals(pure)
    kinds = fast["kind"].to_list()
    assert all(a != b for a, b in itertools.pairwise(kinds))


def test_hl_uses_highs_and_lows() -> None:
    rows = [(100, 101, 99, 100), (100, 106, 100, 105), (105, 105.5, 100, 101)]
    piv = zigzag_threshold(frame(rows), 0.05, source="hl")
    rows_out = [
        (r["index"], r["kind"], r["price"], r["confirmed"]) for r in piv.iter_rows(named=True)
    ]
    # up move 106 - 99 >= 4.95: valley at bar 0 (99); peak 106 confirmed by 100 (6 >= 5.3)
    assert rows_out == [(0, "min", 99.0, True), (1, "max", 106.0, True), (2, "min", 100.0, False)]


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError, match="mode"):
        zigzag_threshold(closes_frame([1, 2]), 0.1, mode="bogus")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        ThresholdZigZag(0.0)
    assert np.isfinite(zigzag_threshold(closes_frame([1, 2]), 0.5)["price"].to_numpy()).all()
