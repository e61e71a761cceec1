"""The log view's dialogs: the search/filter prompt, an entry in full, the log file picker.

Modal screens that a :class:`~avin_tui.widgets.log_view.LogView` opens from its keys, wherever the
view is (the Log pane or the full-screen viewer).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from avin_tui.logview.files import LogFile
from avin_tui.logview.parse import Entry


class PromptScreen(ModalScreen[tuple[str, bool] | None]):
    """One line of text (and, for a search or a text filter, whether it is a regex)."""

    DEFAULT_CSS = """
    PromptScreen {
        align: center bottom;
    }
    PromptScreen > Vertical {
        width: 100%;
        height: auto;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    PromptScreen Input {
        border: none;
        height: 1;
        padding: 0;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+r", "toggle_regex", "Regex"),
    ]

    def __init__(self, title: str, value: str = "", regex: bool | None = False) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.regex = regex  # None: a field without the regex choice

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._label(), id="prompt-label")
            yield Input(self.value, id="prompt-input", select_on_focus=True)

    def _label(self) -> str:
        if self.regex is None:
            return f"{self.title_text}; esc cancels"
        kind = "regex" if self.regex else "plain text"
        return f"{self.title_text} ({kind}, ctrl+r switches; esc cancels)"

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def action_toggle_regex(self) -> None:
        if self.regex is not None:
            self.regex = not self.regex
            self.query_one("#prompt-label", Label).update(self._label())

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss((event.value, bool(self.regex)))


class EntryScreen(ModalScreen[None]):
    """One log entry in full: time, level, source, what it names, message and traceback."""

    DEFAULT_CSS = """
    EntryScreen {
        align: center middle;
    }
    EntryScreen > VerticalScroll {
        width: 90%;
        max-width: 120;
        height: auto;
        max-height: 90%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("enter", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, entry: Entry, file: str | None = None) -> None:
        super().__init__()
        self.entry = entry
        self.file = file  # the file the entry is in (None: the live pane, no line number)

    def describe(self) -> Text:
        """The fields (names in bold) and the whole message with its traceback, unwrapped."""
        head = self.entry.head
        rows = [
            ("time", head.ts or "-"),
            ("level", head.level or "-"),
            ("source", head.source or "-"),
            *self.entry.fields().items(),
            *((k, str(v)) for k, v in head.extra.items() if k not in ("order", "instrument")),
        ]
        if self.file is not None:
            rows.append(("line", f"{self.entry.line + 1} of {self.file}"))
        width = max(len(k) for k, _ in rows)
        text = Text()
        for key, value in rows:
            text.append(f"{key:<{width}}", style="bold")
            text.append(f"  {value}\n")
        text.append("\n" + self.entry.text)
        return text

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "Log entry (esc closes)"
            yield Static(self.describe(), id="entry-text")

    def action_close(self) -> None:
        self.dismiss(None)


class PickerScreen(ModalScreen[Path | None]):
    """The log files: this run's, the rotated ones of earlier runs, the incidents."""

    DEFAULT_CSS = """
    PickerScreen {
        align: center middle;
    }
    PickerScreen > OptionList {
        width: auto;
        min-width: 50;
        max-width: 90%;
        height: auto;
        max-height: 80%;
        border: round $accent;
        background: $surface;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, files: list[LogFile]) -> None:
        super().__init__()
        self.files = files

    def compose(self) -> ComposeResult:
        options = OptionList(*(Option(f.label, id=str(f.path)) for f in self.files))
        options.border_title = "Open a log (enter)"
        options.border_subtitle = str(self.files[0].path.parent) if self.files else ""
        yield options

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(Path(str(event.option.id)))

    def action_cancel(self) -> None:
        self.dismiss(None)
