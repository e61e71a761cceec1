"""The day-by-day comparison behind `avin data check --against`: the one-step tolerance and the
day a minute belongs to."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl

from engine.data.schema import BAR_SCHEMA
from engine.data.sources.crosscheck import compare


def bars(*rows: tuple[datetime, float, float, float, float, int]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=BAR_SCHEMA, orient="row")


T1 = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)
T2 = datetime(2024, 3, 4, 23, 59, tzinfo=UTC)  # still 2024-03-04 in UTC (02:59 Moscow)


def test_a_difference_of_one_step_is_within_tolerance_and_more_is_not() -> None:
    ours = bars((T1, 100.0, 100.05, 99.9, 100.0, 5), (T2, 10.0, 10.0, 10.0, 10.0, 1))
    theirs = bars((T1, 100.01, 100.05, 99.9, 100.0, 5), (T2, 10.0, 10.02, 10.0, 10.0, 1))
    [day] = compare(ours, theirs, Decimal("0.01"))
    assert day.day == date(2024, 3, 4) and day.stored == day.reference == 2
    assert [(d.ts, d.column) for d in day.prices] == [(T2, "high")]  # 0.02 > one step
    assert not day.volumes and not day.missing and not day.extra


def test_missing_extra_and_volume_differences_per_day() -> None:
    t3 = datetime(2024, 3, 5, 7, 0, tzinfo=UTC)
    ours = bars((T1, 1.0, 1.0, 1.0, 1.0, 5), (t3, 1.0, 1.0, 1.0, 1.0, 1))
    theirs = bars((T1, 1.0, 1.0, 1.0, 1.0, 6), (T2, 1.0, 1.0, 1.0, 1.0, 1))
    first, second = compare(ours, theirs, Decimal("0.01"))
    assert first.missing == [T2] and first.volumes == [(T1, 5, 6)] and not first.ok
    assert second.day == date(2024, 3, 5) and second.extra == [t3]
    assert second.to_json()["extra"] == ["2024-03-05T07:00:00Z"]
