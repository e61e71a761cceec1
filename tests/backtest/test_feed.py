"""Reading a ``--data`` bars file: every way of writing ``ts`` gives the same UTC bars."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.backtest.feed import file_instrument, normalize, price_decimals, read_bars_file

HEADER = "ts,open,high,low,close,volume\n"
ROWS = [("10.5", "10.75", "10.25", "10.5", "3"), ("10.5", "11", "10", "10.875", "4")]


def _write(path: Path, stamps: list[str]) -> Path:
    lines = [",".join((ts, *row)) for ts, row in zip(stamps, ROWS, strict=True)]
    path.write_text(HEADER + "\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "stamps",
    [
        ["2024-03-01T07:00:00Z", "2024-03-01T07:01:00Z"],  # the fast path
        ["2024-03-01 07:00:00", "2024-03-01 07:01:00"],  # the fast path, no zone: UTC
        ["2024-03-01T07:00:00.000Z", "2024-03-01T07:01:00.500Z"],  # fractions: guessed
        ["2024-03-01T10:00:00+03:00", "2024-03-01T10:01:00+03:00"],  # an offset: guessed
        ["2024-03-01T07:00:00Z", "2024-03-01T07:01:00.5Z"],  # mixed: the fast format fails
    ],
)
def test_the_csv_read_equals_the_guessing_read(tmp_path: Path, stamps: list[str]) -> None:
    path = _write(tmp_path / "bars.csv", stamps)
    got = read_bars_file(path)
    assert got.equals(normalize(pl.read_csv(path, try_parse_dates=True)))
    assert got["ts"].dt.strftime("%H:%M").to_list() == ["07:00", "07:01"]
    assert got.schema["ts"] == pl.Datetime("ns", "UTC")


def test_a_missing_time_falls_back_and_stays_an_error_of_the_guessing_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "bars.csv", ["2024-03-01T07:00:00Z", ""])
    assert read_bars_file(path)["ts"].null_count() == 1  # as try_parse_dates reads it


def test_the_price_step_is_the_fewest_decimals_of_every_price(tmp_path: Path) -> None:
    path = _write(tmp_path / "bars.csv", ["2024-03-01T07:00:00Z", "2024-03-01T07:01:00Z"])
    assert str(file_instrument(read_bars_file(path)).step) == "0.001"


def _fewest_decimals(frame: pl.DataFrame) -> int:
    """The definition: the fewest decimals every printed price of every column needs."""
    texts = [repr(float(v)) for c in ("open", "high", "low", "close") for v in frame[c]]
    return max(len(t.split(".")[1].rstrip("0")) if "." in t else 0 for t in texts)


@given(
    st.lists(
        st.tuples(*[st.integers(1, 10**6)] * 4, st.integers(0, 3), st.integers(0, 3)),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["open", "high", "low", "close"]),
)
def test_the_price_step_fits_every_column_whichever_needs_the_most(
    rows: list[tuple[int, int, int, int, int, int]], finest: str
) -> None:
    """The closes decide first; a finer open, high or low still sets the step."""
    columns: dict[str, list[float]] = {c: [] for c in ("open", "high", "low", "close")}
    for *units, coarse, fine in rows:
        for column, unit in zip(columns, units, strict=True):
            scale = fine + 1 if column == finest else coarse
            columns[column].append(round(unit / 10**scale, scale))
    frame = pl.DataFrame(columns)
    assert price_decimals(frame) == _fewest_decimals(frame)


def test_a_missing_file_and_a_folder_are_told_in_plain_words(tmp_path: Path) -> None:
    from engine.backtest.feed import BarsFileError

    with pytest.raises(BarsFileError) as missing:
        read_bars_file(tmp_path / "nope.csv")
    assert str(missing.value).startswith(
        f"cannot read {tmp_path / 'nope.csv'}: there is no such file."
    )
    assert str(missing.value).count("nope.csv") == 1  # (polars' own text repeats the path)
    with pytest.raises(BarsFileError, match="it is a folder, not a file"):
        read_bars_file(tmp_path)
