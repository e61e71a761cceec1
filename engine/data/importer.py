"""``avin data import``: T-Invest history archives (ZIPs, folders, CSVs) into the bar store.

Each ZIP is parsed in one batch, loose CSV files in batches of up to ``CSV_BATCH`` files. Valid
rows are grouped by instrument (the uid column resolved through the instrument cache, or the
``--ticker`` override) and merged into the store; invalid lines go to the quarantine report;
a corrupt ZIP or an unknown instrument is an error for that file only. CSVs with a header row
(Finam and similar exports, ``engine.data.headered``) are rewritten into the archive's lines
first and then take the same path; their rows go to the ticker they name (or ``--ticker``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import polars as pl

from engine.data.archive import BadLine, Member, ParsedBatch, parse, read_archive, read_csv_file
from engine.data.atomic import write_atomic
from engine.data.errors import ArchiveError, DataError
from engine.data.headered import MOSCOW, convert, detect
from engine.data.instruments import InstrumentCache
from engine.data.schema import COLUMNS, SOURCE_ARCHIVE
from engine.data.store import BarStore
from engine.model import Instrument, parse_code
from engine.paths import homes

CSV_BATCH = 256
FLUSH_ROWS = 3_000_000


@dataclass(frozen=True, slots=True)
class FileError:
    file: str
    message: str


@dataclass(slots=True)
class ImportReport:
    files: int = 0
    rows: int = 0  # valid rows read
    added: int = 0
    replaced: int = 0
    bad: list[BadLine] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    instruments: dict[str, int] = field(default_factory=dict)  # code -> valid rows
    quarantine: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(slots=True)
class _Pending:
    uid: str
    frames: list[pl.DataFrame] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    rows: int = 0


def find_inputs(paths: Iterable[Path]) -> tuple[list[Path], list[FileError]]:
    """ZIP and CSV files named by ``paths`` (folders searched recursively), in a stable order."""
    found: list[Path] = []
    errors: list[FileError] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and _kind(p) in ("zip", "csv"))
            )
        elif path.is_file():
            if _kind(path) is None:
                errors.append(FileError(str(path), "not a .zip or .csv file: skipped"))
            else:
                found.append(path)
        else:
            errors.append(FileError(str(path), "no such file or folder"))
    return found, errors


def _kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return {".zip": "zip", ".csv": "csv"}.get(suffix)


class Importer:
    """Imports files one by one; :meth:`finish` writes what is pending and returns the report."""

    def __init__(
        self,
        *,
        store: BarStore | None = None,
        cache: InstrumentCache | None = None,
        ticker: str | Instrument | None = None,
        source: str = SOURCE_ARCHIVE,
        flush_rows: int = FLUSH_ROWS,
        zone: tzinfo = MOSCOW,
    ) -> None:
        self.zone = zone  # of headered CSVs' times without a zone
        self.store = store if store is not None else BarStore()
        self.cache = cache if cache is not None else InstrumentCache()
        self.source = source
        self.flush_rows = flush_rows
        self.report = ImportReport()
        self._override = self._resolve_override(ticker)
        self._pending: dict[str, _Pending] = {}

    def _resolve_override(self, ticker: str | Instrument | None) -> tuple[str, str] | None:
        """(code, uid) that every row goes to, or None to resolve each row's uid."""
        if ticker is None:
            return None
        if isinstance(ticker, Instrument):
            return ticker.code, ticker.uid
        known = self.cache.get(ticker)
        if known is not None:
            return known.code, known.uid
        exchange, category, name = parse_code(ticker)
        return f"{exchange}_{category}_{name}", ""

    # --- input ------------------------------------------------------------------------------

    def import_paths(
        self, paths: Sequence[Path], on_file: Callable[[Path], None] | None = None
    ) -> None:
        files, errors = find_inputs(paths)
        self.report.errors.extend(errors)
        csv_batch: list[Path] = []
        for path in files:
            if _kind(path) == "csv":
                csv_batch.append(path)
                if len(csv_batch) >= CSV_BATCH:
                    self._import_csvs(csv_batch)
                    csv_batch = []
            else:
                self.import_zip(path)
            if on_file is not None:
                on_file(path)
        if csv_batch:
            self._import_csvs(csv_batch)

    def import_zip(self, path: Path) -> None:
        self.report.files += 1
        try:
            members = self._headered(read_archive(path))
            if not members:
                return
            batch = parse(members)
        except ArchiveError as exc:
            self.report.errors.append(FileError(str(path), exc.describe()))
            return
        self._accept(batch)

    def _import_csvs(self, paths: list[Path]) -> None:
        members: list[Member] = []
        for path in paths:
            self.report.files += 1
            try:
                members.append(read_csv_file(path))
            except ArchiveError as exc:
                self.report.errors.append(FileError(str(path), exc.describe()))
        members = self._headered(members)
        if not members:
            return
        try:
            self._accept(parse(members))
        except ArchiveError:
            for member in members:  # isolate the file that cannot be parsed
                try:
                    self._accept(parse([member]))
                except ArchiveError as exc:
                    self.report.errors.append(FileError(member.name, exc.describe()))

    def _headered(self, members: list[Member]) -> list[Member]:
        """Imports the members with a header row (each on its own); returns the others."""
        plain: list[Member] = []
        for member in members:
            header = detect(member.data)
            if header is None:
                plain.append(member)
                continue
            ticker = self._override[0] if self._override is not None else ""
            try:
                lines = convert(member.name, member.data, header, ticker=ticker, zone=self.zone)
                batch = parse([Member(member.name, lines)])
            except ArchiveError as exc:
                self.report.errors.append(FileError(member.name, exc.describe()))
                continue
            original = member.data.split(b"\n")
            batch.bad = [
                BadLine(
                    b.file,
                    b.line,
                    b.reason,
                    original[b.line - 1].decode("utf-8", "replace").rstrip("\r")[:200]
                    if b.line - 1 < len(original)
                    else b.text,
                )
                for b in batch.bad
            ]
            self._accept(batch, by_ticker=True)
        return plain

    # --- routing ----------------------------------------------------------------------------

    def _accept(self, batch: ParsedBatch, *, by_ticker: bool = False) -> None:
        self.report.bad.extend(batch.bad)
        bars = batch.bars
        if bars.is_empty():
            return
        if self._override is not None:
            code, uid = self._override
            # a headered CSV's uid column holds a ticker, not a uid
            self._add(code, uid if by_ticker else uid or str(bars["uid"][0]), bars, batch)
        else:
            if bars["uid"].n_unique() == 1:
                groups = {str(bars["uid"][0]): bars}
            else:
                groups = {
                    str(key[0]): part
                    for key, part in bars.partition_by("uid", as_dict=True).items()
                }
            for uid, part in groups.items():
                if by_ticker:  # a headered CSV's ticker column: known or taken as a MOEX share
                    try:
                        target = self._resolve_override(uid)
                    except ValueError as exc:
                        self.report.errors.append(FileError(batch.members[0].name, str(exc)))
                        continue
                    if target is not None:
                        self._add(target[0], target[1], part, batch)
                    continue
                instrument = self.cache.get(uid)
                if instrument is None:
                    for name in batch.member_of_rows(part["_row"]):
                        self.report.errors.append(
                            FileError(
                                name,
                                f"unknown instrument uid {uid!r} ({part.height} rows not "
                                "imported): it is not in the instrument cache. Run `avin data "
                                "instruments --refresh`, or import with --ticker TICKER.",
                            )
                        )
                    continue
                self._add(instrument.code, instrument.uid, part, batch)
        if sum(p.rows for p in self._pending.values()) >= self.flush_rows:
            self.flush()

    def _add(self, code: str, uid: str, bars: pl.DataFrame, batch: ParsedBatch) -> None:
        pending = self._pending.setdefault(code, _Pending(uid))
        pending.frames.append(bars.select(COLUMNS))
        pending.rows += bars.height
        if len(batch.members) <= 4:
            pending.files.extend(member.name for member in batch.members)
        else:
            pending.files.append(batch.members[0].name.split(":", 1)[0])
        self.report.rows += bars.height
        self.report.instruments[code] = self.report.instruments.get(code, 0) + bars.height

    # --- output -----------------------------------------------------------------------------

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for code, item in pending.items():
            frame = pl.concat(item.frames) if len(item.frames) > 1 else item.frames[0]
            try:
                result = self.store.merge(code, item.uid, frame, self.source)
            except DataError as exc:
                files = ", ".join(dict.fromkeys(item.files))
                self.report.errors.append(FileError(files, exc.describe()))
                self.report.instruments.pop(code, None)
                continue
            self.report.added += result.added
            self.report.replaced += result.replaced

    def finish(self, *, quarantine_dir: Path | None = None) -> ImportReport:
        self.flush()
        if self.report.bad:
            self.report.quarantine = write_quarantine(self.report.bad, quarantine_dir)
        return self.report


def import_paths(
    paths: Sequence[Path | str],
    *,
    ticker: str | Instrument | None = None,
    store: BarStore | None = None,
    cache: InstrumentCache | None = None,
    source: str = SOURCE_ARCHIVE,
    on_file: Callable[[Path], None] | None = None,
    quarantine_dir: Path | None = None,
    zone: tzinfo = MOSCOW,
) -> ImportReport:
    """Import archives, folders of them or their CSVs; see the module doc."""
    importer = Importer(store=store, cache=cache, ticker=ticker, source=source, zone=zone)
    importer.import_paths([Path(p) for p in paths], on_file)
    return importer.finish(quarantine_dir=quarantine_dir)


def write_quarantine(bad: list[BadLine], directory: Path | None = None) -> Path:
    """The quarantine report: a CSV of file, line, reason and the line's text."""
    folder = directory if directory is not None else homes().data / "quarantine"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"import-{stamp}-{os.getpid()}.csv"
    frame = pl.DataFrame(
        {
            "file": [b.file for b in bad],
            "line": [b.line for b in bad],
            "reason": [b.reason for b in bad],
            "text": [b.text for b in bad],
        },
        schema={"file": pl.String, "line": pl.Int64, "reason": pl.String, "text": pl.String},
    )
    write_atomic(path, lambda temp: frame.write_csv(temp))
    return path
