"""``q`` in an attached app (``avin attach``): detach (the robot keeps running) or stop the robot."""

from __future__ import annotations

from typing import ClassVar, Literal

from textual.binding import Binding, BindingType
from textual.widgets import Button

from avin_tui.screens.choice_dialog import ChoiceDialog

AttachChoice = Literal["detach", "stop", "stay"]


class DetachOrStopScreen(ChoiceDialog[AttachChoice]):
    QUESTION_ID = "detach-question"
    FOCUSED = "detach"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "choose('detach')", "Detach"),
        Binding("s", "choose('stop')", "Stop robot"),
        Binding("n", "choose('stay')", "Stay"),
        Binding("escape", "choose('stay')", "Stay", show=False),
    ]

    def __init__(self, where: str, open_orders: int = 0, open_positions: int = 0) -> None:
        super().__init__()
        self.where = where
        self.open_orders = open_orders
        self.open_positions = open_positions

    def question(self) -> str:
        lines = [f"[b]Attached to the robot on {self.where}.[/b]"]
        lines.append("[b]d[/b] detach: this screen closes, the robot keeps running")
        kept = []
        if self.open_orders:
            kept.append(f"its {self.open_orders} open order(s)")
        if self.open_positions:
            kept.append(f"its {self.open_positions} position(s)")
        tail = f" ({' and '.join(kept)} kept)" if kept else ""
        lines.append(f"[b]s[/b] stop the robot cleanly{tail}, then close")
        lines.append("[b]n[/b] stay")
        return "\n".join(lines)

    def buttons(self) -> list[Button]:
        return [
            Button("Detach (d)", id="detach", variant="primary"),
            Button("Stop robot (s)", id="stop", variant="error"),
            Button("Stay (n)", id="stay"),
        ]
