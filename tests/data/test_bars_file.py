"""A bars file read (engine/data/bars_file.py) and read ahead (engine/data/read_ahead.py): the read
runs in another thread while the caller goes on, ``take`` gives the same bars a read there would
give, raises what the read raised, and never hands out bars of a file changed since; ``avin
backtest --data`` starts the read before its imports and says what it said before about a bad
file."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import avin_tui.cli as cli
from avin_tui.cli import main
from engine.backtest.feed import BarsFileError, read_bars_file
from engine.data import bars_file, read_ahead
from engine.data.bars_file import BAR_COLUMNS

CSV = (
    "ts,open,high,low,close,volume\n"
    "2024-03-01T07:00:00Z,10.0,10.5,9.5,10.2,5\n"
    "2024-03-01T07:01:00Z,10.2,10.4,10.1,10.3,7\n"
)


@pytest.fixture(autouse=True)
def nothing_left() -> Iterator[None]:
    yield
    assert not read_ahead._started, "a read was started and never taken"


def test_the_read_runs_beside_the_caller(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(CSV)
    entered, go = threading.Event(), threading.Event()
    real = bars_file.read_frame

    def slow(p: Path) -> pl.DataFrame:
        entered.set()
        assert go.wait(10)
        return real(p)

    monkeypatch.setattr(bars_file, "read_frame", slow)
    read_ahead.start(path)  # returns while the read waits
    assert entered.wait(10)
    assert threading.current_thread() is threading.main_thread()
    go.set()
    assert_frame_equal(read_ahead.take(path), bars_file.normalize(real(path)))


@pytest.mark.parametrize("name", ["bars.csv", "bars.parquet", "bars[1]*.csv"])
def test_take_gives_what_a_read_now_gives(tmp_path: Path, name: str) -> None:
    path = tmp_path / name  # (brackets and stars are a name's, not a pattern)
    suffix = path.suffix
    frame = pl.read_csv(CSV.encode(), try_parse_dates=True)
    if suffix == ".csv":
        path.write_text(CSV)
    else:
        frame.write_parquet(path)
    unit = "ns" if suffix == ".csv" else "us"  # a CSV's times parsed the fast way, in ns
    assert bars_file.read_frame(path)["ts"].dtype == pl.Datetime(unit, "UTC")
    now = bars_file.read_bars(path)
    assert now["ts"].dtype == pl.Datetime("ns", "UTC") and now.columns == list(BAR_COLUMNS)
    read_ahead.start(path)
    read_ahead.start(path)  # once
    assert_frame_equal(read_ahead.take(path), now)
    assert_frame_equal(read_ahead.take(path), now)  # nothing started: read there and then


def test_what_the_read_raised_is_raised_by_take(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes(b"ts,open\n\xff\xfe,\x00\n" * 3 + b'"unterminated\n')
    with pytest.raises(BarsFileError) as now:
        read_bars_file(path)
    read_ahead.start(path)
    with pytest.raises(BarsFileError) as ahead:
        read_bars_file(path)
    assert str(ahead.value) == str(now.value)
    assert isinstance(ahead.value.__cause__, type(now.value.__cause__))


def test_a_missing_file_is_not_bars_file_and_is_told(tmp_path: Path) -> None:
    read_ahead.start(tmp_path / "none.csv")
    assert not read_ahead._started
    with pytest.raises(BarsFileError, match=r"cannot read .*none\.csv"):
        read_bars_file(tmp_path / "none.csv")


def test_a_file_changed_after_the_read_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(CSV)
    read_ahead.start(path)
    read_ahead._started[path].join()
    path.write_text(CSV + "2024-03-01T07:02:00Z,10.3,10.3,10.0,10.1,2\n")
    os.utime(path, ns=(1, 1))  # a different time too, whatever the clock's resolution
    assert read_ahead.take(path).height == 3


def test_the_command_reads_ahead_and_tells_a_bad_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AVIN_HOME", str(tmp_path / "home"))
    started: list[Path] = []
    real = read_ahead.start

    def start(path: Path) -> None:
        started.append(path)
        real(path)

    parsed: list[str] = []
    real_parser = cli.build_parser

    def build_parser(command: str | None = None) -> Any:
        parsed.append(f"parser after {len(started)} start(s)")
        return real_parser(command)

    monkeypatch.setattr(read_ahead, "start", start)
    monkeypatch.setattr(cli, "build_parser", build_parser)
    bad = tmp_path / "bars.csv"
    bad.write_text("ts,open,high\n2024-03-01T07:00:00Z,1,2\n")
    assert main(["backtest", "sma_cross", "--data", str(bad)]) == 2
    # the read starts before the parser imports anything; the command's own start is a no-op
    assert parsed == ["parser after 1 start(s)"] and started == [bad, bad]
    err = capsys.readouterr().err
    assert "is not a bars file" in err and "missing ['close', 'low', 'volume']" in err, err


def test_a_command_stopped_before_the_data_leaves_no_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AVIN_HOME", str(tmp_path / "home"))
    path = tmp_path / "bars.csv"
    path.write_text(CSV)
    assert main(["backtest", "sma_crosss", "--data", str(path)]) == 2
    assert "sma_crosss" in capsys.readouterr().err  # the fixture: nothing left started


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["backtest", "sma_cross", "--data", "a.csv"], "a.csv"),
        (["backtest", "sma_cross", "--data=a.csv", "--commission", "0"], "a.csv"),
        (["backtest", "sma_cross", "--data", "a.csv", "--data", "b.csv"], "b.csv"),  # the last
        (["backtest", "sma_cross", "--tickers", "SBER"], None),
        (["backtest", "sma_cross", "--data"], None),  # the parser says what is missing
        (["backtest", "sma_cross", "--data", "--no-save"], None),
        (["backtest", "sma_cross", "--data="], None),
        (["backtest", "--", "--data", "a.csv"], None),  # past "--" nothing is an option
    ],
)
def test_the_data_option_is_found_before_the_parser(argv: list[str], expected: str | None) -> None:
    assert read_ahead.data_option(argv) == (None if expected is None else Path(expected))


def test_unsorted_bars_are_sorted_and_sorted_ones_are_marked_so(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    lines = CSV.splitlines()
    path.write_text("\n".join([lines[0], lines[2], lines[1]]) + "\n")
    got = bars_file.read_bars(path)
    assert got["close"].to_list() == [10.2, 10.3]
    assert got["ts"].flags["SORTED_ASC"]
    path.write_text(CSV)
    assert bars_file.read_bars(path).equals(got) and got["ts"].flags["SORTED_ASC"]
