"""Hierarchical ZigZag T1..T5: hand-checked cases and properties."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from analysis_helpers import bars_of, frame, ohlc_rows
from hypothesis import given, settings

from engine.analysis import Kind, Pivot, PivotConfirmed, TermsZigZag, zigzag_terms
from engine.analysis._jit import HAVE_NUMBA
from engine.analysis.frames import column, pivots_from_frame
from engine.analysis.kernels import tnext_py
from engine.analysis.zigzag import terms_arrays


def t1(df: pl.DataFrame) -> list[tuple]:
    piv = zigzag_terms(df, 1)
    return [
        (r["index"], r["kind"], r["price"], r["confirmed"], r["confirmed_index"])
        for r in piv.iter_rows(named=True)
    ]


def test_bull_first_bar_starts_as_max() -> None:
    assert t1(frame([(10, 12, 9, 11)])) == [(0, "max", 12.0, False, None)]


def test_doji_and_bear_first_bar_start_as_min() -> None:
    assert t1(frame([(10, 12, 9, 10)])) == [(0, "min", 9.0, False, None)]
    assert t1(frame([(11, 12, 9, 10)])) == [(0, "min", 9.0, False, None)]


def test_max_extends_on_strictly_higher_high_then_reverses() -> None:
    rows = [(10, 11, 9, 11), (11, 12, 10, 12), (12, 13, 11, 12), (12, 12.5, 10, 10)]
    assert t1(frame(rows)) == [(2, "max", 13.0, True, 3), (3, "min", 10.0, False, None)]


def test_equal_high_is_a_reversal() -> None:
    rows = [(10, 11, 9, 11), (11, 12, 10, 12), (12, 12, 11, 11.5)]
    assert t1(frame(rows)) == [(1, "max", 12.0, True, 2), (2, "min", 11.0, False, None)]


def test_equal_low_is_a_reversal() -> None:
    rows = [(10, 11, 9, 9.5), (9.5, 10, 8, 8.5), (8.5, 9, 8, 9)]
    assert t1(frame(rows)) == [(1, "min", 8.0, True, 2), (2, "max", 9.0, False, None)]


def test_outside_bar_extends_max_even_with_a_lower_low() -> None:
    rows = [(10, 11, 9, 11), (11, 13, 5, 6), (6, 7, 5.5, 6)]
    assert t1(frame(rows)) == [(1, "max", 13.0, True, 2), (2, "min", 5.5, False, None)]


def test_t2_from_t1_points() -> None:
    # confirmed T1: M 10, m 5, M 12, m 6, M 11, m 4 (bars 0..5, each confirmed one bar later)
    idx = np.arange(6, dtype=np.int64)
    kind = np.array([1, -1, 1, -1, 1, -1], dtype=np.int8)
    price = np.array([10, 5, 12, 6, 11, 4], dtype=np.float64)
    cidx = idx + 1
    o_idx, o_kind, o_price, o_cidx, ci, ck, cp = tnext_py(idx, kind, price, cidx)
    # M12 extends M10; M11 confirms M12 (at bar 5, when M11 itself was confirmed); the latest
    # opposite point m6 becomes the candidate and m4 extends it.
    assert list(o_idx) == [2] and list(o_kind) == [1] and list(o_price) == [12.0]
    assert list(o_cidx) == [5]
    assert (ci, ck, cp) == (5, -1, 4.0)


def test_t2_candidate_can_be_older_than_t1_candidate() -> None:
    rows = [
        (10, 11, 9, 11),
        (11, 12, 10, 10),
        (10, 10.5, 8, 8.2),
        (8.2, 9, 7, 7.5),
        (7.5, 9.5, 7.2, 9),
        (9, 10, 8.5, 9.8),
        (9.8, 11.5, 9.5, 11),
    ]
    piv = zigzag_terms(frame(rows), 2)
    t1c = piv.filter((pl.col("term") == 1) & ~pl.col("confirmed"))
    t2c = piv.filter((pl.col("term") == 2) & ~pl.col("confirmed"))
    assert t1c["index"].item() == 6
    assert t2c["index"].item() < 6


def test_incremental_events() -> None:
    rows = [(10, 11, 9, 11), (11, 12, 10, 12), (12, 12, 11, 11.5)]
    zz = TermsZigZag()
    events = [e for b in bars_of(frame(rows)) for e in zz.update(b)]
    confirmed = [e for e in events if isinstance(e, PivotConfirmed)]
    assert len(confirmed) == 1
    assert confirmed[0].pivot.index == 1 and confirmed[0].pivot.kind is Kind.MAX
    assert confirmed[0].confirmed_ts == frame(rows)["ts"][2]
    assert zz.candidates[0] is not None and zz.candidates[0].kind is Kind.MIN


def test_preview_does_not_change_state() -> None:
    df = frame([(10, 11, 9, 11), (11, 12, 10, 12)])
    zz = TermsZigZag()
    for b in bars_of(df):
        zz.update(b)
    before = (list(zz.candidates), [list(c) for c in zz.confirmed], zz.count)
    live = bars_of(frame([(12, 12, 11, 11)]))[0]
    cands = zz.preview(live)
    assert cands[0] is not None and cands[0].kind is Kind.MIN and cands[0].index == 2
    assert (list(zz.candidates), [list(c) for c in zz.confirmed], zz.count) == before


def _key(p: Pivot) -> tuple:
    return (p.term, p.index, p.kind, p.price, p.confirmed, p.confirmed_index, p.confirmed_ts)


def _arrays(df: pl.DataFrame, k: int) -> list:
    cols = [column(df, c)[:k] for c in ("open", "high", "low", "close")]
    return terms_arrays(*cols)


def _from_arrays(arrs: list) -> list[tuple]:
    out = []
    for t, a in enumerate(arrs, start=1):
        for i, kd, pr, ci in zip(a.idx, a.kind, a.price, a.cidx, strict=True):
            out.append((t, int(i), int(kd), float(pr), True, int(ci)))
        if a.cand_kind:
            out.append((t, a.cand_idx, a.cand_kind, a.cand_price, False, None))
    return out


@settings(max_examples=150, deadline=None)
@given(ohlc_rows(1, 40))
def test_incremental_equals_batch_on_every_prefix(rows: list[tuple]) -> None:
    df = frame(rows)
    zz = TermsZigZag()
    for k, bar in enumerate(bars_of(df), start=1):
        zz.update(bar)
        inc = [
            (p.term, p.index, p.kind.sign, p.price, p.confirmed, p.confirmed_index)
            for t in range(1, 6)
            for p in zz.pivots(t)
        ]
        assert inc == _from_arrays(_arrays(df, k))
    # and the full tables agree, timestamps included
    batch = pivots_from_frame(zigzag_terms(df))
    assert [_key(p) for t in range(1, 6) for p in zz.pivots(t)] == [_key(p) for p in batch]


@settings(max_examples=150, deadline=None)
@given(ohlc_rows(2, 40))
def test_confirmed_pivots_never_change(rows: list[tuple]) -> None:
    df = frame(rows)
    full = [x for x in _from_arrays(_arrays(df, len(rows))) if x[4]]
    for k in range(1, len(rows)):
        part = [x for x in _from_arrays(_arrays(df, k)) if x[4]]
        for term in range(1, 6):
            a = [x for x in part if x[0] == term]
            b = [x for x in full if x[0] == term][: len(a)]
            assert a == b
            assert all(x[5] < k for x in a)  # knowable within the prefix


@settings(max_examples=150, deadline=None)
@given(ohlc_rows(1, 60))
def test_kinds_alternate_and_terms_nest(rows: list[tuple]) -> None:
    piv = zigzag_terms(frame(rows))
    prev_indexes: set[int] | None = None
    for term in range(1, 6):
        p = piv.filter(pl.col("term") == term)
        kinds = p["kind"].to_list()
        assert all(a != b for a, b in itertools.pairwise(kinds))
        conf = p.filter(pl.col("confirmed"))
        assert (conf["confirmed_index"] > conf["index"]).all()
        if prev_indexes is not None:  # T(n+1) points are confirmed T(n) points
            assert set(p["index"].to_list()) <= prev_indexes
        prev_indexes = set(conf["index"].to_list())


@settings(max_examples=300, deadline=None)
@given(ohlc_rows(1, 60))
def test_every_pivot_is_the_extreme_of_its_own_leg(rows: list[tuple]) -> None:
    """T1..T5 properties (the threshold ZigZag's "extreme between neighbours" does not hold here by
    design: T(n+1) is built from confirmed T(n) points only).

    * A pivot's price is the high (Max) or the low (Min) of its bar.
    * T1: a pivot is the extreme of the bars from the previous pivot's confirmation (bar 0 for the
      first) to its own confirmation (the last bar for the candidate).
    * T(n+1), confirmed: a pivot is the extreme of the confirmed T(n) points of its kind from the
      bar after the previous T(n+1) pivot to its own confirmation.
    * Every Max is above its neighbouring Mins; equal only at a flat bar (high == low), since
      equal highs and lows count as a reversal in T1 and higher terms are made of T1 points.
    """
    df = frame(rows)
    highs, lows = df["high"].to_list(), df["low"].to_list()
    piv = zigzag_terms(df)
    for term in range(1, 6):
        lower = piv.filter((pl.col("term") == term - 1) & pl.col("confirmed"))
        start = 0
        points = list(piv.filter(pl.col("term") == term).iter_rows(named=True))
        for r in points:
            at = r["index"]
            assert r["price"] == (highs[at] if r["kind"] == "max" else lows[at])
            if term > 1 and not r["confirmed"]:
                continue
            end = r["confirmed_index"] if r["confirmed"] else len(rows) - 1
            if term == 1:
                leg = range(start, end + 1)
                extremes = [highs[i] for i in leg] if r["kind"] == "max" else [lows[i] for i in leg]
                start = end
            else:
                same = lower.filter(
                    (pl.col("kind") == r["kind"]) & pl.col("index").is_between(start, end)
                )
                extremes = same["price"].to_list()
                start = at + 1
            assert r["price"] == (max(extremes) if r["kind"] == "max" else min(extremes))
        for p, q in itertools.pairwise(points):
            top, bottom = (p, q) if p["kind"] == "max" else (q, p)
            flat = any(highs[x["index"]] == lows[x["index"]] for x in (p, q))
            assert top["price"] > bottom["price"] or (flat and top["price"] == bottom["price"]), (
                term,
                p,
                q,
            )


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")
@settings(max_examples=100, deadline=None)
@given(ohlc_rows(1, 60))
def test_numba_equals_pure_python(rows: list[tuple]) -> None:
    df = frame(rows)
    assert zigzag_terms(df, use_numba=True).equals(zigzag_terms(df, use_numba=False))


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed: nothing to compare")
def test_numba_equals_pure_python_on_a_long_walk() -> None:
    rng = np.random.default_rng(7)
    c = 100 + np.cumsum(rng.normal(0, 1, 20_000))
    o = np.r_[100.0, c[:-1]]
    h = np.maximum(o, c) + rng.random(c.size)
    lo = np.minimum(o, c) - rng.random(c.size)
    fast = terms_arrays(o, h, lo, c, use_numba=True)
    pure = terms_arrays(o, h, lo, c, use_numba=False)
    for a, b in zip(fast, pure, strict=True):
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(np.asarray(x), np.asarray(y))


def test_numpy_input_without_ts() -> None:
    bars = {"open": [1.0, 2.0], "high": [2.0, 3.0], "low": [0.5, 1.5], "close": [2.0, 2.5]}
    piv = zigzag_terms(bars, 1)
    assert piv["index"].to_list() == [1] and piv["ts"].is_null().all()
    assert column(bars, "high").dtype == np.float64
