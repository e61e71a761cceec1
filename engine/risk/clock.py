"""Time for the risk desk: the MOEX trading day and the local clock against the broker's.

- :func:`trading_day`: the MOEX trading day of a UTC time, the calendar date in Moscow time (UTC+3,
  no daylight saving): the day boundary is 00:00 MSK = 21:00 UTC of the day before.
  :func:`day_begins` gives that boundary as a UTC time (times are stored in UTC).
- :class:`ClockWatch`: compares the broker's server time (:func:`engine.broker.base.server_time`:
  a T-Invest stream ping, the simulated market's injected server clock) with the local UTC clock.
  The *skew* is local minus server (positive: the local clock is ahead). Beyond
  ``risk.clock_skew_warning`` seconds it writes one incident (again only after the skew came back
  under half the warning); beyond ``risk.clock_skew_limit`` the ``clock_skew`` trigger
  (:meth:`engine.risk.triggers.Triggers.on_clock_skew`) trips the kill switch. It also estimates
  the server's clock now, for time-based rules that must not trust a skewed local clock.
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from engine.broker.base import ServerTime

MSK = timezone(timedelta(hours=3), "MSK")
log = logging.getLogger("avin.risk")


def trading_day(ts: datetime) -> date:
    """The MOEX trading day of ``ts``: its date in Moscow time."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(MSK).date()


def day_begins(day: date) -> datetime:
    """The start of the MOEX trading day ``day`` (00:00 MSK), in UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=MSK).astimezone(UTC)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ClockWatch:
    """The newest server-time sample, its skew and the warning state."""

    def __init__(
        self,
        warning: float,
        limit: float,
        now: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = _time.monotonic,
    ) -> None:
        self.warning = warning
        self.limit = limit
        self._now = now or (lambda: datetime.now(UTC))
        self._monotonic = monotonic
        self.sample: ServerTime | None = None
        self._warned = False
        self._seen = 0.0  # monotonic time the sample was first seen here
        self._lag = timedelta(0)  # how old it was then

    @property
    def skew(self) -> float | None:
        """Seconds the local clock is ahead of the server's (negative: behind); None: unknown."""
        return None if self.sample is None else self.sample.skew.total_seconds()

    def observe(self, sample: ServerTime | None) -> dict[str, Any] | None:
        """Take the broker's newest sample; the details of a warning incident to write, or None."""
        if sample is None:
            return None
        if sample != self.sample:
            self.sample = sample
            self._seen = self._monotonic()
            self._lag = max(self._now() - sample.received, timedelta(0))
        skew = sample.skew.total_seconds()
        if self.warning <= 0:
            return None
        if abs(skew) > self.warning:
            if self._warned:
                return None
            self._warned = True
            return self.details()
        if self._warned and abs(skew) <= self.warning / 2:
            self._warned = False
            log.warning("clock skew back to %.3f s (warning at %g s)", skew, self.warning)
        return None

    def describe(self, skew: float) -> str:
        side = "ahead of" if skew > 0 else "behind"
        return f"the local clock is {abs(skew):.1f} s {side} the broker's"

    def details(self) -> dict[str, Any]:
        sample = self.sample
        if sample is None:
            return {}
        skew = sample.skew.total_seconds()
        return {
            "skew_seconds": round(skew, 3),
            "server_ts": _iso(sample.server),
            "local_ts": _iso(sample.received),
            "warning": self.warning,
            "limit": self.limit,
        }

    def server_now(self) -> datetime | None:
        """The server's clock now, or None: the newest sample moved on by the monotonic clock
        (a jump of the local wall clock does not move it)."""
        sample = self.sample
        if sample is None:
            return None
        elapsed = timedelta(seconds=max(self._monotonic() - self._seen, 0.0))
        return sample.server + self._lag + elapsed

    def to_json(self) -> dict[str, Any] | None:
        return self.details() or None
