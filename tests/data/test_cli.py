"""The `avin data` command line, through avin_tui.cli.main."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.data.store import BarStore
from engine.paths import homes

from .conftest import SBER_UID, HistoryServer, small_archive, strip_ansi

Run = Any


@pytest.fixture
def imported(tmp_path: Path, run_cli: Run) -> Path:
    archive = tmp_path / "sber.zip"
    archive.write_bytes(small_archive(SBER_UID, 2023, days=5))
    result = run_cli("data", "import", str(archive))
    assert result.code == 0, result.err
    return archive


def test_import_list_check(imported: Path, run_cli: Run) -> None:
    listing = run_cli("data", "list")
    assert listing.code == 0
    text = strip_ansi(listing.out)
    assert "MOEX_SHARE_SBER" in text and "4,200" in text and "2023-01-02 03:50" in text
    checked = run_cli("data", "check")
    assert checked.code == 0 and "ok" in checked.out


def test_import_reports_bad_files_and_lines_without_traceback(tmp_path: Path, run_cli: Run) -> None:
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 nope")
    csv = tmp_path / "day.csv"
    csv.write_text(
        f"{SBER_UID};2024-01-03T07:00:00Z;1;1;0.5;1;1\n{SBER_UID};2024-01-03T07:01:00Z;1;1;1;1;1\n"
    )
    result = run_cli("data", "import", str(tmp_path))
    assert result.code == 1
    assert "broken.zip is not a readable ZIP archive" in result.err
    assert "day.csv:1: high 0.5 is below" in strip_ansi(result.err)
    assert "quarantine" in result.err
    assert "Traceback" not in result.err
    assert BarStore().read("MOEX_SHARE_SBER").height == 1


def test_export_csv_and_parquet(imported: Path, tmp_path: Path, run_cli: Run) -> None:
    out_csv = tmp_path / "d.csv"
    result = run_cli(
        "data",
        "export",
        "SBER",
        "--tf",
        "1H",
        "--from",
        "2023-01-03",
        "--to",
        "2023-01-03",
        "--output",
        str(out_csv),
    )
    assert result.code == 0, result.err
    frame = pl.read_csv(out_csv)
    assert frame.columns == ["ts", "open", "high", "low", "close", "volume"]
    assert frame["ts"][0] == "2023-01-03T03:00:00Z"
    assert frame["ts"][-1] == "2023-01-03T20:00:00Z"
    out_pq = tmp_path / "w.parquet"
    assert run_cli("data", "export", "sber", "--tf", "W", "--output", str(out_pq)).code == 0
    weekly = pl.read_parquet(out_pq)
    assert weekly["ts"].to_list() == [datetime(2023, 1, 2, tzinfo=UTC)]
    assert weekly["volume"][0] == BarStore().read("MOEX_SHARE_SBER")["volume"].sum()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tf", "D", "--output", "x.txt"], "*.csv or *.parquet"),
        (["--tf", "2H", "--output", "x.csv"], "unknown timeframe"),
        (
            ["--tf", "D", "--from", "2020-01-01", "--to", "2020-02-01", "--output", "x.csv"],
            "avin data download SBER --from-year 2020",
        ),
    ],
)
def test_export_errors_are_one_paragraph(
    imported: Path, run_cli: Run, tmp_path: Path, args: list[str], message: str
) -> None:
    args = [a if not a.startswith("x.") else str(tmp_path / a) for a in args]
    result = run_cli("data", "export", "SBER", *args)
    assert result.code == 2
    assert message in result.err and "Traceback" not in result.err
    assert result.err.startswith("avin data export: ")


def test_instruments_seeded_from_the_simulator_and_refresh(run_cli: Run) -> None:
    shown = run_cli("data", "instruments")
    assert shown.code == 0 and "sim-sber-0001" in shown.out
    refreshed = run_cli("data", "instruments", "--refresh", "--search", "gaz")
    assert refreshed.code == 0 and "refreshed: 6 instruments" in refreshed.out
    assert "GAZP" in refreshed.out and "SBER" not in refreshed.out
    assert (homes().data / "instruments.parquet").exists()


def test_update_on_the_simulated_market(run_cli: Run) -> None:
    since = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    result = run_cli("data", "update", "SBER", "--from", since)
    assert result.code == 0, result.err
    assert BarStore().read("MOEX_SHARE_SBER").height > 0
    assert "MOEX_SHARE_SBER" in result.out


def test_update_with_an_empty_store(run_cli: Run) -> None:
    result = run_cli("data", "update")
    assert result.code == 2 and "store is empty" in result.err


def test_download_through_the_cli(
    history_server: HistoryServer, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVIN_MODE", "sim")  # never a real broker, whatever is configured
    monkeypatch.setenv("AVIN_TOKEN", "good-token-123")
    monkeypatch.setenv("AVIN_HISTORY_URL", history_server.base_url)
    result = run_cli("data", "download", "SBER", "--from-year", "2022", "--to-year", "2023")
    assert result.code == 0, result.err
    assert BarStore().years("MOEX_SHARE_SBER") == [2022, 2023]
    assert "downloaded" in result.out


def test_download_token_errors_never_show_the_token(
    history_server: HistoryServer, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVIN_MODE", "sim")
    missing = run_cli("data", "download", "SBER", "--from-year", "2022")
    assert missing.code == 2 and "AVIN_TOKEN" in missing.err
    secret = "very-secret-token-987"
    monkeypatch.setenv("AVIN_TOKEN", secret)
    result = run_cli(
        "data", "download", "SBER", "--from-year", "2022", "--base-url", history_server.base_url
    )
    assert result.code == 2
    assert "HTTP 401" in result.err and "AVIN_TOKEN" in result.err
    assert secret not in result.out + result.err
    for path in homes().data.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_bare_data_command_prints_help(run_cli: Run) -> None:
    assert run_cli("data").code == 2


def test_simulated_instruments_are_not_downloaded_from_the_real_service(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVIN_MODE", "sim")
    monkeypatch.setenv("AVIN_TOKEN", "good-token-123")
    result = run_cli("data", "download", "SBER", "--from-year", "2022", "--no-progress")
    assert result.code == 1
    assert "simulated MOEX_SHARE_SBER" in result.err and "instruments --refresh" in result.err


def test_a_failing_broker_is_reported_without_secrets(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.broker.base import BrokerError
    from engine.runtime import data_broker as brokers

    secret = "tok-abcdef-123456"
    monkeypatch.setenv("AVIN_TOKEN", secret)

    class Failing(brokers.SimHistory):
        async def candles(self, *args: object) -> list:
            raise BrokerError(f"rejected with {secret}", code="40003")

    monkeypatch.setattr(brokers, "_factory", lambda: Failing())
    result = run_cli("data", "update", "SBER", "--from", "2024-03-01")
    assert result.code == 1
    assert "40003" in result.err and secret not in result.err + result.out
