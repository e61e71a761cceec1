"""The full-screen log viewer (``L``); its dialogs are the log view's (``widgets.log_dialogs``).

The viewer shows one file of any size (``avin.log`` by default, ``i`` incidents.log, ``r`` older
runs) with the keys of the Log pane (``avin_tui.widgets.log_view``); ``escape`` or ``L`` closes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer

from avin_tui.logview.sources import FileSource
from avin_tui.widgets.log_view import LogView


class LogViewerScreen(Screen[None]):
    """A log file full screen, read a screen at a time (see ``avin_tui.widgets.log_view``)."""

    DEFAULT_CSS = """
    LogViewerScreen LogView {
        border: round $primary;
        height: 1fr;
    }
    LogViewerScreen LogView:focus {
        border: round $accent;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("L", "close", "Close", show=False),
    ]

    def __init__(self, path: Path, state: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.path = path
        self.initial_state = state or {}

    def compose(self) -> ComposeResult:
        yield self._view(self.path)
        yield Footer(compact=True)

    def _view(self, path: Path) -> LogView:
        view = LogView(FileSource(path), follow=True)
        view.border_title = path.name  # the folder: in the picker (r)
        self._current = view
        return view

    @property
    def view(self) -> LogView:
        """The view of the file shown now."""
        return self._current

    def on_mount(self) -> None:
        self._start(self.view)

    _current: LogView

    def _start(self, view: LogView) -> None:
        source = view.source
        assert isinstance(source, FileSource)
        source.index.scan(8 << 20)  # the first screen at once; the rest in a worker
        view.restore_state(self.initial_state)
        view.focus()
        source.scanning = True  # (before the worker starts: the view must not scan meanwhile)
        view.in_thread(source.index_all, "index")

    def open(self, path: Path) -> None:
        """Show another file here (or the same path again), with the same filters and search."""
        old = self.view
        self.initial_state = old.get_state()
        self.path = path
        self.mount(view := self._view(path), before=old)
        old.remove()
        if isinstance(old.source, FileSource):
            old.source.close()
        self.call_after_refresh(self._start, view)

    def on_log_view_open_file(self, message: LogView.OpenFile) -> None:
        """``i``/``r`` in the viewer: the file replaces the one shown here."""
        message.stop()
        self.open(message.path)

    def on_unmount(self) -> None:
        for view in self.query(LogView):
            if isinstance(view.source, FileSource):
                view.source.close()

    def action_close(self) -> None:
        self.dismiss(None)
