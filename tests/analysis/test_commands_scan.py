"""CLI subcommands (called in-process with temporary files) and the scanner."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
from analysis_helpers import T0, frame

from avin_tui.cli.analysis import register
from engine.analysis import scan


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avin")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def _run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return int(args.func(args))


def _walk(n: int, seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    c = 100 + np.cumsum(rng.normal(0, 0.1, n))
    o = np.r_[100.0, c[:-1]]
    rows = list(zip(o, np.maximum(o, c) + 0.05, np.minimum(o, c) - 0.05, c, strict=True))
    return frame(rows)


def test_zigzag_terms_csv(tmp_path: Path) -> None:
    rows = [(10, 11, 9, 11), (11, 12, 10, 12), (12, 12, 11, 11.5)]
    src = tmp_path / "bars.csv"
    frame(rows).write_csv(src)
    out = tmp_path / "pivots.csv"
    assert _run(["zigzag", "--input", str(src), "--mode", "terms", "--output", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "ts,term,kind,price,confirmed_ts,confirmed"
    assert lines[1] == "2024-01-01T07:01:00Z,1,max,12.0,2024-01-01T07:02:00Z,true"
    assert lines[2] == "2024-01-01T07:01:00Z,2,max,12.0,,false"
    assert "2024-01-01T07:02:00Z,1,min,11.0,,false" in lines


def test_zigzag_threshold_parquet(tmp_path: Path) -> None:
    src = tmp_path / "bars.parquet"
    frame([(c, c, c, c) for c in (100, 103, 100.9, 104)]).write_parquet(src)
    out = tmp_path / "p.csv"
    argv = ["zigzag", "--input", str(src), "--mode", "threshold", "--threshold", "0.02"]
    assert _run([*argv, "--output", str(out)]) == 0
    got = pl.read_csv(out)
    assert got["term"].to_list() == [0, 0, 0, 0]
    assert got["kind"].to_list() == ["min", "max", "min", "max"]
    assert got["confirmed"].to_list() == [True, True, True, False]


def test_zigzag_reports_bad_input(tmp_path: Path, capsys) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("ts,open\n2024-01-01T00:00:00Z,1\n")
    assert _run(["zigzag", "--input", str(src), "--output", str(tmp_path / "o.csv")]) == 1
    assert "missing columns" in capsys.readouterr().err


def test_scan_command_writes_hits(tmp_path: Path, capsys) -> None:
    src = tmp_path / "m1.parquet"
    _walk(3000).write_parquet(src)
    out = tmp_path / "hits.csv"
    argv = ["scan", "T1.trend == bull and T1.len >= 3", "--input", str(src), "--tf", "5M,1H"]
    assert _run([*argv, "--output", str(out)]) == 0
    hits = pl.read_csv(out)
    assert hits.columns == ["ticker", "ts", "tf", "bar_ts", "close"]
    assert hits.height > 0 and set(hits["tf"]) <= {"5M", "1H"}
    assert "hits" in capsys.readouterr().out


def test_scan_hits_match_a_direct_view_check() -> None:
    df = _walk(2000)
    begin = T0 + timedelta(hours=10)
    hits = scan(df, "1H.T1.trend == bull", begin=begin)
    from engine.analysis import MultiTimeFrameView, parse_filter

    view = MultiTimeFrameView.from_bars(df, ["1H"])
    flt = parse_filter("1H.T1.trend == bull")
    expected = []
    for t in view.completion_times("1H"):
        snap = view.as_of(int(t))
        if int(t) >= int(pl.Series([begin]).cast(pl.Int64)[0] * 1000) and flt(snap):
            expected.append(snap.time)
    assert hits["ts"].to_list() == expected
    assert all(b + timedelta(hours=1) == t for b, t in zip(hits["bar_ts"], hits["ts"], strict=True))


def test_scan_stats_come_from_history_only() -> None:
    df = _walk(6000)
    begin = T0 + timedelta(hours=60)
    hits = scan(df, "1H.T1.abs_p.cdf >= 0", begin=begin)
    assert hits.height > 0 and hits["ts"].min() >= begin
    # no history before the first bar: no statistics, so no cdf hits
    assert scan(df, "1H.T1.abs_p.cdf >= 0").height == 0
    assert scan(df, "1H.T1.abs_p.cdf >= 0", stats_from="all").height > 0
