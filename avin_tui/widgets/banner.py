"""A banner under the status bar: shown for a halt or an engine crash, hidden otherwise.

It takes its own line(s) between the status bar and the panes (a long reason wraps), so it never
covers a pane's title or column headers. Showing it lays the screen out anew, which costs a frame
and resizes every pane (the chart rebuilds): on the kill path that work would compete with the
engine sending the cancels. So a banner that appears is revealed ``reveal_delay`` seconds after it
is asked for, when the kill has long been acted on; meanwhile the status bar's state field (which
changes without a layout) already says HALTED. A new text on as many lines as the old one is only
a repaint of the banner's own lines.
"""

from __future__ import annotations

from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

REVEAL_DELAY = 0.3  # seconds: the cancels of a kill are out within a few ms


class Banner(Static):
    DEFAULT_CSS = """
    Banner {
        width: 100%;
        height: auto;
        padding: 0 1;
        display: none;
        &.-shown { display: block; }
    }
    """

    text = ""
    reveal_delay = REVEAL_DELAY

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._wanted = False
        self._reveal_timer: Timer | None = None

    def show_message(self, text: str, *, info: bool = False) -> None:
        if self.text != text:
            same_height = self.revealed and self._height_of(text) == self._height_of(self.text)
            self.text = text
            self.update(text, layout=not same_height)
        self.set_class(info, "-info")
        self._wanted = True
        if not self.revealed and self._reveal_timer is None:
            self._reveal_timer = self.set_timer(self.reveal_delay, self.reveal, name="banner")

    def reveal(self) -> None:
        """Lay the banner out now (the timer does this ``reveal_delay`` after a show)."""
        if self._reveal_timer is not None:
            self._reveal_timer.stop()
            self._reveal_timer = None
        if self._wanted:
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
        self._wanted = False
        if self._reveal_timer is not None:
            self._reveal_timer.stop()
            self._reveal_timer = None
        self.remove_class("-shown")

    @property
    def shown(self) -> bool:
        """Asked to show (it may still be waiting for its reveal)."""
        return self._wanted

    @property
    def revealed(self) -> bool:
        """Laid out on screen."""
        return self.has_class("-shown")
