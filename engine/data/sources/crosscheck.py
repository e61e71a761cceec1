"""Stored 1-minute bars against a reference source (``avin data check TICKER --against moex``).

Per UTC day that has bars on either side: the minutes the reference has and the store lacks
(missing), the minutes the store has and the reference lacks (extra), the minutes whose open, high,
low or close differ by more than one price step, and the minutes whose volumes (lots) differ.
The reference's bars are fetched chunk by chunk like a download, but nothing is stored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from engine.data.schema import empty_bars
from engine.data.sources.fetch import day_chunks
from engine.data.sources.protocol import DataSource
from engine.data.store import BarStore
from engine.model import TimeFrame, as_utc

PRICES = ("open", "high", "low", "close")
SHOWN = 20  # timestamps listed per day and kind in the JSON report


@dataclass(slots=True)
class PriceDiff:
    ts: datetime
    column: str
    stored: float
    reference: float


@dataclass(slots=True)
class DayCheck:
    day: date
    stored: int = 0
    reference: int = 0
    missing: list[datetime] = field(default_factory=list)  # in the reference, not stored
    extra: list[datetime] = field(default_factory=list)  # stored, not in the reference
    prices: list[PriceDiff] = field(default_factory=list)  # beyond one price step
    volumes: list[tuple[datetime, int, int]] = field(default_factory=list)  # stored, reference

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.prices or self.volumes)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        data["ok"] = self.ok
        for key in ("missing", "extra"):
            data[f"{key}_count"] = len(data[key])
            data[key] = [_iso(ts) for ts in data[key][:SHOWN]]
        data["prices_count"] = len(self.prices)
        data["prices"] = [
            {**asdict(d), "ts": _iso(d.ts)} for d in self.prices[:SHOWN]
        ]  # fmt: skip
        data["volumes_count"] = len(self.volumes)
        data["volumes"] = [
            {"ts": _iso(ts), "stored": a, "reference": b} for ts, a, b in self.volumes[:SHOWN]
        ]
        return data


@dataclass(slots=True)
class CheckReport:
    code: str
    source: str
    step: Decimal
    since: date
    until: date
    days: list[DayCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(day.ok for day in self.days)

    def to_json(self) -> dict[str, Any]:
        return {
            "instrument": self.code,
            "against": self.source,
            "price_step": str(self.step),
            "from": self.since.isoformat(),
            "to": self.until.isoformat(),
            "ok": self.ok,
            "days": [day.to_json() for day in self.days],
        }


def _iso(ts: datetime) -> str:
    return as_utc(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def compare(stored: pl.DataFrame, reference: pl.DataFrame, step: Decimal) -> list[DayCheck]:
    """Day-by-day differences of two frames of the bar schema (see the module doc)."""
    tolerance = float(step) * (1 + 1e-9)  # a difference of exactly one step is within it
    joined = stored.join(reference, on="ts", how="full", suffix="_ref", coalesce=True).sort("ts")
    days: dict[date, DayCheck] = {}
    for row in joined.iter_rows(named=True):
        ts = row["ts"]
        check = days.setdefault(ts.date(), DayCheck(ts.date()))
        here, there = row["open"] is not None, row["open_ref"] is not None
        check.stored += here
        check.reference += there
        if not here:
            check.missing.append(ts)
            continue
        if not there:
            check.extra.append(ts)
            continue
        for column in PRICES:
            if abs(row[column] - row[f"{column}_ref"]) > tolerance:
                check.prices.append(PriceDiff(ts, column, row[column], row[f"{column}_ref"]))
        if row["volume"] != row["volume_ref"]:
            check.volumes.append((ts, row["volume"], row["volume_ref"]))
    return [days[day] for day in sorted(days)]


async def check_against(
    source: DataSource,
    query: str,
    since: date,
    until: date,
    *,
    store: BarStore | None = None,
    now: datetime | None = None,
) -> CheckReport:
    """Fetch the reference's 1-minute bars of ``[since, until]`` and compare them with the store
    (only complete minutes: the one in progress is left out on both sides)."""
    store = store if store is not None else BarStore()
    instrument = await source.instrument(query)
    moment = as_utc(now) if now is not None else datetime.now(UTC)
    end_limit = TimeFrame.M1.floor(moment)
    days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
    frames = []
    for lo, hi in day_chunks(days, source.chunk_days(TimeFrame.M1)):
        begin = datetime(lo.year, lo.month, lo.day, tzinfo=UTC)
        end = min(datetime(hi.year, hi.month, hi.day, tzinfo=UTC) + timedelta(days=1), end_limit)
        if end > begin:
            frames.append(await source.bars(instrument, TimeFrame.M1, begin, end))
    reference = pl.concat(frames) if frames else empty_bars()
    begin = datetime(since.year, since.month, since.day, tzinfo=UTC)
    end = min(datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1),
              end_limit)  # fmt: skip
    stored = store.read(instrument.code, begin, end)
    report = CheckReport(instrument.code, source.name, instrument.step, since, until)
    report.days = compare(stored, reference, instrument.step)
    return report
