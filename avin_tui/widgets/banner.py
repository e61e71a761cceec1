"""A one-line banner under the status bar: shown for a halt or an engine crash, hidden otherwise."""

from __future__ import annotations

from textual.widgets import Static


class Banner(Static):
    DEFAULT_CSS = """
    Banner {
        height: auto;
        padding: 0 1;
        display: none;
        &.-shown { display: block; }
    }
    """

    text = ""

    def show_message(self, text: str, *, info: bool = False) -> None:
        if self.text != text:
            self.text = text
            self.update(text)
        self.set_class(info, "-info")
        self.add_class("-shown")

    def hide(self) -> None:
        self.remove_class("-shown")

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")
