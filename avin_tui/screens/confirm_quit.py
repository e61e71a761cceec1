"""Quit confirmation, shown when orders or positions are still open."""

from __future__ import annotations

from typing import ClassVar, Literal

from textual.binding import Binding, BindingType
from textual.widgets import Button

from avin_tui.screens.choice_dialog import ChoiceDialog

QuitChoice = Literal["quit", "kill", "stay"]


class ConfirmQuitScreen(ChoiceDialog[QuitChoice]):
    QUESTION_ID = "quit-question"
    FOCUSED = "stay"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "choose('quit')", "Quit"),
        Binding("k", "choose('kill')", "Kill+quit"),
        Binding("n", "choose('stay')", "Stay"),
        Binding("escape", "choose('stay')", "Stay", show=False),
    ]

    def __init__(self, open_orders: int, open_positions: int = 0) -> None:
        super().__init__()
        self.open_orders = open_orders
        self.open_positions = open_positions

    def question(self) -> str:
        what = []
        if self.open_orders:
            what.append(f"{self.open_orders} open order(s)")
        if self.open_positions:
            what.append(f"{self.open_positions} open position(s)")
        lines = [f"[b]{' and '.join(what)}.[/b] Quit anyway?"]
        if self.open_positions:
            lines.append("Positions stay open at the broker; the strategies take them up again")
            lines.append("at the next start (F flattens them first).")
        keys = "[b]y[/b] quit" + (", orders keep working" if self.open_orders else "")
        if self.open_orders:
            keys += "   [b]k[/b] cancel all (kill) and quit"
        lines.append(f"{keys}   [b]n[/b] stay")
        return "\n".join(lines)

    def buttons(self) -> list[Button]:
        buttons = [Button("Quit (y)", id="quit", variant="warning")]
        if self.open_orders:
            buttons.append(Button("Kill+quit (k)", id="kill", variant="error"))
        buttons.append(Button("Stay (n)", id="stay", variant="primary"))
        return buttons

    def action_choose(self, choice: QuitChoice) -> None:
        if choice == "kill" and not self.open_orders:
            return  # no orders to cancel: k does nothing here
        self.dismiss(choice)
