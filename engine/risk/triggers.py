"""Automatic kill-switch triggers: each watches one condition and reports a :class:`Trip`.

- ``daily_loss``: equity (realised + unrealised - commission, all accounts) fell more than
  ``risk.daily_loss_limit`` below its value at the start of the market day;
- ``drawdown``: equity fell more than ``risk.max_drawdown`` below its peak;
- ``rejections``: ``risk.reject_limit`` orders rejected within ``risk.reject_window`` seconds
  (refusals because of the trading state itself are not counted);
- ``disconnects``: ``risk.disconnect_limit`` broker disconnects within ``risk.disconnect_window``;
- ``stale_data``: no price for ``risk.stale_data_seconds`` while the session is open.

The error storm (strategy or engine errors per minute) is the engine's own trip wire
(``engine.error_storm``, :class:`engine.runtime.guards.ErrorStorm`, a
:class:`~engine.risk.window.WindowCounter`); it halts the same way. A limit of 0 (or an empty
value) disables a trigger. A trigger that fired stays quiet until :meth:`Triggers.rearm` (the
operator's resume), so one condition writes one incident.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from engine.config import RiskSettings
from engine.risk.checks import money
from engine.risk.window import WindowCounter


@dataclass(frozen=True, slots=True)
class Trip:
    trigger: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.trigger}: {self.message}"


def is_state_refusal(reason: str) -> bool:
    """A rejection caused by the trading state itself (not a sign of trouble)."""
    return reason.startswith(("trading is", "trading_state:", "strategy is"))


class Triggers:
    def __init__(self, settings: RiskSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._rejects = WindowCounter(settings.reject_limit, settings.reject_window)
        self._disconnects = WindowCounter(settings.disconnect_limit, settings.disconnect_window)
        self.fired: set[str] = set()
        self.peak: Decimal | None = Decimal(0)  # a run starts flat: its equity is 0
        self.day: date | None = None
        self.day_start: Decimal | None = None
        self.last_data = clock()

    def _trip(self, name: str, message: str, **details: Any) -> Trip | None:
        if name in self.fired:
            return None
        self.fired.add(name)
        return Trip(name, message, details)

    def rearm(self, equity: Decimal | None = None) -> None:
        """After a deliberate resume: every trigger armed again, the drawdown peak reset."""
        self.fired.clear()
        self._rejects.clear()
        self._disconnects.clear()
        self.peak = equity
        self.last_data = self._clock()

    # --- the conditions -------------------------------------------------------------------------

    def on_equity(self, equity: Decimal, day: date | None) -> Trip | None:
        if day is not None and day != self.day:
            first = self.day is None  # the run's first day: it started flat, at 0
            self.day, self.day_start = day, Decimal(0) if first else equity
        if self.peak is None or equity > self.peak:
            self.peak = equity
        s = self.settings
        if s.daily_loss_limit is not None and self.day_start is not None:
            loss = self.day_start - equity
            if loss > s.daily_loss_limit:
                return self._trip(
                    "daily_loss",
                    f"loss today {money(loss)} > limit {money(s.daily_loss_limit)}",
                    loss=loss,
                    limit=s.daily_loss_limit,
                    equity=equity,
                    day=day,
                )
        if s.max_drawdown is not None:
            drawdown = self.peak - equity
            if drawdown > s.max_drawdown:
                return self._trip(
                    "drawdown",
                    f"drawdown {money(drawdown)} from the peak {money(self.peak)} "
                    f"> limit {money(s.max_drawdown)}",
                    drawdown=drawdown,
                    peak=self.peak,
                    limit=s.max_drawdown,
                    equity=equity,
                )
        return None

    def on_reject(self, reason: str) -> Trip | None:
        if is_state_refusal(reason):
            return None
        if self._rejects.record(self._clock()):
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
            return None
        if self._disconnects.record(self._clock()):
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

    def on_market_data(self) -> None:
        self.last_data = self._clock()

    def check_stale(self, market_open: bool | None, expecting: bool = True) -> Trip | None:
        limit = self.settings.stale_data_seconds
        if limit <= 0 or not expecting or market_open is not True:
            return None
        silent = self._clock() - self.last_data
        if silent > limit:
            return self._trip(
                "stale_data",
                f"no market data for {silent:.1f} s during the session (limit {limit:g} s)",
                silent=round(silent, 3),
                limit=limit,
            )
        return None
