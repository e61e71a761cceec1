"""A one-line banner under the status bar: shown for a halt or an engine crash, hidden otherwise.

It lies over the top edge of the panes (an absolutely placed overlay on the ``banner`` layer)
instead of pushing them down: showing or hiding it then repaints its own line, not every pane
resized by a line (which also rebuilt the chart) just as trading halts.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class Banner(Static):
    DEFAULT_CSS = """
    Banner {
        layer: banner;
        position: absolute;
        offset: 0 1;
        width: 100%;
        height: auto;
        padding: 0 1;
        display: none;
        &.-shown { display: block; }
    }
    """

    text = ""

    def show_message(self, text: str, *, info: bool = False) -> None:
        if self.text != text:
            # a new text on as many lines as the old one needs no new layout (a layout costs a
            # frame): the banner's text changes a few times while a kill completes
            same_height = self.shown and self._height_of(text) == self._height_of(self.text)
            self.text = text
            self.update(text, layout=not same_height)
        self.set_class(info, "-info")
        self.add_class("-shown")

    def _height_of(self, text: str) -> int:
        width = self.content_size.width
        if width <= 0:
            return -1  # not laid out yet: never "the same"
        try:
            return Content.from_markup(text).get_height(self.styles.get_rules(), width)
        except Exception:  # markup that does not parse: let the layout decide
            return -1

    def hide(self) -> None:
        self.remove_class("-shown")

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")
