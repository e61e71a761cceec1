"""Reading and validating T-Invest history archives (ZIPs of per-day CSVs, or the CSVs alone).

CSV lines have no header and ``;`` separators: ``uid;time;open;close;high;low;volume`` with an
optional trailing ``;``. All members of a batch are parsed in one vectorised ``polars.read_csv``
call; invalid lines are found with column expressions and only then mapped back to their file
and line number for the quarantine report.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from engine.data.errors import ArchiveError
from engine.data.schema import strictly_increasing

RAW_SCHEMA = pl.Schema(
    {
        "uid": pl.String,
        "time": pl.String,
        "open": pl.Float64,
        "close": pl.Float64,
        "high": pl.Float64,
        "low": pl.Float64,
        "volume": pl.Int64,
        "extra": pl.String,
    }
)
FAST_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"
# The first line fixes the column count in polars; this sentinel (row 0) also keeps leading blank
# lines of the first member from being skipped, so row i of the frame is line i of the buffer.
_SENTINEL = b"#;;;;;;;\n"
_MINUTE_NS = 60_000_000_000
_MAX_TEXT = 200
PARSED_COLUMNS = ("uid", "ts", "open", "high", "low", "close", "volume", "_row")


@dataclass(frozen=True, slots=True)
class Member:
    """One CSV text: ``name`` is how reports refer to it (``archive.zip:day.csv`` or a path)."""

    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class BadLine:
    file: str
    line: int  # 1-based within the file
    reason: str
    text: str


@dataclass(slots=True)
class ParsedBatch:
    """Valid rows (``PARSED_COLUMNS``; ``_row`` locates the line) and the rejected lines."""

    bars: pl.DataFrame
    bad: list[BadLine] = field(default_factory=list)
    members: Sequence[Member] = ()
    starts: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    def member_of_rows(self, rows: pl.Series) -> list[str]:
        """Names of the members that hold the given ``_row`` values (distinct, in order)."""
        index = np.searchsorted(self.starts, rows.to_numpy(), side="right") - 1
        return [self.members[int(i)].name for i in np.unique(index)]


def read_archive(path: Path) -> list[Member]:
    """The CSV members of a ZIP archive; a corrupt archive raises :class:`ArchiveError`."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [
                info.filename
                for info in archive.infolist()
                if not info.is_dir() and info.filename.lower().endswith(".csv")
            ]
            members = [Member(f"{path}:{name}", archive.read(name)) for name in sorted(names)]
    except Exception as exc:  # zipfile fails on damaged archives in many ways (BadZipFile,
        # zlib.error, EOFError, IndexError, struct.error, an encrypted member's RuntimeError...)
        raise ArchiveError(
            f"{path} is not a readable ZIP archive ({exc})",
            "Download it again (`avin data download`) or import the extracted CSV files.",
        ) from exc
    if not members:
        raise ArchiveError(f"{path} holds no CSV files", "Check that it is a T-Invest archive.")
    return members


def read_archive_bytes(name: str, data: bytes) -> list[Member]:
    """The CSV members of a ZIP held in memory (a downloaded archive not written to disk)."""
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [
                Member(f"{name}:{info.filename}", archive.read(info.filename))
                for info in sorted(archive.infolist(), key=lambda info: info.filename)
                if not info.is_dir() and info.filename.lower().endswith(".csv")
            ]
    except Exception as exc:  # the same many ways to fail as read_archive
        raise ArchiveError(f"{name} is not a readable ZIP archive ({exc})") from exc


def read_csv_file(path: Path) -> Member:
    try:
        return Member(str(path), path.read_bytes())
    except OSError as exc:
        raise ArchiveError(f"cannot read {path}: {exc.strerror or exc}") from exc


def parse(members: Sequence[Member]) -> ParsedBatch:
    """Parse and validate ``members`` together (one polars call)."""
    chunks = [_SENTINEL]
    counts = [1]
    for member in members:
        data = member.data
        if data and not data.endswith(b"\n"):
            data += b"\n"
        chunks.append(data)
        counts.append(data.count(b"\n"))
    starts = np.cumsum([0, *counts]).astype(np.int64)[1:]  # first row of each member
    starts = starts[: len(members)]
    total = int(sum(counts))
    try:
        raw = pl.read_csv(
            b"".join(chunks),
            has_header=False,
            separator=";",
            schema=RAW_SCHEMA,
            ignore_errors=True,
            truncate_ragged_lines=True,
            quote_char=None,
            encoding="utf8-lossy",
            row_index_name="_row",
        )
    except Exception as exc:
        names = ", ".join(member.name for member in members[:3])
        raise ArchiveError(f"cannot parse {names}: {exc}") from exc
    if raw.height != total:
        if len(members) > 1:  # an odd line broke the row <-> line mapping: isolate members
            return _concat([parse([member]) for member in members], members)
        raise ArchiveError(f"cannot map the lines of {members[0].name} (odd line endings)")
    return _validate(raw.slice(1), members, starts)


def _concat(batches: list[ParsedBatch], members: Sequence[Member]) -> ParsedBatch:
    """Join per-member batches, renumbering ``_row`` so that it stays unique."""
    frames = []
    starts = []
    offset = 0
    bad: list[BadLine] = []
    for batch in batches:
        frames.append(batch.bars.with_columns(pl.col("_row") + offset))
        starts.append(offset + int(batch.starts[0]))
        offset += 1_000_000_000
        bad.extend(batch.bad)
    return ParsedBatch(pl.concat(frames), bad, members, np.array(starts, dtype=np.int64))


def _parse_time(raw: pl.DataFrame) -> pl.Series:
    """The ``time`` column as UTC timestamps (null where unparseable)."""
    time = raw["time"]
    ts = time.str.to_datetime(FAST_TIME_FORMAT, time_unit="ns", time_zone="UTC", strict=False)
    if ts.null_count() > time.null_count():  # rare: fractional seconds, stray spaces
        slow = time.str.strip_chars().str.to_datetime(
            TIME_FORMAT, time_unit="ns", time_zone="UTC", strict=False
        )
        ts = ts.fill_null(slow)
    return ts.alias("ts")


def _validate(raw: pl.DataFrame, members: Sequence[Member], starts: np.ndarray) -> ParsedBatch:
    frame = raw.with_columns(_parse_time(raw))
    prices = [pl.col(name) for name in ("open", "close", "high", "low")]
    blank = (pl.col("uid").is_null() | (pl.col("uid") == "")) & pl.all_horizontal(
        pl.col(name).is_null() for name in ("time", "open", "close", "high", "low", "volume")
    )
    checks: list[tuple[pl.Expr, str | pl.Expr]] = [
        (pl.col("uid").is_null() | (pl.col("uid") == ""), "missing instrument id"),
        (pl.col("time").is_null(), "missing time"),
        (
            pl.col("ts").is_null(),
            pl.format("bad time '{}' (expected 2024-03-01T07:00:00Z)", pl.col("time")),
        ),
        (pl.any_horizontal(p.is_null() for p in prices), "missing or non-numeric price"),
        (pl.col("volume").is_null(), "missing or non-integer volume"),
        (
            ~pl.all_horizontal((p.is_finite() & (p > 0)) for p in prices),
            "price is not a positive finite number",
        ),
        (pl.col("ts").dt.epoch("ns") % _MINUTE_NS != 0, "time is not on a minute boundary"),
        (
            pl.col("high") < pl.max_horizontal("open", "close"),
            pl.format("high {} is below open {} or close {}", "high", "open", "close"),
        ),
        (
            pl.col("low") > pl.min_horizontal("open", "close"),
            pl.format("low {} is above open {} or close {}", "low", "open", "close"),
        ),
        (pl.col("volume") < 0, pl.format("negative volume {}", "volume")),
    ]
    invalid = pl.any_horizontal(condition.fill_null(True) for condition, _ in checks)
    frame = frame.with_columns(blank.alias("_blank"), invalid.alias("_invalid"))
    good = frame.filter(~pl.col("_invalid"))
    # duplicates among otherwise valid rows: the first occurrence is kept
    if strictly_increasing(good["ts"]):
        duplicate = pl.lit(False)  # strictly increasing: the usual case, no hashing
    elif good["uid"].n_unique() <= 1:
        duplicate = ~pl.col("ts").is_first_distinct()
    else:
        duplicate = ~pl.struct("uid", "ts").is_first_distinct()
    good = good.with_columns(duplicate.alias("_dup"))
    bad_rows = pl.concat(
        [
            frame.filter(pl.col("_invalid") & ~pl.col("_blank")).with_columns(
                _reason(checks).alias("_reason")
            ),
            good.filter(pl.col("_dup"))
            .drop("_dup")
            .with_columns(
                pl.lit("duplicate time: an earlier line has the same time").alias("_reason")
            ),
        ],
        how="diagonal_relaxed",
    )
    bars = good.filter(~pl.col("_dup")).select(PARSED_COLUMNS)
    return ParsedBatch(bars, _bad_lines(bad_rows, members, starts), members, starts)


def _reason(checks: list[tuple[pl.Expr, str | pl.Expr]]) -> pl.Expr:
    """The first failing check's message."""
    condition, message = checks[0]
    expr: Any = pl.when(condition.fill_null(True)).then(_as_expr(message))
    for condition, message in checks[1:]:
        expr = expr.when(condition.fill_null(True)).then(_as_expr(message))
    return expr.otherwise(pl.lit("invalid line"))


def _as_expr(message: str | pl.Expr) -> pl.Expr:
    return pl.lit(message) if isinstance(message, str) else message


def _bad_lines(bad: pl.DataFrame, members: Sequence[Member], starts: np.ndarray) -> list[BadLine]:
    if bad.is_empty():
        return []
    bad = bad.sort("_row")
    rows = bad["_row"].to_numpy().astype(np.int64)
    index = np.searchsorted(starts, rows, side="right") - 1
    lines_cache: dict[int, list[bytes]] = {}
    result = []
    for row, member_index, reason in zip(rows, index, bad["_reason"].to_list(), strict=True):
        member = members[int(member_index)]
        line = int(row - starts[member_index]) + 1
        lines = lines_cache.get(int(member_index))
        if lines is None:
            lines = lines_cache[int(member_index)] = member.data.split(b"\n")
        text = lines[line - 1] if line - 1 < len(lines) else b""
        decoded = text.decode("utf-8", "replace").rstrip("\r")[:_MAX_TEXT]
        result.append(BadLine(member.name, line, str(reason), decoded))
    return result
