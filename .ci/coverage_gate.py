"""Branch coverage of the safety-critical packages (and modules), from the last test run's data.

Run after ``make test`` (``pytest --cov=engine``; ``pyproject.toml`` turns on branch coverage and
subprocess measurement). Prints each package's branch coverage and its least-covered modules;
exits 1 when a package is under its floor. ``--only engine/risk`` checks one package (used when
measuring with just that package's tests).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

from coverage import Coverage, CoverageData
from coverage.exceptions import CoverageException

FLOORS: dict[str, float] = {
    "engine/runtime": 95.0,
    "engine/risk": 95.0,
    "engine/broker/tinvest": 95.0,
    # safety-critical modules that moved from engine/runtime down to their layer (#16)
    "engine/model/order_book.py": 95.0,
    "engine/model/redact.py": 95.0,
    "engine/state/status_store.py": 95.0,
}


def _has_arcs(path: Path) -> bool:
    try:
        found = CoverageData(basename=str(path))
        found.read()
        return found.has_arcs() and bool(found.measured_files())
    except (CoverageException, OSError, sqlite3.Error):
        return False


def branch_summary(files: dict[str, dict], package: str) -> tuple[int, int, list[tuple[str, int]]]:
    total = covered = 0
    missing: list[tuple[str, int]] = []
    for name, info in files.items():
        if not (name == package or name.startswith(package + "/")) or "/proto/" in name:
            continue
        summary = info["summary"]
        total += summary["num_branches"]
        covered += summary["covered_branches"]
        gap = summary["num_branches"] - summary["covered_branches"]
        if gap:
            missing.append((name, gap))
    return total, covered, sorted(missing, key=lambda item: -item[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="check only this package (repeatable)")
    parser.add_argument("--data-file", default=".coverage")
    args = parser.parse_args(argv)
    cov = Coverage(data_file=args.data_file)
    cov.load()  # what pytest-cov combined
    data = Path(args.data_file)
    # parallel files of child processes that ended after pytest-cov combined, appended; an empty
    # one (a process stopped before it saved) has no branch data and would turn the whole
    # combination into line data, so only files with branch data are taken
    leftovers = [str(p) for p in sorted(data.parent.glob(data.name + ".*")) if _has_arcs(p)]
    if leftovers:
        with contextlib.suppress(CoverageException):
            cov.combine(data_paths=leftovers)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        try:
            cov.json_report(outfile=str(out))
        except CoverageException as exc:
            print(f"coverage gate: no coverage data ({exc}); run the tests with --cov first")
            return 1
        files = json.loads(out.read_text())["files"]
    failed = False
    for package, floor in FLOORS.items():
        if args.only and package not in args.only:
            continue
        total, covered, missing = branch_summary(files, package)
        if total == 0:
            print(f"{package}: no branch data (were its tests run with --cov?)")
            failed = True
            continue
        pct = 100.0 * covered / total
        verdict = "ok" if pct >= floor else f"UNDER the {floor:.0f}% floor"
        print(f"{package}: {covered}/{total} branches = {pct:.1f}% ({verdict})")
        if pct < floor:
            failed = True
            for name, gap in missing[:8]:
                print(f"    {name}: {gap} branch(es) not taken")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
