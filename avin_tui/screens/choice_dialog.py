"""A modal question answered by one key or button: the quit confirmation and, in an attached
app, detach-or-stop. A subclass gives the question, its buttons and its key bindings; the answer
is the chosen button's id."""

from __future__ import annotations

from typing import Generic, TypeVar

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

C = TypeVar("C", bound=str)


class ChoiceDialog(ModalScreen[C], Generic[C]):
    DEFAULT_CSS = """
    ChoiceDialog {
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
    QUESTION_ID = "question"  # the id of the question's Static (tests read it)
    FOCUSED = "stay"  # the button focused at first

    def question(self) -> str:
        raise NotImplementedError

    def buttons(self) -> list[Button]:
        """The answers, left to right; each button's id is the choice it stands for."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question(), id=self.QUESTION_ID)
            with Horizontal():
                yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one(f"#{self.FOCUSED}", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id:
            self.action_choose(event.button.id)  # type: ignore[arg-type]

    def action_choose(self, choice: C) -> None:
        self.dismiss(choice)
