"""Which engine events become notifications: only those of this run, and one recovery notice.

Rejected orders the engine brings back from the state store (start-up recovery) were announced
by the run that saw them. The engine names the orders recovery restored (``restored_orders``,
None until recovery is over): until then every rejection is taken as known, afterwards every
rejection not restored is new. After an unclean stop (``snapshot.recovered``) the app shows one
notice of what start-up recovery restored and booked, with the key to the details
(:class:`avin_tui.screens.recovery.RecoveryScreen`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.model.snapshot import EngineSnapshot, OrderRow

DETAILS_KEY = "I"  # the app's key for the recovery details
NOTHING: frozenset[str] = frozenset()


def restored_orders(engine: Any) -> frozenset[str] | None:
    """The order keys start-up recovery restored, or None while it is not over (an engine that
    does not say restored nothing)."""
    return getattr(engine, "restored_orders", NOTHING)


def recovery_report(engine: Any) -> Any:
    """The engine's RecoveryReport of this start, if any (engine.runtime.recovery)."""
    return getattr(getattr(engine, "keeper", None), "report", None)


@dataclass(slots=True)
class EventNotices:
    """Remembers what was announced; :meth:`new_rejections` returns only this run's new ones."""

    seen: set[str] = field(default_factory=set)
    recovery_shown: bool = False

    def new_rejections(
        self, snap: EngineSnapshot, restored: frozenset[str] | None
    ) -> list[OrderRow]:
        rejected = [r for r in snap.orders if r.status == "rejected"]
        if restored is None:  # recovery is still bringing earlier runs' orders back
            self.seen.update(r.key for r in rejected)
            return []
        new = [r for r in rejected if r.key not in self.seen and r.key not in restored]
        self.seen.update(r.key for r in rejected)
        return new

    def recovery_notice(self, snap: EngineSnapshot, engine: Any) -> tuple[str, str] | None:
        """(text, severity) of the one notice after an unclean stop, once recovery is over."""
        if self.recovery_shown or not snap.recovered or restored_orders(engine) is None:
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
