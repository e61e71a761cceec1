"""Scroll views that grow without laying out the whole screen.

Textual lays out the screen on every change of a widget's ``virtual_size`` (a table gaining a row,
a log gaining lines): the compositor re-arranges every widget, which under a fast feed costs a
frame several times a second. For a scroll view whose own size is set by the layout (``1fr``,
never ``auto``) only its scrollbars depend on the virtual size, so inside :meth:`quiet_resize` a
change updates the scrollbars instead; a scrollbar that has to appear or go still asks for a
layout itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self, cast

from textual.geometry import Region
from textual.widget import Widget


class QuietResize:
    """Mixed in before a scroll view (``class LogPane(QuietResize, Log)``).

    (A plain mixin, not a Widget subclass: Textual gives every Widget subclass its own
    ``can_focus`` and such, which would shadow the scroll view's.)
    """

    _quiet_resize = False

    @contextmanager
    def quiet_resize(self) -> Iterator[None]:
        """Virtual size changes made in this block update the scrollbars, not the layout."""
        previous, self._quiet_resize = self._quiet_resize, True
        try:
            yield
        finally:
            self._quiet_resize = previous

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        widget = cast(Widget, self)
        if layout and self._quiet_resize and widget.is_mounted and widget.size:
            layout = False
            # what the layout would do for this widget: scrollbars shown/hidden and resized
            # (showing or hiding one is a reactive that asks for a layout on its own)
            widget._scroll_update(widget.virtual_size)
        super().refresh(  # type: ignore[misc]
            *regions, repaint=repaint, layout=layout, recompose=recompose
        )
        return self
