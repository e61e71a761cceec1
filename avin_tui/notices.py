"""Which engine events become notifications: only those of this run, and one recovery notice.

Rejected orders the engine brings back from the state store (start-up recovery) were announced
by the run that saw them: every rejection present before the engine reports ``started`` is taken
as known, and only later ones become notifications. After an unclean stop (``snapshot.recovered``)
the app shows one notice of what start-up recovery restored and booked, with the key to the
details (:class:`avin_tui.screens.recovery.RecoveryScreen`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.runtime.snapshot import EngineSnapshot, OrderRow

DETAILS_KEY = "I"  # the app's key for the recovery details


def engine_started(engine: Any) -> bool:
    """Whether start-up (recovery included) is over; an engine that does not say counts as
    started."""
    return bool(getattr(engine, "started", True))


def recovery_report(engine: Any) -> Any:
    """The engine's RecoveryReport of this start, if any (engine.runtime.recovery)."""
    return getattr(getattr(engine, "keeper", None), "report", None)


@dataclass(slots=True)
class EventNotices:
    """Remembers what was announced; :meth:`new_rejections` returns only this run's new ones."""

    seen: set[str] = field(default_factory=set)
    live: bool = False  # True once the engine has started: later rejections are new
    recovery_shown: bool = False

    def new_rejections(self, snap: EngineSnapshot, started: bool) -> list[OrderRow]:
        rejected = [r for r in snap.orders if r.status == "rejected"]
        if not self.live:
            self.seen.update(r.key for r in rejected)  # restored from earlier runs: known
            self.live = started
            return []
        new = [r for r in rejected if r.key not in self.seen]
        self.seen.update(r.key for r in new)
        return new

    def recovery_notice(self, snap: EngineSnapshot, engine: Any) -> tuple[str, str] | None:
        """(text, severity) of the one notice after an unclean stop, once start-up is over."""
        if self.recovery_shown or not snap.recovered or not engine_started(engine):
            return None
        self.recovery_shown = True
        return recovery_text(snap, recovery_report(engine))


def recovery_text(snap: EngineSnapshot, report: Any) -> tuple[str, str]:
    open_orders = len(snap.open_orders)
    positions = sum(1 for p in snap.positions if p.lots)
    parts = [f"{open_orders} open order(s)", f"{positions} position(s)"]
    severity = "warning"
    if report is not None:
        parts.append(f"{len(report.synthesized_fills)} fill(s) booked while down")
        if report.cancelled:
            parts.append(f"{len(report.cancelled)} order(s) found cancelled")
        if report.adopted:
            parts.append(f"{len(report.adopted)} unknown order(s) adopted")
    text = "The previous run did not stop cleanly. Recovered: " + ", ".join(parts) + "."
    if report is not None and report.problems:
        severity = "error"
        text += f" {len(report.problems)} problem(s): trading HALTED until you check them."
    return text + f" Press {DETAILS_KEY} for the details.", severity
