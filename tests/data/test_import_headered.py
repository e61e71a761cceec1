"""``avin data import`` of CSVs with a header row, and a run that stores nothing (CLI, real files)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.data.store import BarStore
from engine.paths import homes

from .conftest import SBER_UID, strip_ansi

Run = Any
MSK_OPEN = datetime(2024, 3, 1, 10, 0)  # 07:00 UTC


def _minutes(n: int) -> list[datetime]:
    return [MSK_OPEN + timedelta(minutes=i) for i in range(n)]


def _semicolon_csv(path: Path, n: int = 600) -> Path:
    lines = ["date;time;open;high;low;close;volume"]
    for i, t in enumerate(_minutes(n)):
        lines.append(f"{t:%Y-%m-%d};{t:%H:%M:%S};100.5;101;100;100.7;{10 + i}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _finam_csv(path: Path, n: int = 100, per: str = "1") -> Path:
    lines = ["<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>"]
    for i, t in enumerate(_minutes(n)):
        lines.append(f"GAZP,{per},{t:%Y%m%d},{t:%H%M%S},160.1,160.5,159.9,160.2,{1000 + i}")
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


def test_semicolon_header_with_ticker_stores_every_row_in_utc(tmp_path: Path, run_cli: Run) -> None:
    csv = _semicolon_csv(tmp_path / "sber.csv")
    result = run_cli("data", "import", "--ticker", "SBER", str(csv))
    assert result.code == 0, result.err
    assert "missing time" not in result.err
    bars = BarStore().read("MOEX_SHARE_SBER")
    assert bars.height == 600
    assert bars["ts"][0] == datetime(2024, 3, 1, 7, 0, tzinfo=UTC)  # 10:00 Moscow
    assert bars["volume"][599] == 609
    assert float(bars["high"][0]) == 101.0 and float(bars["close"][0]) == 100.7


def test_finam_layout_takes_the_ticker_from_its_column(tmp_path: Path, run_cli: Run) -> None:
    csv = _finam_csv(tmp_path / "finam.csv")
    result = run_cli("data", "import", str(csv))
    assert result.code == 0, result.err
    bars = BarStore().read("MOEX_SHARE_GAZP")
    assert bars.height == 100
    assert bars["ts"][0] == datetime(2024, 3, 1, 7, 0, tzinfo=UTC)


def test_tz_option_reads_zone_less_times_as_utc(tmp_path: Path, run_cli: Run) -> None:
    csv = _finam_csv(tmp_path / "finam.csv", n=3)
    assert run_cli("data", "import", "--tz", "UTC", str(csv)).code == 0
    assert BarStore().read("MOEX_SHARE_GAZP")["ts"][0] == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_bad_lines_of_a_headered_file_keep_their_line_numbers(tmp_path: Path, run_cli: Run) -> None:
    csv = tmp_path / "mixed.csv"
    csv.write_text(
        "datetime,open,high,low,close,volume\n"
        "2024-03-01 10:00:00,10,11,9,10.5,5\n"
        "2024-03-01 10:01:00,10,9,9,10.5,5\n"  # high below open
        "yesterday,10,11,9,10.5,5\n"
        "2024-03-01T07:03:00Z,10,11,9,10.5,5\n"  # a zone given: taken as is
    )
    result = run_cli("data", "import", "--ticker", "LKOH", str(csv))
    err = strip_ansi(result.err)
    assert result.code == 0, err
    assert "mixed.csv:3: high 9.0 is below" in err or "mixed.csv:3: high 9 is below" in err
    assert "mixed.csv:4: bad time" in err
    stored = BarStore().read("MOEX_SHARE_LKOH")["ts"].to_list()
    assert stored == [
        datetime(2024, 3, 1, 7, 0, tzinfo=UTC),
        datetime(2024, 3, 1, 7, 3, tzinfo=UTC),
    ]
    report = sorted((homes().data / "quarantine").glob("*.csv"))
    assert report  # it quotes the original line, not the rewritten one
    assert "yesterday,10,11,9,10.5,5" in pl.read_csv(report[-1])["text"].to_list()


def test_headered_file_without_a_ticker_fails_with_what_to_do(tmp_path: Path, run_cli: Run) -> None:
    csv = _semicolon_csv(tmp_path / "sber.csv", n=5)
    result = run_cli("data", "import", str(csv))
    assert result.code == 1
    assert "no ticker column" in result.err and "--ticker" in result.err
    assert "nothing imported" in result.err
    assert result.err.count(str(csv)) == 1, result.err  # the file named once, not twice
    assert "instrument" not in result.out  # no empty table of what was imported


def test_hour_bars_are_refused_not_stored_as_minutes(tmp_path: Path, run_cli: Run) -> None:
    csv = _finam_csv(tmp_path / "hours.csv", n=5, per="60")
    result = run_cli("data", "import", str(csv))
    assert result.code == 1
    assert "1-minute" in result.err


def test_nothing_imported_exits_non_zero_with_the_reason(tmp_path: Path, run_cli: Run) -> None:
    csv = tmp_path / "junk.csv"
    csv.write_text("".join(f"{SBER_UID};not-a-time;1;1;1;1;1\n" for _ in range(20)))
    result = run_cli("data", "import", str(csv))
    assert result.code == 1
    err = strip_ansi(result.err)
    assert "nothing imported" in err and "20 lines were invalid" in err and "bad time" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("data", "import", str(empty))
    assert result.code == 1 and "no .zip or .csv file found" in result.err


def test_headerless_archive_lines_are_not_taken_for_a_header() -> None:
    from engine.data.headered import detect

    assert detect(f"{SBER_UID};2024-03-01T07:00:00Z;1;1;1;1;1\n".encode()) is None
    found = detect(b"\xef\xbb\xbf<DATE>;<TIME>;<OPEN>;<HIGH>;<LOW>;<CLOSE>;<VOL>\r\n1;2\n")
    assert found is not None and found.separator == ";" and found.columns["volume"] == 6


def test_help_names_the_formats(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "avin_tui.cli", "data", "import", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "date;time;open;high;low;close;volume" in text and "<TICKER>" in text
    assert "uid;time;open;close;high;low;volume" in text and "--tz" in text


@pytest.mark.parametrize("tickers", [["GAZP"]])
def test_backtest_without_stored_data_is_a_message_not_a_traceback(
    tickers: list[str], tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "avin_tui.cli",
            "backtest",
            "sma_cross",
            "--tickers",
            *tickers,
            "--from",
            "2024-01-01",
            "--to",
            "2024-02-01",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "avin backtest: no 1M bars of MOEX_SHARE_GAZP" in result.stderr
    assert "avin data download GAZP" in result.stderr


def test_a_lone_time_column_with_date_and_time_in_it(tmp_path: Path, run_cli: Run) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("time,open,high,low,close,volume\n2024-03-01 10:00:00,10,11,9,10.5,5\n")
    result = run_cli("data", "import", "--ticker", "SBER", str(csv))
    assert result.code == 0, result.err
    assert BarStore().read("MOEX_SHARE_SBER")["ts"][0] == datetime(2024, 3, 1, 7, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["Europe/Moscow", "UTC"])
def test_the_fast_path_reads_what_the_line_by_line_path_reads(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zoneinfo import ZoneInfo

    from engine.data import headered
    from engine.data.archive import Member, parse

    lines = ["<TICKER>;<PER>;<DATE>;<TIME>;<OPEN>;<HIGH>;<LOW>;<CLOSE>;<VOL>"]
    for i, t in enumerate(_minutes(300)):
        lines.append(f"gazp;1;{t:%d/%m/%y};{t:%H%M%S};10;11;9;10.5;{i}.0")
    lines[5] = "GAZP;1;31/02/24;100400;10;11;9;10.5;1"  # no such date
    lines[9] = "GAZP;1;01/03/24;25:00:00;10;11;9;10.5;1"  # no such time
    lines[12] = "GAZP;1;01/03/24;101100;10;9;9;10.5;1"  # high below open
    data = ("\n".join(lines) + "\n").encode()
    header = headered.detect(data)
    assert header is not None
    fast = headered._convert_vectorised("f", data, header, ticker="", zone=ZoneInfo(zone))
    assert fast is not None  # this layout takes the fast path
    monkeypatch.setattr(headered, "_convert_vectorised", lambda *a, **k: None)
    slow = headered.convert("f", data, header, zone=ZoneInfo(zone))
    a, b = parse([Member("f", fast)]), parse([Member("f", slow)])
    assert a.bars.height == 297 and a.bars.equals(b.bars)
    assert [(x.line, x.reason) for x in a.bad] == [(x.line, x.reason) for x in b.bad]
    assert [x.line for x in a.bad] == [6, 10, 13]
