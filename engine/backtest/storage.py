"""Saved backtests: ``<data home>/backtests/<id>/`` with ``report.json``, ``trades.parquet``,
``equity.parquet`` and ``orders.parquet``. Money in JSON is a string (an exact Decimal)."""

from __future__ import annotations

import errno
import json
import re
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from engine.backtest.report import TOTAL, Report, Section, equity_frame
from engine.paths import homes


def backtests_home() -> Path:
    return homes().data / "backtests"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def new_id(strategy: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%f")
    slug = re.sub(r"[^a-z0-9]+", "-", strategy.lower()).strip("-") or "strategy"
    return f"{stamp}-{slug}"


def save_report(report: Report, home: Path | None = None, run_id: str | None = None) -> Path:
    """Save ``report`` under ``<home>/<run_id>/``; the folder."""
    return ReportSaver(report.strategy, home, run_id).finish(report)


class ReportSaver:
    """One report saved as its parts are ready: the equity curves (the biggest file) in a thread
    as soon as the sections are known (:meth:`equity`, the ``sections_ready`` of
    :func:`~engine.backtest.report.build_report`), while the trade and order lists are still
    being built; the rest in :meth:`finish`.

    The files go into a hidden folder (``.<id>.partial``) that is renamed to ``<id>`` when all
    are written: a listing never shows a half-saved report, and a failed save leaves nothing.
    """

    def __init__(self, strategy: str, home: Path | None = None, run_id: str | None = None) -> None:
        base = home if home is not None else backtests_home()
        self.run_id = run_id or new_id(strategy)
        self.folder = base / self.run_id
        self._partial = base / f".{self.run_id}.partial"
        self._started = self._saved = False
        self._equity: threading.Thread | None = None
        self._equity_error: BaseException | None = None

    def _start(self) -> None:
        if self._started:
            return
        if self.folder.exists():
            raise FileExistsError(errno.EEXIST, "a saved backtest has this id", str(self.folder))
        _remove_stale(self.folder.parent)
        self._partial.mkdir(parents=True, exist_ok=False)
        self._started = True

    def equity(self, sections: list[Section]) -> None:
        """Begin writing the sections' equity curves: the frame is built here, the file written
        in a thread (polars writes without the interpreter's lock, so the caller goes on
        building the rest of the report; a thread that needed the lock too would wait for it
        at every step)."""
        self._start()
        frame = equity_frame(_stored(sections))

        def write() -> None:
            try:
                frame.write_parquet(self._partial / "equity.parquet")
            except BaseException as exc:  # told by finish(), in the caller's thread
                self._equity_error = exc

        self._equity = threading.Thread(target=write, name="save equity")
        self._equity.start()

    def finish(self, report: Report) -> Path:
        """Write what is left, wait for the equity curves, and put the folder in place."""
        try:
            self._start()
            if self._equity is None:
                frame = equity_frame(_stored(report.sections))
                frame.write_parquet(self._partial / "equity.parquet")
            report.trades.write_parquet(self._partial / "trades.parquet")
            if report.orders.height:
                report.orders.write_parquet(self._partial / "orders.parquet")
            (self._partial / "report.json").write_text(
                json.dumps(_jsonable(self._doc(report)), indent=2, default=str)
            )
            self._wait()
            self._partial.rename(self.folder)
        except BaseException:
            self.abandon()
            raise
        self._saved = True
        return self.folder

    def abandon(self) -> None:
        """Give up, unless saved: nothing of this report stays on disk."""
        self._wait(quiet=True)
        if self._started and not self._saved:
            shutil.rmtree(self._partial, ignore_errors=True)

    def _wait(self, *, quiet: bool = False) -> None:
        if self._equity is not None:
            self._equity.join()
            self._equity = None
        error, self._equity_error = self._equity_error, None
        if error is not None and not quiet:
            raise error

    def _doc(self, report: Report) -> dict[str, Any]:
        return {
            "id": self.run_id,
            "created": datetime.now(UTC).isoformat(),
            "strategy": report.strategy,
            "params": report.params,
            "meta": report.meta,
            "sections": [
                {"name": s.name, "summary": s.summary, "metrics": s.metrics}
                for s in report.sections
            ],
        }


def _stored(sections: list[Section]) -> list[Section]:
    """The sections whose curves the equity file holds: all of them, but TOTAL when it is one
    instrument's own curve (the same times and equity: a run alone in its account), which
    :meth:`SavedBacktest.equity` gives back from that instrument's rows; half the file, and half
    the time to write it, for the usual one-instrument backtest."""
    if len(sections) == 2:
        one, total = sections
        if total.name == TOTAL and total.ts is one.ts and total.equity is one.equity:
            return [one]
    return sections


STALE_PARTIAL = 86_400.0  # seconds: a save folder untouched this long was killed mid-way


def _remove_stale(base: Path) -> None:
    """Remove what saves killed mid-way left (``.<id>.partial`` untouched for a day; a save that
    is running in another process is younger)."""
    if not base.is_dir():
        return
    oldest = time.time() - STALE_PARTIAL
    for entry in base.iterdir():
        if not (entry.name.startswith(".") and entry.name.endswith(".partial")):
            continue
        try:
            stale = entry.stat().st_mtime < oldest
        except OSError:
            continue
        if stale:
            shutil.rmtree(entry, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class SavedBacktest:
    id: str
    folder: Path
    doc: dict[str, Any]

    @property
    def strategy(self) -> str:
        return str(self.doc.get("strategy", "?"))

    def section(self, name: str = "TOTAL") -> dict[str, Any]:
        for s in self.doc.get("sections", []):
            if s.get("name") == name:
                return dict(s)
        return {}

    def equity(self, name: str = TOTAL) -> pl.DataFrame:
        """One section's curve: time, equity, drawdown and position (TOTAL's position counts
        lots held whatever their side)."""
        path = self.folder / "equity.parquet"
        if not path.exists():
            return pl.DataFrame()
        frame = pl.read_parquet(path)
        rows = frame.filter(pl.col("instrument") == name)
        names = frame["instrument"].unique()
        if rows.height or name != TOTAL or names.len() != 1:
            return rows
        return frame.with_columns(  # stored once: one instrument's curve is TOTAL's (_stored)
            instrument=pl.lit(TOTAL), position=pl.col("position").abs()
        )

    def trades(self) -> pl.DataFrame:
        path = self.folder / "trades.parquet"
        return pl.read_parquet(path) if path.exists() else pl.DataFrame()


def list_backtests(home: Path | None = None) -> list[SavedBacktest]:
    """Saved backtests, newest first (unreadable folders are skipped)."""
    base = home if home is not None else backtests_home()
    if not base.is_dir():
        return []
    out: list[SavedBacktest] = []
    for folder in sorted(base.iterdir(), reverse=True):
        if folder.name.startswith("."):  # being saved (or a save that was killed)
            continue
        path = folder / "report.json"
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        out.append(SavedBacktest(folder.name, folder, doc))
    return out
