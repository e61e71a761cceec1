"""Benchmark: import 10 instrument-years of T-Invest archives.

Prints rows/s, the ratio to a floor measured in the same run (bare ``polars.read_csv`` of the
same extracted CSVs plus ``write_parquet``; goal <= 1.5) and the peak RSS of an import of all ten
instrument-years in a fresh subprocess (goal < 1 GB). Timings are the best of two interleaved runs each.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from engine.data.archive import RAW_SCHEMA  # noqa: E402
from engine.data.synthetic import archive_zip, minute_bars, trading_days  # noqa: E402

UIDS = ["sim-sber-0001", "sim-gazp-0002", "sim-lkoh-0003", "sim-rosn-0004", "sim-gmkn-0005"]
YEARS = [2022, 2023]
DAYS = 250

CHILD = """
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from engine.data.importer import import_paths
start = time.perf_counter()
report = import_paths([Path({source!r})])
assert report.ok, report.errors
print(report.rows, time.perf_counter() - start)
"""


def generate(folder: Path) -> tuple[Path, Path, int]:
    zips = folder / "zips"
    csvs = folder / "csv"
    zips.mkdir()
    rows = 0
    for n, uid in enumerate(UIDS):
        for year in YEARS:
            bars = minute_bars(trading_days(year, DAYS), seed=n * 100 + year)
            rows += bars.height
            path = zips / f"{uid}_{year}.zip"
            path.write_bytes(archive_zip(uid, bars))
            target = csvs / f"{uid}_{year}"
            with zipfile.ZipFile(path) as archive:
                archive.extractall(target)
    return zips, csvs, rows


def floor(csvs: Path, out: Path) -> float:
    out.mkdir(exist_ok=True)
    start = time.perf_counter()
    for folder in sorted(csvs.iterdir()):
        files = sorted(folder.glob("*.csv"))
        frame = pl.read_csv(files, has_header=False, separator=";", schema=RAW_SCHEMA)
        frame.write_parquet(out / f"{folder.name}.parquet")
    return time.perf_counter() - start


def import_once(source: Path, home: Path) -> float:
    os.environ["AVIN_HOME"] = str(home)
    from engine.data.importer import import_paths

    start = time.perf_counter()
    report = import_paths([source])
    elapsed = time.perf_counter() - start
    assert report.ok and not report.bad, (report.errors, report.bad[:3])
    return elapsed


def child_import(zips: Path, home: Path) -> tuple[float, float]:
    env = dict(os.environ, AVIN_HOME=str(home))
    code = CHILD.format(root=str(ROOT), source=str(zips))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak_kb / 1024, float(done.stdout.split()[1])


def main() -> None:
    global DAYS, YEARS, UIDS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    if parser.parse_args().smoke:  # make bench-smoke
        DAYS, YEARS, UIDS = 5, YEARS[:1], UIDS[:2]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        zips, csvs, rows = generate(folder)
        print(
            f"generated {len(UIDS) * len(YEARS)} instrument-years, {rows:,} rows "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        # warm up polars and the import modules once on a small input
        import_once(sorted(zips.iterdir())[0], folder / "warm")
        floors, imports = [], []
        for i in range(2):  # interleaved, so a burst of load elsewhere hits both alike
            floors.append(floor(csvs, folder / f"floor{i}"))
            imports.append(import_once(zips, folder / f"home{i}"))
        floor_s, import_s = min(floors), min(imports)
        peak_mb, child_s = child_import(zips, folder / "child")
        print(
            f"floor (read_csv of extracted CSVs + write_parquet): {floor_s:.2f} s, "
            f"{rows / floor_s:,.0f} rows/s"
        )
        print(
            f"avin data import (ZIPs, validate, merge, atomic write): {import_s:.2f} s, "
            f"{rows / import_s:,.0f} rows/s"
        )
        print(f"import / floor ratio: {import_s / floor_s:.2f}  (goal <= 1.5)")
        print(
            f"peak RSS importing {len(UIDS) * len(YEARS)} instrument-years in a subprocess: "
            f"{peak_mb:.0f} MB (goal < 1024 MB; that import took {child_s:.2f} s)"
        )


if __name__ == "__main__":
    main()
