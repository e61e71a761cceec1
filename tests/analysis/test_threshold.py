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
    low_i = high_i = 0  # the first leg: running lowest and highest close so far
    for j in range(1, len(x)):
        if direction is None:
            if x[j] - x[low_i] >= t * x[low_i]:
                pivots.append((low_i, "min", x[low_i], j))
                direction, ext_i = "up", j
            elif x[high_i] - x[j] >= t * x[high_i]:
                pivots.append((high_i, "max", x[high_i], j))
                direction, ext_i = "down", j
            elif x[j] < x[low_i]:
                low_i = j
            elif x[j] > x[high_i]:
                high_i = j
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
    # the first leg follows the running low: 99.5 (bar 1) -> 103 rises 3.5 >= 1.99: valley at 1,
    # confirmed at bar 3; 103 -> 100.9 falls 2.1 >= 2.06: peak 103 confirmed at 5; 100.9 -> 104
    # rises 3.1 >= 2.018: valley confirmed at 6; 104 -> 102.9 falls 1.1 < 2.08: 104 stays tentative
    assert rows == [
        (1, "min", 99.5, True),
        (3, "max", 103.0, True),
        (5, "min", 100.9, True),
        (6, "max", 104.0, False),
    ]
    assert piv["confirmed_index"].to_list() == [3, 5, 6, None]


def test_first_leg_follows_the_running_low() -> None:
    """The hourly EURUSD case: a lower close before the first rise is the first Min, not bar 0."""
    x = [1.07219, 1.0705, 1.06876, 1.0699, 1.0745, 1.0712, 1.0690]
    piv = zigzag_threshold(closes_frame(x), 0.005)
    rows = [(r["index"], r["kind"], r["price"], r["confirmed"]) for r in piv.iter_rows(named=True)]
    # 1.06876 -> 1.0745 rises 0.54 %: the valley is bar 2; 1.0745 -> 1.0690 falls 0.51 %
    assert rows == [(2, "min", 1.06876, True), (4, "max", 1.0745, True), (6, "min", 1.069, False)]
    zz = ThresholdZigZag(0.005)
    for bar in bars_of(closes_frame(x)):
        zz.update(bar)
    assert zz.pivots() == pivots_from_frame(piv)


def test_first_leg_follows_the_running_high() -> None:
    x = [100.0, 100.8, 101.2, 100.5, 99.6]
    piv = zigzag_threshold(closes_frame(x), 0.015)
    rows = [(r["index"], r["kind"], r["price"], r["confirmed"]) for r in piv.iter_rows(named=True)]
    # no close is 1.5 % above the running low 100; 101.2 -> 99.6 falls 1.6 >= 1.518
    assert rows == [(2, "max", 101.2, True), (4, "min", 99.6, False)]


def _between(pivots: list[tuple[int, str]], k: int, n: int) -> range:
    """Bars strictly between the neighbours of pivot ``k`` (from bar 0 for the first pivot)."""
    lo = pivots[k - 1][0] + 1 if k > 0 else 0
    hi = pivots[k + 1][0] if k + 1 < len(pivots) else n
    return range(lo, hi)


@settings(max_examples=300, deadline=None)
@given(ohlc_rows(1, 60), st.sampled_from(["relative", "absolute"]))
def test_every_close_pivot_is_the_extreme_between_its_neighbours(
    rows: list[tuple], mode: str
) -> None:
    """From the first pivot on: a Min is the lowest close between its neighbouring Maxes (the bars
    strictly between them), a Max the highest between its neighbouring Mins. (Not with ATR: there
    the needed move varies, so a later close may pass a confirmed pivot without confirming the
    running extreme, and confirmed pivots are final.)"""
    t = {"relative": 0.03, "absolute": 4.0}[mode]
    df = frame(rows)
    piv = zigzag_threshold(df, t, mode, "close")  # type: ignore[arg-type]
    closes = df["close"].to_list()
    pivots = [(r["index"], r["kind"], r["price"]) for r in piv.iter_rows(named=True)]
    for k, (index, kind, price) in enumerate(pivots):
        span = _between([(p[0], p[1]) for p in pivots], k, len(rows))
        pick = min if kind == "min" else max
        assert price == closes[index] == pick(closes[i] for i in span)


@settings(max_examples=300, deadline=None)
@given(
    ohlc_rows(1, 60),
    st.sampled_from(["relative", "absolute", "atr"]),
    st.sampled_from(["close", "hl"]),
)
def test_every_pivot_is_the_extreme_of_its_own_leg(
    rows: list[tuple], mode: str, source: str
) -> None:
    """Every mode and source: a Min is the lowest low of its own leg, the bars after the previous
    pivot (from bar 0 for the first) up to its own confirmation (the last bar for the running one);
    mirror for Max. With highs and lows an outside bar can hold a new high and a lower low, so a
    Min need not be the lowest low between its Maxes."""
    t = {"relative": 0.03, "absolute": 4.0, "atr": 1.5}[mode]
    df = frame(rows)
    piv = zigzag_threshold(df, t, mode, source, 3)  # type: ignore[arg-type]
    highs = df["high" if source == "hl" else "close"].to_list()
    lows = df["low" if source == "hl" else "close"].to_list()
    start = 0
    kinds = []
    for r in piv.iter_rows(named=True):
        end = r["confirmed_index"] if r["confirmed"] else len(rows) - 1
        leg = range(start, end + 1)
        assert r["index"] in leg
        if r["kind"] == "min":
            assert r["price"] == lows[r["index"]] == min(lows[i] for i in leg)
        else:
            assert r["price"] == highs[r["index"]] == max(highs[i] for i in leg)
        start = r["index"] + 1
        kinds.append(r["kind"])
    assert all(a != b for a, b in itertools.pairwise(kinds))


def test_a_flat_stretch_makes_no_pivots_when_the_atr_is_zero() -> None:
    rows = [(100, 103, 100, 103), (100, 101, 100, 100)] + [(100, 100, 100, 100)] * 10
    piv = zigzag_threshold(frame(rows), 1.5, "atr", "close", 3)
    # 103 -> 100 at bar 2 (ATR 1.33, need 2): the Max; then the ATR falls to zero, which needs no
    # move, but an unchanged close is no move at all: no pivot on every flat bar
    rows_out = [
        (r["index"], r["kind"], r["price"], r["confirmed_index"]) for r in piv.iter_rows(named=True)
    ]
    assert rows_out == [(0, "max", 103.0, 2), (1, "min", 100.0, None)]


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
