"""Before trading real money: the user types LIVE, or avin quits without starting the engine."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

WORD = "LIVE"


class LiveConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    LiveConfirmScreen {
        align: center middle;
        & > Vertical {
            width: 72;
            max-width: 100%;
            height: auto;
            border: thick $error;
            background: $surface;
            padding: 0 1;
        }
        & #live-error { color: $error; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "refuse", "Quit")]

    def __init__(self, accounts: str = "") -> None:
        super().__init__()
        self.accounts = accounts

    def compose(self) -> ComposeResult:
        where = f" on {self.accounts}" if self.accounts else ""
        with Vertical():
            yield Static(
                f"[b]REAL MONEY[/b]: avin is about to trade in production{where}.\n"
                f"Type [b]{WORD}[/b] and Enter to start the engine; Escape quits.",
                id="live-question",
            )
            yield Input(placeholder=WORD, id="live-input")
            yield Static("", id="live-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == WORD:
            self.dismiss(True)
            return
        self.query_one("#live-error", Static).update(f"type {WORD} exactly (or Escape to quit)")
        event.input.value = ""

    def action_refuse(self) -> None:
        self.dismiss(False)
