"""Trends, statistics, size classes and the statistics cache."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from analysis_helpers import frame

from engine.analysis import (
    StatsCache,
    TrendStats,
    class_of_percent,
    data_version,
    size_of_percent,
    trends_frame,
    zigzag_terms,
)
from engine.model.timeframe import TimeFrame


def test_size_classes_follow_the_percentile_table() -> None:
    table = [
        (0, -7), (0.99, -7), (1, -6), (2.9, -6), (3, -5), (5, -4), (10, -3), (20, -2), (30, -1),
        (39.9, -1), (40, 0), (59.9, 0), (60, 1), (70, 2), (80, 3), (90, 4), (95, 5), (97, 6),
        (98.9, 6), (99, 7), (100, 7),
    ]  # fmt: skip
    for pct, size in table:
        assert size_of_percent(pct) == size, pct
    coarse = [(0, "XS"), (9.9, "XS"), (10, "S"), (29.9, "S"), (30, "M"), (69.9, "M"), (70, "L"),
              (89.9, "L"), (90, "XL"), (100, "XL")]  # fmt: skip
    for pct, name in coarse:
        assert class_of_percent(pct) == name, pct


def test_cdf_is_the_share_of_history_at_or_below() -> None:
    vals = np.arange(1, 101, dtype=np.float64)  # 1..100
    st = TrendStats(dict.fromkeys(("abs_p", "len", "speed_p", "vol"), vals))
    assert st.cdf("abs_p", 70) == 0.7
    assert st.cdf("abs_p", 0.5) == 0.0 and st.cdf("abs_p", 1000) == 1.0
    assert st.size("abs_p", 70) == 2 and st.size("abs_p", 69.5) == 1
    assert st.size_class("len", 90) == "XL" and st.size_class("len", 10) == "S"
    assert np.isnan(
        TrendStats({key: [] for key in ("abs_p", "len", "speed_p", "vol")}).cdf("len", 1)
    )
    with pytest.raises(KeyError):
        st.cdf("bogus", 1)


def test_trends_frame_hand_checked() -> None:
    rows = [(10, 11, 9, 11), (11, 12, 10, 12), (12, 12, 11, 11.5), (11.5, 11.8, 10.5, 11),
            (11, 13, 10.8, 12.5)]  # fmt: skip
    df = frame(rows)
    tr = trends_frame(zigzag_terms(df, 1), df["volume"])
    # T1: max 12 @1 (confirmed @2), min 10.5 @3 (confirmed @4), candidate max 13 @4
    assert tr.select("n", "kind", "begin_index", "end_index", "len", "confirmed").rows() == [
        (1, "bear", 1, 3, 3, True),
        (0, "bull", 3, 4, 2, False),
    ]
    assert tr["vol"].to_list() == [11 + 12 + 13, 13 + 14]
    assert tr["abs_p"][1] == pytest.approx((13 - 10.5) / 10.5 * 100)
    assert tr["speed_p"][1] == pytest.approx(tr["abs_p"][1] / 2)


def _walk(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    c = 100 + np.cumsum(rng.normal(0, 0.5, n))
    o = np.r_[100.0, c[:-1]]
    rows = list(zip(o, np.maximum(o, c) + 0.1, np.minimum(o, c) - 0.1, c, strict=True))
    return frame(rows)


def test_cache_keys_and_invalidation(tmp_path) -> None:
    cache = StatsCache(tmp_path)
    a = _walk(500, 1)
    first = cache.load_or_compute("moex_share_sber", TimeFrame.H1, a, [1, 2])
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    v = data_version(a)
    assert files == [f"MOEX_SHARE_SBER/H1/T1-{v}.parquet", f"MOEX_SHARE_SBER/H1/T2-{v}.parquet"]
    again = cache.load_or_compute("MOEX_SHARE_SBER", TimeFrame.H1, a, [1, 2])
    assert np.array_equal(first[1].values("abs_p"), again[1].values("abs_p"))
    # other instrument / timeframe: separate entries
    cache.load_or_compute("MOEX_SHARE_GAZP", TimeFrame.H1, a, [1])
    cache.load_or_compute("MOEX_SHARE_SBER", TimeFrame.MONTH, a, [1])
    cache.load_or_compute("MOEX_SHARE_SBER", TimeFrame.M1, a, [1])
    assert (tmp_path / "MOEX_SHARE_GAZP/H1").is_dir() and (tmp_path / "MOEX_SHARE_SBER/M1").is_dir()
    assert (tmp_path / "MOEX_SHARE_SBER/MONTH").is_dir()
    # changed data (one close) -> new version, the old file is replaced
    b = a.with_columns(pl.when(pl.int_range(pl.len()) == 100).then(pl.col("close") + 0.01)
                       .otherwise(pl.col("close")).alias("close"))  # fmt: skip
    assert data_version(b) != v
    cache.load_or_compute("MOEX_SHARE_SBER", TimeFrame.H1, b, [1])
    t1_files = list((tmp_path / "MOEX_SHARE_SBER/H1").glob("T1-*.parquet"))
    assert [p.name for p in t1_files] == [f"T1-{data_version(b)}.parquet"]


def test_annotate_adds_cdf_and_size_columns() -> None:
    df = _walk(2000, 3)
    tr = trends_frame(zigzag_terms(df, 1), df["volume"])
    st = TrendStats.from_trends(tr)
    out = st.annotate(tr)
    assert {"abs_p_cdf", "abs_p_size", "len_size", "size_class"} <= set(out.columns)
    conf = out.filter(pl.col("confirmed"))
    assert conf["abs_p_cdf"].max() == 1.0
    assert conf["abs_p_size"].min() >= -7 and conf["abs_p_size"].max() == 7
