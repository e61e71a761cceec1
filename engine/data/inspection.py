"""``avin data list`` and ``avin data check``: what is stored and whether it is sound.

A *gap* is a run of at least ``min_gap`` missing minutes inside the MOEX main session
(10:00-18:40 MSK = 07:00-15:40 UTC) of a day that has bars at all; weekends, holidays and the
morning and evening sessions are not counted. ``check`` also verifies every file: readable,
schema version, sorted unique timestamps on minute boundaries inside the file's year, valid bars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from engine.data.errors import DataError
from engine.data.schema import SCHEMA_VERSION, TS_DTYPE
from engine.data.store import BarStore, read_bars_file, read_meta

SESSION_START_MIN = 7 * 60  # 07:00 UTC
SESSION_END_MIN = 15 * 60 + 40  # 15:40 UTC (exclusive)
DEFAULT_MIN_GAP = 5


@dataclass(frozen=True, slots=True)
class Gap:
    day: date
    start_minute: int  # first missing minute of the UTC day
    minutes: int

    def describe(self) -> str:
        h, m = divmod(self.start_minute, 60)
        return f"{self.day} {h:02d}:{m:02d} UTC, {self.minutes} min"


@dataclass(frozen=True, slots=True)
class Summary:
    code: str
    uid: str
    first: datetime | None
    last: datetime | None
    rows: int
    gaps: int
    files: int
    sources: tuple[str, ...]


@dataclass(slots=True)
class CheckResult:
    code: str
    problems: list[str] = field(default_factory=list)  # integrity errors
    gaps: list[Gap] = field(default_factory=list)
    rows: int = 0
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def session_gaps(
    ts: pl.Series, min_gap: int = DEFAULT_MIN_GAP, now: datetime | None = None
) -> list[Gap]:
    """Runs of >= ``min_gap`` missing minutes in the main session of days that have bars
    (today's session only up to the current minute)."""
    if ts.is_empty():
        return []
    moment = now if now is not None else datetime.now(UTC)
    frame = (
        pl.DataFrame({"ts": ts})
        .select(
            pl.col("ts").dt.date().alias("day"),
            (pl.col("ts").dt.hour().cast(pl.Int32) * 60 + pl.col("ts").dt.minute()).alias("m"),
        )
        .unique()
        .sort("day", "m")
    )
    days = frame.select("day").unique()
    inside = frame.filter((pl.col("m") >= SESSION_START_MIN) & (pl.col("m") < SESSION_END_MIN))
    # virtual bars just before and just after the session bound every day's runs
    bounds = pl.concat(
        [
            days.with_columns(pl.lit(SESSION_START_MIN - 1, dtype=pl.Int32).alias("m")),
            days.with_columns(
                pl.when(pl.col("day") == moment.date())
                .then(pl.lit(min(SESSION_END_MIN, moment.hour * 60 + moment.minute)))
                .otherwise(pl.lit(SESSION_END_MIN))
                .cast(pl.Int32)
                .alias("m")
            ),
        ]
    )
    marks = pl.concat([inside.with_columns(pl.col("m").cast(pl.Int32)), bounds]).sort("day", "m")
    runs = (
        marks.with_columns(pl.col("m").shift(1).over("day").alias("prev"))
        .with_columns((pl.col("m") - pl.col("prev") - 1).alias("missing"))
        .filter(pl.col("missing") >= min_gap)
    )
    return [
        Gap(row["day"], int(row["prev"]) + 1, int(row["missing"]))
        for row in runs.iter_rows(named=True)
    ]


def summarize(store: BarStore, code: str, min_gap: int = DEFAULT_MIN_GAP) -> Summary:
    paths = store.files(code)
    frames = []
    sources: set[str] = set()
    meta = None
    for path in paths:
        try:
            frames.append(pl.read_parquet(path, columns=["ts"]))
            meta = read_meta(path)
        except Exception:  # a damaged file is check's business; list goes on
            sources.add("UNREADABLE FILE: run avin data check")
            continue
        sources.update(meta.sources)
    ts = pl.concat(frames)["ts"] if frames else pl.Series("ts", [], dtype=TS_DTYPE)
    first = ts.min() if len(ts) else None
    last = ts.max() if len(ts) else None
    return Summary(
        code,
        meta.uid if meta else "",
        first if isinstance(first, datetime) else None,
        last if isinstance(last, datetime) else None,
        len(ts),
        len(session_gaps(ts, min_gap)),
        len(paths),
        tuple(sorted(sources)),
    )


def summaries(store: BarStore, min_gap: int = DEFAULT_MIN_GAP) -> list[Summary]:
    return [summarize(store, code, min_gap) for code in store.codes()]


def check_file(path: Path, code: str, year: int) -> tuple[list[str], pl.Series | None]:
    """Integrity problems of one stored year file, and its timestamps when readable."""
    problems: list[str] = []
    name = f"{code} {year} ({path.name})"
    try:
        meta = read_meta(path)
        bars = read_bars_file(path)
    except DataError as exc:
        return [f"{name}: unreadable: {exc.message}"], None
    if meta.version != SCHEMA_VERSION:
        problems.append(f"{name}: schema version {meta.version}, expected {SCHEMA_VERSION}")
    if meta.instrument and meta.instrument != code:
        problems.append(f"{name}: metadata names {meta.instrument}")
    ts = bars["ts"]
    duplicates = int(ts.is_duplicated().sum())
    if duplicates:
        problems.append(f"{name}: {duplicates} rows share a timestamp")
    if not ts.is_sorted():
        problems.append(f"{name}: timestamps are not sorted")
    checks = {
        "not on a minute boundary": pl.col("ts").dt.epoch("ns") % 60_000_000_000 != 0,
        "outside the file's year": pl.col("ts").dt.year() != year,
        "high below open/close": pl.col("high") < pl.max_horizontal("open", "close"),
        "low above open/close": pl.col("low") > pl.min_horizontal("open", "close"),
        "negative volume": pl.col("volume") < 0,
        "missing or non-finite values": pl.any_horizontal(
            pl.col(c).is_null() | ~pl.col(c).is_finite() for c in ("open", "high", "low", "close")
        )
        | pl.col("volume").is_null(),
    }
    counts = bars.select(expr.fill_null(True).sum().alias(label) for label, expr in checks.items())
    for label, value in counts.row(0, named=True).items():
        if value:
            first = bars.filter(checks[label].fill_null(True))["ts"][0]
            problems.append(f"{name}: {value} bars {label} (first at {first})")
    return problems, ts


def check(store: BarStore, code: str, min_gap: int = DEFAULT_MIN_GAP) -> CheckResult:
    result = CheckResult(code)
    stamps: list[pl.Series] = []
    for year in store.years(code):
        problems, ts = check_file(store.year_path(code, year), code, year)
        result.problems.extend(problems)
        result.files += 1
        if ts is not None:
            stamps.append(ts)
            result.rows += len(ts)
    if stamps:
        result.gaps = session_gaps(pl.concat(stamps), min_gap)
    return result
