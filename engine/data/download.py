"""``avin data download``: yearly history archives from the T-Invest service into the store.

For every instrument and year from ``from_year`` to the current year: fetch the ZIP (rate
limited, with retries; see :mod:`engine.data.history_client`), keep it under
``<data home>/downloads/<CODE>/<YYYY>.zip`` (atomic write), import it into the store and record
the year in ``downloads/<CODE>/state.json``. A rerun skips past years recorded as imported or as
having no data (HTTP 404), and imports a downloaded but not yet imported ZIP without fetching it
again. The current year is always fetched again (the archive grows every night).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from engine.data.atomic import write_bytes_atomic, write_text_atomic
from engine.data.errors import DataError, TokenError, UnknownInstrumentError
from engine.data.history_client import HistoryClient
from engine.data.importer import Importer, ImportReport
from engine.data.instruments import InstrumentCache
from engine.data.store import BarStore
from engine.model import Instrument
from engine.paths import homes

IMPORTED = "imported"
NO_DATA = "no-data"

Resolver = Callable[[str], Instrument]


@dataclass(frozen=True, slots=True)
class YearResult:
    code: str
    year: int
    status: str  # downloaded | imported-local | skipped | no-data | failed
    message: str = ""
    rows: int = 0


@dataclass(slots=True)
class DownloadReport:
    years: list[YearResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # per-ticker or fatal problems
    imported: ImportReport | None = None
    requests: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and all(item.status != "failed" for item in self.years)


def downloads_dir() -> Path:
    return homes().data / "downloads"


class YearState:
    """The per-instrument record of finished years (``state.json``), valid for one uid."""

    def __init__(self, folder: Path, uid: str) -> None:
        self.path = folder / "state.json"
        self.uid = uid
        self.years: dict[str, str] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if data.get("uid", uid) == uid:  # another uid: its record does not apply
                    self.years = {str(k): str(v) for k, v in data.get("years", {}).items()}
            except (OSError, ValueError, AttributeError):
                self.years = {}  # a damaged record only costs a re-download

    def get(self, year: int) -> str | None:
        return self.years.get(str(year))

    def set(self, year: int, status: str) -> None:
        self.years[str(year)] = status
        text = json.dumps({"uid": self.uid, "years": dict(sorted(self.years.items()))}, indent=1)
        write_text_atomic(self.path, text)


class _Progress:
    """Rich progress: one overall bar and one bar per year being downloaded."""

    def __init__(self, console: Console | None, total: int) -> None:
        self._progress: Progress | None = None
        self._overall: TaskID | None = None
        self._total = total
        if console is not None:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self._overall = self._progress.add_task(
                "all archives", total=total, detail=f"0/{total} archives"
            )

    @contextmanager
    def running(self) -> Iterator[None]:
        if self._progress is None:
            yield
            return
        with self._progress:
            yield

    @contextmanager
    def year(self, label: str) -> Iterator[Callable[[int, int | None], None]]:
        progress = self._progress
        if progress is None:
            yield lambda done, total: None
            return
        task = progress.add_task(label, total=None, detail="")

        def update(done: int, total: int | None) -> None:
            size = f"{done / 1e6:.1f}" + (f"/{total / 1e6:.1f} MB" if total else " MB")
            progress.update(task, completed=done, total=total, detail=size)

        try:
            yield update
        finally:
            progress.remove_task(task)

    def advance(self) -> None:
        if self._progress is not None and self._overall is not None:
            self._progress.advance(self._overall)
            done = int(self._progress.tasks[0].completed)
            self._progress.update(self._overall, detail=f"{done}/{self._total} archives")


def download(
    tickers: Sequence[str],
    from_year: int,
    *,
    client: HistoryClient,
    to_year: int | None = None,
    store: BarStore | None = None,
    cache: InstrumentCache | None = None,
    resolve: Resolver | None = None,
    console: Console | None = None,
    folder: Path | None = None,
    today: datetime | None = None,
) -> DownloadReport:
    """Download and import archives; see the module doc. Raises TokenError on a bad token."""
    store = store if store is not None else BarStore()
    cache = cache if cache is not None else InstrumentCache()
    folder = folder if folder is not None else downloads_dir()
    now = today if today is not None else datetime.now(UTC)
    last_year = min(to_year if to_year is not None else now.year, now.year)
    report = DownloadReport()
    instruments: list[Instrument] = []
    for ticker in tickers:
        try:
            instruments.append(resolve(ticker) if resolve is not None else cache.find(ticker))
        except (UnknownInstrumentError, DataError) as exc:
            report.errors.append(exc.describe())
    years = list(range(from_year, last_year + 1))
    progress = _Progress(console, len(instruments) * len(years))
    importer = Importer(store=store, cache=cache, source="tinvest-archive")
    try:
        with progress.running():
            for instrument in instruments:
                state = YearState(folder / instrument.code, instrument.uid or instrument.figi)
                for year in years:
                    result = _one_year(
                        instrument, year, now.year, client, importer, state, folder, progress
                    )
                    report.years.append(result)
                    progress.advance()
    finally:
        report.imported = importer.finish()
        report.requests = client.requests
    return report


def _one_year(
    instrument: Instrument,
    year: int,
    this_year: int,
    client: HistoryClient,
    importer: Importer,
    state: YearState,
    folder: Path,
    progress: _Progress,
) -> YearResult:
    code = instrument.code
    final = year < this_year  # past years do not change any more
    recorded = state.get(year)
    if final and recorded in (IMPORTED, NO_DATA):
        return YearResult(code, year, "skipped", recorded or "")
    path = folder / code / f"{year}.zip"
    status = "imported-local"
    if not (final and _is_complete_zip(path)):
        try:
            with progress.year(f"{instrument.ticker} {year}") as on_bytes:
                body = client.fetch(instrument.uid or instrument.figi, year, on_bytes)
        except TokenError:
            raise
        except DataError as exc:
            return YearResult(code, year, "failed", exc.describe())
        if body is None:
            if final:
                state.set(year, NO_DATA)
            return YearResult(code, year, "no-data", "the service has no archive for this year")
        write_bytes_atomic(path, body)
        status = "downloaded"
    errors_before = len(importer.report.errors)
    rows_before = importer.report.rows
    importer.import_zip(path)
    importer.flush()
    new_errors = importer.report.errors[errors_before:]
    if new_errors:
        return YearResult(code, year, "failed", "; ".join(e.message for e in new_errors))
    if final:
        state.set(year, IMPORTED)
    return YearResult(code, year, status, rows=importer.report.rows - rows_before)


def _is_complete_zip(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False
