"""Parsing and validating T-Invest archive CSVs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from engine.data.archive import Member, parse, read_archive
from engine.data.errors import ArchiveError
from engine.data.synthetic import archive_csv, minute_bars, trading_days


def lines(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def test_columns_order_open_close_high_low_and_trailing_separator() -> None:
    batch = parse(
        [
            Member(
                "a.csv",
                lines(
                    "u1;2024-03-01T07:00:00Z;100.5;100.7;100.9;100.4;1234;",
                    "u1;2024-03-01T07:01:00Z;83;84;85;82;7",
                ),
            )
        ]
    )
    assert not batch.bad
    rows = batch.bars.select("ts", "open", "high", "low", "close", "volume").rows()
    assert rows[0] == (datetime(2024, 3, 1, 7, 0, tzinfo=UTC), 100.5, 100.9, 100.4, 100.7, 1234)
    assert rows[1][1:] == (83.0, 85.0, 82.0, 84.0, 7)
    assert batch.bars["ts"].dtype == pl.Datetime("ns", "UTC")


def test_bad_lines_are_reported_with_file_line_and_reason() -> None:
    first = lines(
        "u1;2024-03-01T07:00:00Z;10;10;11;9;1",
        "",
        "u1;2024-03-01T07:01:30Z;10;10;11;9;1",
        "u1;2024-03-01T07:02:00Z;10;10;9.5;9;1",
        "u1;2024-03-01T07:03:00Z;10;10;11;10.5;1",
    )
    second = lines(
        "u1;2024-03-01T07:00:00Z;10;10;11;9;1",
        "u1;not-a-time;10;10;11;9;1",
        "u1;2024-03-01T07:05:00Z;x;10;11;9;1",
        "u1;2024-03-01T07:06:00Z;10;10;11;9;-3",
        "u1;2024-03-01T07:07:00Z;10;10;11",
        "u1;2024-03-01T07:08:00Z;10;10;11;9;2.5",
        "u1;2024-03-01T07:09:00Z;10;10;11;9;5",
    )
    batch = parse([Member("a.csv", first), Member("empty.csv", b""), Member("b.csv", second)])
    found = {(bad.file, bad.line): bad.reason for bad in batch.bad}
    assert set(found) == {
        ("a.csv", 3),
        ("a.csv", 4),
        ("a.csv", 5),
        ("b.csv", 1),
        ("b.csv", 2),
        ("b.csv", 3),
        ("b.csv", 4),
        ("b.csv", 5),
        ("b.csv", 6),
    }
    assert "minute boundary" in found[("a.csv", 3)]
    assert "high 9.5 is below" in found[("a.csv", 4)]
    assert "low 10.5 is above" in found[("a.csv", 5)]
    assert "duplicate" in found[("b.csv", 1)]
    assert "bad time 'not-a-time'" in found[("b.csv", 2)]
    assert "price" in found[("b.csv", 3)]
    assert "negative volume" in found[("b.csv", 4)]
    assert "price" in found[("b.csv", 5)]
    assert "volume" in found[("b.csv", 6)]
    assert [b.text for b in batch.bad if (b.file, b.line) == ("b.csv", 4)] == [
        "u1;2024-03-01T07:06:00Z;10;10;11;9;-3"
    ]
    assert batch.bars.height == 2  # a.csv line 1 and b.csv line 7


def test_leading_blank_lines_and_crlf_keep_line_numbers() -> None:
    data = (
        b"\r\n\r\nu1;2024-03-01T07:00:00Z;10;10;11;9;1\r\nu1;2024-03-01T07:01:00Z;10;10;9;9;1\r\n"
    )
    batch = parse([Member("c.csv", data)])
    assert [(b.line, b.reason.split()[0]) for b in batch.bad] == [(4, "high")]
    assert batch.bars.height == 1


def test_nan_and_negative_prices_are_invalid() -> None:
    batch = parse(
        [
            Member(
                "d.csv",
                lines(
                    "u1;2024-03-01T07:00:00Z;nan;1;1;1;1", "u1;2024-03-01T07:01:00Z;-1;-1;-1;-1;1"
                ),
            )
        ]
    )
    assert [b.line for b in batch.bad] == [1, 2]
    assert all("positive finite" in b.reason for b in batch.bad)


def test_generated_archive_round_trips() -> None:
    bars = minute_bars(trading_days(2023, 2), seed=3)
    batch = parse([Member("g.csv", archive_csv("u9", bars))])
    assert not batch.bad
    assert batch.bars.select(bars.columns).equals(bars)


def test_a_corrupt_zip_raises_archive_error(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ArchiveError, match="not a readable ZIP"):
        read_archive(path)
