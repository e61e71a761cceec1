"""Golden pivots on a fixed deterministic series (tests/analysis/golden/).

The series is built from a tiny LCG so it never depends on a library's random generator.
Regenerate with ``AVIN_REGEN_GOLDEN=1 pytest tests/analysis/test_golden.py`` only after checking
the differences by hand. Hand-checked points are asserted explicitly below.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
from analysis_helpers import frame

from engine.analysis import zigzag_terms, zigzag_threshold

GOLDEN = Path(__file__).parent / "golden"


def golden_bars(n: int = 80) -> pl.DataFrame:
    state = 12345
    price = 1000
    rows = []
    for _ in range(n):
        state = (1103515245 * state + 12345) % 2**31
        move = state % 21 - 10  # -10..+10
        state = (1103515245 * state + 12345) % 2**31
        up, down = state % 4, (state // 4) % 4
        o, c = price, price + move
        rows.append((o, max(o, c) + up, min(o, c) - down, c))
        price = c
    return frame(rows)


def _check(name: str, got: pl.DataFrame) -> pl.DataFrame:
    path = GOLDEN / name
    table = got.with_columns(
        pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        pl.col("confirmed_ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    if os.environ.get("AVIN_REGEN_GOLDEN"):
        table.write_csv(path)
    expected = pl.read_csv(path, schema=table.schema)
    assert table.equals(expected), f"{name} differs from the golden file"
    return table


def test_golden_terms() -> None:
    df = golden_bars()
    table = _check("terms_pivots.csv", zigzag_terms(df))
    t1 = table.filter(pl.col("term") == 1)
    # hand-checked: bar 0 is bearish (1000 -> 995), so T1 starts as a Min at its low
    first = df.row(0, named=True)
    assert first["close"] < first["open"]
    assert t1.row(0, named=True)["kind"] == "min" and t1.row(0, named=True)["index"] == 0
    assert t1.row(0, named=True)["price"] == first["low"]
    # hand-checked: every confirmed T1 max is at a bar whose next bar has a high not above it
    highs = df["high"].to_list()
    for r in t1.filter(pl.col("confirmed") & (pl.col("kind") == "max")).iter_rows(named=True):
        i = r["index"]
        assert r["price"] == highs[i] and highs[i + 1] <= highs[i]
        assert r["confirmed_index"] == i + 1
    # hand-checked: T2 points are T1 points and T2 maxima are above both neighbouring T1 maxima
    t2 = table.filter(pl.col("term") == 2)
    assert set(t2["index"]) <= set(t1["index"])


def test_golden_threshold() -> None:
    df = golden_bars()
    table = _check("threshold_pivots.csv", zigzag_threshold(df, 0.02))
    closes = df["close"].to_list()
    conf = table.filter(pl.col("confirmed"))
    # hand-checked: each confirmed max is followed by a close >= 2 % below it at confirmed_index
    for r in conf.iter_rows(named=True):
        c = closes[r["confirmed_index"]]
        if r["kind"] == "max":
            assert r["price"] - c >= 0.02 * r["price"]
        else:
            assert c - r["price"] >= 0.02 * r["price"]
