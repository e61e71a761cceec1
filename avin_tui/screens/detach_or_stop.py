"""``q`` in an attached app (``avin attach``): detach (the robot keeps running) or stop the robot."""

from __future__ import annotations

from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

AttachChoice = Literal["detach", "stop", "stay"]


class DetachOrStopScreen(ModalScreen[AttachChoice]):
    DEFAULT_CSS = """
    DetachOrStopScreen {
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

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question(), id="detach-question")
            with Horizontal():
                yield Button("Detach (d)", id="detach", variant="primary")
                yield Button("Stop robot (s)", id="stop", variant="error")
                yield Button("Stay (n)", id="stay")

    def on_mount(self) -> None:
        self.query_one("#detach", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        choice = event.button.id
        if choice in ("detach", "stop", "stay"):
            self.dismiss(choice)  # type: ignore[arg-type]

    def action_choose(self, choice: AttachChoice) -> None:
        self.dismiss(choice)
