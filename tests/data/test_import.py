"""Importing archives: ZIPs, folders, CSVs, quarantine, per-file errors, idempotence."""

from __future__ import annotations

import zipfile
from pathlib import Path

import polars as pl

from engine.data.importer import import_paths
from engine.data.store import BarStore
from engine.data.synthetic import archive_csv, minute_bars, trading_days

from .conftest import GAZP_UID, SBER_UID, small_archive, zip_bytes_of

SBER = "MOEX_SHARE_SBER"


def test_zip_import_is_idempotent(tmp_path: Path) -> None:
    archive = tmp_path / "sber-2023.zip"
    archive.write_bytes(small_archive(SBER_UID, 2023))
    first = import_paths([archive])
    assert first.ok and first.instruments == {SBER: 3 * 840}
    assert first.added == 3 * 840
    store = BarStore()
    path = store.year_path(SBER, 2023)
    snapshot = path.read_bytes(), path.stat().st_mtime_ns
    second = import_paths([archive])
    assert second.ok and (second.added, second.replaced) == (0, 0)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == snapshot


def test_folder_of_zips_and_csvs_with_overlap(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "nested").mkdir(parents=True)
    bars = minute_bars(trading_days(2024, 4), seed=2)
    (folder / "sber.zip").write_bytes(small_archive(SBER_UID, 2023))
    (folder / "gazp.zip").write_bytes(small_archive(GAZP_UID, 2023))
    dates = bars["ts"].dt.date().unique().sort().to_list()
    for day in dates:
        part = bars.filter(pl.col("ts").dt.date() == day)
        (folder / "nested" / f"{SBER_UID}_{day:%Y%m%d}.csv").write_bytes(
            archive_csv(SBER_UID, part)
        )
    # the same day twice (as a CSV and inside a ZIP) merges without duplicates
    first_day = bars.filter(pl.col("ts").dt.date() == dates[0])
    (folder / "again.zip").write_bytes(
        zip_bytes_of({f"{SBER_UID}_x.csv": archive_csv(SBER_UID, first_day, trailing=False)})
    )
    report = import_paths([folder])
    assert report.ok, report.errors
    store = BarStore()
    assert store.codes() == ["MOEX_SHARE_GAZP", SBER]
    assert store.read(SBER).height == 3 * 840 + 4 * 840
    assert store.read(SBER)["ts"].is_unique().all()


def test_bad_lines_go_to_the_quarantine_report(tmp_path: Path) -> None:
    good = minute_bars(trading_days(2024, 1), seed=1).head(5)
    text = archive_csv(SBER_UID, good).decode().splitlines()
    text[1] = text[1].replace(":51:00Z", ":51:30Z")
    assert ":51:30Z" in text[1]
    text.insert(3, "garbage line")
    csv = tmp_path / f"{SBER_UID}_20240102.csv"
    csv.write_text("\n".join(text) + "\n")
    report = import_paths([csv])
    assert report.ok
    assert report.rows == 4
    assert [(b.line, b.file) for b in report.bad] == [(2, str(csv)), (4, str(csv))]
    assert report.quarantine is not None and report.quarantine.exists()
    quarantine = pl.read_csv(report.quarantine)
    assert quarantine.columns == ["file", "line", "reason", "text"]
    assert quarantine["line"].to_list() == [2, 4]
    assert "garbage line" in quarantine["text"].to_list()
    assert BarStore().read(SBER).height == 4


def test_corrupt_zip_and_unknown_instrument_fail_alone(tmp_path: Path) -> None:
    (tmp_path / "a_corrupt.zip").write_bytes(small_archive(SBER_UID, 2023)[:5000])
    (tmp_path / "b_unknown.zip").write_bytes(small_archive("no-such-uid", 2023))
    (tmp_path / "c_good.zip").write_bytes(small_archive(GAZP_UID, 2023))
    report = import_paths([tmp_path, tmp_path / "missing.zip"])
    messages = {Path(e.file.split(":")[0]).name: e.message for e in report.errors}
    assert "not a readable ZIP" in messages["a_corrupt.zip"]
    assert "unknown instrument uid 'no-such-uid'" in messages["b_unknown.zip"]
    assert "no such file" in messages["missing.zip"]
    assert BarStore().codes() == ["MOEX_SHARE_GAZP"]


def test_ticker_override_skips_uid_resolution(tmp_path: Path) -> None:
    archive = tmp_path / "x.zip"
    archive.write_bytes(small_archive("some-real-uid", 2023))
    report = import_paths([archive], ticker="moex_share_abcd")
    assert report.ok
    store = BarStore()
    assert store.codes() == ["MOEX_SHARE_ABCD"]
    assert store.uid("MOEX_SHARE_ABCD") == "some-real-uid"
    # a known ticker records the cached uid
    report = import_paths([archive], ticker="SBER")
    assert report.ok and store.uid(SBER) == SBER_UID


def test_zip_without_csv_members(tmp_path: Path) -> None:
    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("readme.txt", "nothing")
    report = import_paths([archive])
    assert len(report.errors) == 1 and "no CSV" in report.errors[0].message
