"""Quit confirmation, shown when orders are still open."""

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
            width: 64;
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

    def __init__(self, open_orders: int) -> None:
        super().__init__()
        self.open_orders = open_orders

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                f"[b]{self.open_orders} open order(s).[/b] Quit anyway?\n"
                "[b]y[/b] quit and leave them working   [b]k[/b] cancel all (kill) and quit   "
                "[b]n[/b] stay",
                id="quit-question",
            )
            with Horizontal():
                yield Button("Quit (y)", id="quit", variant="warning")
                yield Button("Kill+quit (k)", id="kill", variant="error")
                yield Button("Stay (n)", id="stay", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        choice = event.button.id
        if choice in ("quit", "kill", "stay"):
            self.dismiss(choice)  # type: ignore[arg-type]

    def action_choose(self, choice: QuitChoice) -> None:
        self.dismiss(choice)
