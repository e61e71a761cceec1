"""What start-up recovery did after an unclean stop: restored orders and positions, fills booked
while the robot was down, problems. Opened with ``I`` (the recovery notice names the key)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.model.redact import redact
from engine.model.snapshot import EngineSnapshot


def recovery_details(snap: EngineSnapshot | None, report: Any) -> str:
    """The screen's text (markup): the report's lists and the restored book."""
    lines: list[str] = ["[b]Start-up recovery[/b]", ""]
    if snap is not None and not snap.recovered:
        lines.append("The previous run stopped cleanly: nothing had to be recovered.")
    if report is None:
        lines.append("No recovery report (the state store is off, or start-up is not over).")
    else:
        lines.append(
            f"snapshot #{report.snapshot_seq} ({report.snapshot_ts or 'none'}), "
            f"{report.replayed} journal event(s) replayed in {report.seconds:.2f} s"
            + (", the simulated market started afresh" if report.fresh_broker else "")
        )
        for title, items in (
            ("Problems (trading HALTED until checked)", report.problems),
            ("Fills booked while down", report.synthesized_fills),
            ("Orders whose state was settled with the broker", report.resolved),
            ("Orders found cancelled", report.cancelled),
            ("Unknown orders adopted from the broker", report.adopted),
            ("Damage in the stored state", report.damage),
        ):
            if items:
                lines += ["", f"[b]{title}[/b] ({len(items)})"]
                lines += [f"  {escape(str(item))}" for item in items[:50]]
                if len(items) > 50:
                    lines.append(f"  ... and {len(items) - 50} more (`avin status --json`)")
        if report.hint:
            lines += ["", escape(report.hint)]
    if snap is not None:
        lines += ["", f"[b]Open orders now[/b] ({len(snap.open_orders)})"]
        lines += [
            f"  {o.key[:8]} {o.instrument} {o.side} {o.lots} lot(s) {o.status}"
            for o in snap.open_orders[:30]
        ]
        held = [p for p in snap.positions if p.lots]
        lines += ["", f"[b]Positions now[/b] ({len(held)})"]
        lines += [f"  {p.account} {p.instrument} {p.lots:+d} lot(s) @ {p.avg_price}" for p in held]
    lines += ["", "The incidents log (incidents.log) has the same events. escape closes."]
    return redact("\n".join(lines))  # account ids masked with [privacy] hide_accounts


class RecoveryScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    RecoveryScreen {
        align: center middle;
        & > VerticalScroll {
            width: 90;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: round $warning;
            background: $surface;
            padding: 0 1;
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("I", "dismiss", "Close", show=False),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.text, id="recovery-text")
