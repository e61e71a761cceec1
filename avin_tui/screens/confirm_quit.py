"""Quit confirmation, shown when orders or positions are still open."""

from __future__ import annotations

from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

QuitChoice = Literal["quit", "kill", "stay"]


class ConfirmQuitScreen(ModalScreen[QuitChoice]):
    DEFAULT_CSS = """
    ConfirmQuitScreen {
        align: center middle;
        & > Vertical {
            width: 74;
            max-width: 100%;
            height: auto;
            border: thick $warning;
            background: $surface;
            padding: 0 1;
        }
        & Horizontal { height: auto; align-horizontal: center; }
        & Button { margin: 0 1; min-width: 10; }
    }
    """
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

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question(), id="quit-question")
            with Horizontal():
                yield Button("Quit (y)", id="quit", variant="warning")
                if self.open_orders:
                    yield Button("Kill+quit (k)", id="kill", variant="error")
                yield Button("Stay (n)", id="stay", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        choice = event.button.id
        if choice in ("quit", "kill", "stay"):
            self.dismiss(choice)  # type: ignore[arg-type]

    def action_choose(self, choice: QuitChoice) -> None:
        if choice == "kill" and not self.open_orders:
            return  # no orders to cancel: k does nothing here
        self.dismiss(choice)
