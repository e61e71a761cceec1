"""Timeframes and their frame arithmetic.

Codes: ``1M 5M 10M 15M 1H 4H D W M`` (``1M`` is one minute, ``M`` is a month). A bar's timestamp is
the start of its frame: floor to the step for minutes and hours, midnight UTC for D, Monday 00:00 UTC
for W, the 1st of the month for M.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONDAY_EPOCH = datetime(1970, 1, 5, tzinfo=UTC)  # the first Monday after the epoch


class TimeFrame(Enum):
    __hash__ = object.__hash__  # members are singletons: hash by identity (C, fast)

    M1 = "1M"
    M5 = "5M"
    M10 = "10M"
    M15 = "15M"
    H1 = "1H"
    H4 = "4H"
    D = "D"
    W = "W"
    MONTH = "M"

    @property
    def code(self) -> str:
        return self.value

    @classmethod
    def from_code(cls, code: str) -> TimeFrame:
        text = code.strip().upper()
        aliases = {"1D": "D", "DAY": "D", "1W": "W", "WEEK": "W", "MONTH": "M", "60M": "1H"}
        text = aliases.get(text, text)
        for tf in cls:
            if tf.value == text:
                return tf
        valid = ", ".join(tf.value for tf in cls)
        raise ValueError(f"unknown timeframe {code!r}: use one of {valid}")

    @classmethod
    def all(cls) -> list[TimeFrame]:
        return list(cls)

    @property
    def step(self) -> timedelta | None:
        """Fixed length of a frame, or None for the calendar month."""
        return _STEPS[self]

    @property
    def minutes(self) -> int | None:
        step = self.step
        return None if step is None else int(step.total_seconds() // 60)

    @property
    def polars_every(self) -> str:
        """The ``every`` argument of ``polars.Expr.dt.truncate`` for this timeframe."""
        return _POLARS_EVERY[self]

    def floor(self, ts: datetime) -> datetime:
        """Start of the frame that contains ``ts`` (aware UTC in, aware UTC out)."""
        ts = as_utc(ts)
        if self is TimeFrame.MONTH:
            return ts.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        if self is TimeFrame.W:
            weeks = (ts - _MONDAY_EPOCH) // timedelta(weeks=1)
            return _MONDAY_EPOCH + timedelta(weeks=weeks)
        step = self.step
        assert step is not None
        return _EPOCH + ((ts - _EPOCH) // step) * step

    def next(self, ts: datetime) -> datetime:
        """Start of the frame after the one that contains ``ts``."""
        start = self.floor(ts)
        if self is TimeFrame.MONTH:
            if start.month == 12:
                return start.replace(year=start.year + 1, month=1)
            return start.replace(month=start.month + 1)
        step = self.step
        assert step is not None
        return start + step

    def __str__(self) -> str:
        return self.value


def as_utc(ts: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


_STEPS: dict[TimeFrame, timedelta | None] = {
    TimeFrame.M1: timedelta(minutes=1),
    TimeFrame.M5: timedelta(minutes=5),
    TimeFrame.M10: timedelta(minutes=10),
    TimeFrame.M15: timedelta(minutes=15),
    TimeFrame.H1: timedelta(hours=1),
    TimeFrame.H4: timedelta(hours=4),
    TimeFrame.D: timedelta(days=1),
    TimeFrame.W: timedelta(weeks=1),
    TimeFrame.MONTH: None,
}

_POLARS_EVERY: dict[TimeFrame, str] = {
    TimeFrame.M1: "1m",
    TimeFrame.M5: "5m",
    TimeFrame.M10: "10m",
    TimeFrame.M15: "15m",
    TimeFrame.H1: "1h",
    TimeFrame.H4: "4h",
    TimeFrame.D: "1d",
    TimeFrame.W: "1w",
    TimeFrame.MONTH: "1mo",
}
