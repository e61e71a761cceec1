"""Saved sweeps: ``<data home>/sweeps/<id>/`` with ``sweep.csv`` (the rows ``--out`` gets) and
``meta.json`` (strategy, grid, fixed parameters, data source, workers, when, and how many rows).

A sweep folder appears whole or not at all: its files are written into a temporary folder beside
it (a ``.tmp-`` name, which the listing skips) that is then renamed. Files and folders are private
through the process umask every ``avin`` entry point sets (engine/security/private.py).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from engine.backtest.storage import new_id
from engine.data.atomic import is_temp, temp_path
from engine.paths import homes

SWEEP_CSV = "sweep.csv"
META_JSON = "meta.json"


def sweeps_home() -> Path:
    return homes().data / "sweeps"


def save_sweep(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    meta: Mapping[str, Any],
    home: Path | None = None,
    sweep_id: str | None = None,
) -> Path:
    """The folder of a new saved sweep: ``rows`` (cells as the CSV shows them) under ``header``,
    and ``meta`` (must name the ``strategy``) with the id, the time and the row count added."""
    base = home if home is not None else sweeps_home()
    sweep_id = sweep_id or new_id(str(meta.get("strategy", "sweep")))
    folder = base / sweep_id
    if folder.exists():
        raise FileExistsError(f"a saved sweep {folder} already exists")
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    doc = {"id": sweep_id, "created": datetime.now(UTC).isoformat(), **meta, "rows": len(rows)}
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    temp = temp_path(folder)
    temp.mkdir(mode=0o700)
    try:
        _write_synced(temp / SWEEP_CSV, text.getvalue())
        _write_synced(temp / META_JSON, json.dumps(doc, indent=2, default=str) + "\n")
        os.rename(temp, folder)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _fsync_dir(base)
    return folder


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True, slots=True)
class SavedSweep:
    id: str
    folder: Path
    meta: dict[str, Any]

    @property
    def strategy(self) -> str:
        return str(self.meta.get("strategy", "?"))

    @property
    def parameters(self) -> list[str]:
        """The grid's parameter names in ``--grid`` order (the CSV's first columns)."""
        grid = self.meta.get("grid")
        return [str(name) for name in grid] if isinstance(grid, dict) else []

    @property
    def metrics(self) -> list[str]:
        return [str(m) for m in self.meta.get("metrics", [])]

    def rows(self) -> pl.DataFrame:
        """The sweep's rows; numbers as numbers, an empty cell (a metric with no value) as null.
        Reads the file: call it off the UI thread."""
        return pl.read_csv(self.folder / SWEEP_CSV, infer_schema_length=None)


def list_sweeps(home: Path | None = None) -> list[SavedSweep]:
    """Saved sweeps, newest first (half-written and unreadable folders are skipped)."""
    base = home if home is not None else sweeps_home()
    if not base.is_dir():
        return []
    out: list[SavedSweep] = []
    for folder in sorted(base.iterdir(), reverse=True):
        if is_temp(folder):
            continue
        try:
            meta = json.loads((folder / META_JSON).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and (folder / SWEEP_CSV).is_file():
            out.append(SavedSweep(folder.name, folder, meta))
    return out
