"""Automatic kill-switch triggers: each watches one condition and reports a :class:`Trip`.

- ``daily_loss``: an account's equity (realised + unrealised - commission of its positions) fell
  more than ``risk.daily_loss_limit`` below its value at the start of the MOEX trading day;
- ``drawdown``: an account's equity fell more than ``risk.max_drawdown`` below its peak;
- ``rejections``: ``risk.reject_limit`` orders rejected by the broker within
  ``risk.reject_window`` seconds (the engine's own refusals: pre-trade rules such as
  ``self_trade``, the trading or strategy state, are local policy and never counted);
- ``disconnects``: ``risk.disconnect_limit`` broker disconnects within ``risk.disconnect_window``
  (both windows count market seconds on a market with its own clock, wall seconds otherwise);
- ``stale_data``: no price for ``risk.stale_data_seconds`` while the session is open;
- ``clock_skew``: the local clock is more than ``risk.clock_skew_limit`` seconds off the broker's
  server clock (:class:`engine.risk.clock.ClockWatch`).

The baselines of the first two (:class:`Baseline`, per account: the trading day, the equity at its
start and the equity peak) and the set of fired triggers are part of the engine's state snapshot
(:meth:`Triggers.to_json` / :meth:`Triggers.restore`), so a restart on the same trading day keeps
the loss already taken and the peak; the first equity of a new trading day (00:00 MSK) is that
day's baseline. The peak persists across days until a deliberate resume (:meth:`rearm`).

The error storm (strategy or engine errors per minute) is the engine's own trip wire
(``engine.error_storm``, :class:`engine.runtime.guards.ErrorStorm`, a
:class:`~engine.risk.window.WindowCounter`); it halts the same way. A limit of 0 (or an empty
value) disables a trigger. A trigger that fired stays quiet until :meth:`Triggers.rearm` (the
operator's resume), so one condition writes one incident.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.config import RiskSettings
from engine.risk.checks import money
from engine.risk.clock import day_begins
from engine.risk.window import WindowCounter

ZERO = Decimal(0)
NAMES = ("daily_loss", "drawdown", "rejections", "disconnects", "stale_data", "clock_skew")


@dataclass(frozen=True, slots=True)
class Trip:
    trigger: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.trigger}: {self.message}"


@dataclass(slots=True)
class Baseline:
    """One account's baselines: its equity at the start of the trading day, and its peak."""

    day: date | None  # the MOEX trading day (Moscow date) ``day_start`` belongs to
    day_start: Decimal
    peak: Decimal

    def to_json(self) -> dict[str, Any]:
        begins = day_begins(self.day) if self.day is not None else None
        return {
            "trading_day": self.day.isoformat() if self.day is not None else None,
            "day_begins": begins.isoformat().replace("+00:00", "Z") if begins else None,
            "daily_baseline": str(self.day_start),
            "equity_peak": str(self.peak),
        }

    @classmethod
    def from_json(cls, data: Any) -> Baseline | None:
        """The saved baseline, or None when it is unreadable (then it starts afresh)."""
        if not isinstance(data, dict):
            return None
        try:
            raw_day = data.get("trading_day")
            day = date.fromisoformat(str(raw_day)) if raw_day else None
            return cls(day, Decimal(str(data["daily_baseline"])), Decimal(str(data["equity_peak"])))
        except (KeyError, TypeError, ValueError, InvalidOperation):
            return None


class Triggers:
    """``window_clock`` (seconds) is what the rejections and disconnects windows count on: the
    engine's clock (market time on a market with its own clock, the monotonic clock against a
    real broker; the risk desk's :meth:`~engine.risk.control.RiskControl.window_clock`). The
    data silence of ``stale_data`` is measured on ``clock`` (monotonic): a feed that stops is a
    fact of the wall clock, and a stalled simulated market stops its own clock as well."""

    def __init__(
        self,
        settings: RiskSettings,
        clock: Callable[[], float] = time.monotonic,
        *,
        window_clock: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._window_clock = window_clock or clock
        self._rejects = WindowCounter(settings.reject_limit, settings.reject_window)
        self._disconnects = WindowCounter(settings.disconnect_limit, settings.disconnect_window)
        self.fired: set[str] = set()
        self.baselines: dict[str, Baseline] = {}  # by account
        self.start_equity: dict[str, Decimal] = {}  # by account, when this run started
        self.changed = False  # a baseline moved since the last :meth:`take_changed`
        self.last_data = clock()
        self.last_data_ts: datetime | None = None  # the newest price's own (server) time
        self._session: bool | None = None  # market_open as seen last
        self._session_seen = False
        self._floor_pending = False
        self._age_floor: datetime | None = None  # data age counts from here (open, reconnect)
        self._live = False  # a price was seen fresh by the server clock: its age means delay

    def _trip(self, name: str, message: str, **details: Any) -> Trip | None:
        if name in self.fired:
            return None
        self.fired.add(name)
        return Trip(name, message, details)

    def rearm(self, equities: Mapping[str, Decimal] | None = None) -> None:
        """After a deliberate resume: every trigger armed again, the drawdown peaks reset to
        ``equities`` (the daily baselines stay: the trading day's loss is not forgiven)."""
        self.fired.clear()
        self._rejects.clear()
        self._disconnects.clear()
        for account, equity in (equities or {}).items():
            baseline = self.baselines.get(account)
            if baseline is not None and baseline.peak != equity:
                baseline.peak = equity
                self.changed = True
        self.last_data = self._clock()
        self._floor_pending = True

    # --- persistence ----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "baselines": {a: b.to_json() for a, b in sorted(list(self.baselines.items()))},
            "fired": sorted(self.fired),
        }

    def restore(self, data: Any, *, latched: bool = True) -> None:
        """Take the saved baselines; the fired triggers too when the kill switch is still latched
        (``latched``): a run that starts ACTIVE has every trigger armed."""
        if not isinstance(data, dict):
            return
        saved = data.get("baselines")
        for account, raw in saved.items() if isinstance(saved, dict) else ():
            baseline = Baseline.from_json(raw)
            if baseline is not None:
                self.baselines[str(account)] = baseline
        fired = data.get("fired")
        if latched and isinstance(fired, list):
            self.fired.update(str(name) for name in fired if name in NAMES)

    def start(self, equities: Mapping[str, Decimal]) -> None:
        """The run starts (after recovery, before strategies trade) with these equities."""
        self.start_equity = dict(equities)

    def take_changed(self) -> bool:
        changed, self.changed = self.changed, False
        return changed

    # --- the conditions -------------------------------------------------------------------------

    def on_equity(self, equities: Mapping[str, Decimal], day: date | None) -> Trip | None:
        """Every account's equity now and the trading day (None: not known yet)."""
        trip: Trip | None = None
        for account in sorted(equities):
            found = self._account_equity(account, equities[account], day)
            trip = trip or found
        return trip

    def _baseline(self, account: str, equity: Decimal, day: date | None) -> Baseline:
        baseline = self.baselines.get(account)
        if baseline is None:  # first seen: this run started here (0 without a position then)
            start = self.start_equity.get(account, ZERO)
            baseline = Baseline(day, start, max(start, equity))
            self.baselines[account] = baseline
            self.changed = True
        elif day is not None and day != baseline.day:
            if baseline.day is not None:  # a new trading day: its loss counts from here
                baseline.day_start = equity
            baseline.day = day
            self.changed = True
        if equity > baseline.peak:
            baseline.peak = equity
            self.changed = True
        return baseline

    def _account_equity(self, account: str, equity: Decimal, day: date | None) -> Trip | None:
        baseline = self._baseline(account, equity, day)
        s = self.settings
        trip: Trip | None = None
        loss = baseline.day_start - equity
        if s.daily_loss_limit is not None and loss > s.daily_loss_limit:
            trip = self._trip(
                "daily_loss",
                f"{account}: loss today {money(loss)} > limit {money(s.daily_loss_limit)}",
                account=account,
                loss=loss,
                limit=s.daily_loss_limit,
                equity=equity,
                daily_baseline=baseline.day_start,
                day=baseline.day,
            )
        drawdown = baseline.peak - equity
        if trip is None and s.max_drawdown is not None and drawdown > s.max_drawdown:
            trip = self._trip(
                "drawdown",
                f"{account}: drawdown {money(drawdown)} from the peak {money(baseline.peak)} "
                f"> limit {money(s.max_drawdown)}",
                account=account,
                drawdown=drawdown,
                peak=baseline.peak,
                limit=s.max_drawdown,
                equity=equity,
            )
        return trip

    def on_reject(self, reason: str) -> Trip | None:
        """The broker rejected an order (the engine's own refusals are never passed here)."""
        if self._rejects.record(self._window_clock()):
            s = self.settings
            return self._trip(
                "rejections",
                f"{self._rejects.recent} orders rejected within {s.reject_window:g} s "
                f"(limit {s.reject_limit}); last: {reason}",
                count=self._rejects.recent,
                window=s.reject_window,
                limit=s.reject_limit,
                last=reason,
            )
        return None

    def on_connection(self, connected: bool, reason: str = "") -> Trip | None:
        if connected:
            self.last_data = self._clock()  # do not call the reconnect gap stale data
            self._floor_pending = True
            return None
        if self._disconnects.record(self._window_clock()):
            s = self.settings
            return self._trip(
                "disconnects",
                f"{self._disconnects.recent} broker disconnects within "
                f"{s.disconnect_window:g} s (limit {s.disconnect_limit}); last: {reason}",
                count=self._disconnects.recent,
                window=s.disconnect_window,
                limit=s.disconnect_limit,
            )
        return None

    def on_market_data(self, ts: datetime | None = None) -> None:
        """Market data arrived now; ``ts`` is its own (server) time when it has a precise one."""
        self.last_data = self._clock()
        if ts is not None and (self.last_data_ts is None or ts > self.last_data_ts):
            self.last_data_ts = ts

    def check_stale(
        self,
        market_open: bool | None,
        expecting: bool = True,
        server_now: datetime | None = None,
    ) -> Trip | None:
        """No data for ``stale_data_seconds`` while the session is open. The silence is measured
        on the monotonic clock (a jump of the wall clock neither trips nor hides it); when the
        broker's server clock is known (``server_now``), also as the age of the newest price by
        that clock, which catches a feed that falls behind (once a price was seen fresh by that clock:
        a replay, old from the start, is judged by its silence only). The larger one counts; neither
        uses the local wall clock. The silence restarts when the session opens and on a
        reconnect."""
        opened = market_open is True and self._session_seen and self._session is not True
        self._session, self._session_seen = market_open, True
        if opened:  # the night was not stale data
            self.last_data = self._clock()
            self._floor_pending = True
        if self._floor_pending and server_now is not None:
            self._age_floor = server_now
            self._floor_pending = False
        limit = self.settings.stale_data_seconds
        if limit <= 0 or not expecting or market_open is not True:
            return None
        silent = self._clock() - self.last_data
        by = "monotonic"
        newest = self.last_data_ts
        if server_now is not None and newest is not None:
            if (server_now - newest).total_seconds() <= limit:
                self._live = True  # the prices' own times follow the server clock
            if self._age_floor is not None and self._age_floor > newest:
                newest = self._age_floor
            age = (server_now - newest).total_seconds()
            if age > silent and self._live:  # a replay (old times from the start) is not late
                silent, by = age, "server"
        if silent > limit:
            return self._trip(
                "stale_data",
                f"no market data for {silent:.1f} s during the session (limit {limit:g} s"
                f"{', by the broker clock' if by == 'server' else ''})",
                silent=round(silent, 3),
                limit=limit,
                clock=by,
            )
        return None

    def on_clock_skew(self, skew: float | None, **details: Any) -> Trip | None:
        """``skew``: seconds the local clock is ahead of the broker's (None: unknown)."""
        limit = self.settings.clock_skew_limit
        if skew is None or limit <= 0 or abs(skew) <= limit:
            return None
        side = "ahead of" if skew > 0 else "behind"
        return self._trip(
            "clock_skew",
            f"the local clock is {abs(skew):.1f} s {side} the broker's (limit {limit:g} s)",
            **details,
        )
