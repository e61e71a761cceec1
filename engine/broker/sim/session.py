"""The simulated MOEX calendar: the main session only, 07:00-15:40 UTC (10:00-18:40 MSK).

The evening session is deliberately left out: the demo runs in simulated time anyway, and one
session a day keeps daily bars and session gaps simple. Saturdays and Sundays are closed; exchange
holidays are not modelled. A session has ``SESSION_MINUTES`` 1-minute bars, the first starting at
07:00 and the last at 15:39 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from engine.model import as_utc

SESSION_OPEN = time(7, 0)
SESSION_CLOSE = time(15, 40)
SESSION_MINUTES = 520
MINUTE = timedelta(minutes=1)


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5


def session_open(day: date) -> datetime:
    return datetime.combine(day, SESSION_OPEN, tzinfo=UTC)


def session_close(day: date) -> datetime:
    return datetime.combine(day, SESSION_CLOSE, tzinfo=UTC)


def is_open(ts: datetime) -> bool:
    """True while the main session is trading (open <= ts < close on a weekday)."""
    ts = as_utc(ts)
    day = ts.date()
    return is_trading_day(day) and session_open(day) <= ts < session_close(day)


def next_trading_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day


def previous_trading_day(day: date) -> date:
    day -= timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


def next_session_minute(ts: datetime) -> datetime:
    """The start of the first session minute at or after ``ts``."""
    ts = as_utc(ts)
    floor = ts.replace(second=0, microsecond=0)
    if floor < ts:
        floor += MINUTE
    day = floor.date()
    if is_trading_day(day):
        if floor < session_open(day):
            return session_open(day)
        if floor < session_close(day):
            return floor
    return session_open(next_trading_day(day))


def default_start(today: date | None = None) -> datetime:
    """The main-session open of the most recent weekday before ``today`` (UTC wall clock)."""
    if today is None:
        today = datetime.now(UTC).date()
    return session_open(previous_trading_day(today))


def trading_days(begin: date, end: date) -> list[date]:
    """Weekdays with ``begin <= day <= end``."""
    days: list[date] = []
    day = begin
    while day <= end:
        if is_trading_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days
