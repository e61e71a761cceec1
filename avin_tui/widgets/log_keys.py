"""The key map of a :class:`~avin_tui.widgets.log_view.LogView`, and what its keys do beyond
moving the cursor.

The prompts (``/`` search, ``f`` text filter, ``S`` source filter), ``n``/``N`` through the
matches, ``e``/``E`` to the next warning or error (in a worker thread over a big file), ``enter``
the entry in full, ``i`` incidents.log and ``r`` older runs' logs in the full-screen viewer.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.binding import Binding, BindingType

from avin_tui.logview.search import Query, QueryError, lines_matching_text
from avin_tui.logview.sources import FileSource
from avin_tui.widgets.log_dialogs import EntryScreen, PickerScreen, PromptScreen

if TYPE_CHECKING:
    from avin_tui.widgets.log_view import LogView

# a warning or an error in avin.log (either time format), or any incident
ALERT = re.compile(
    r"^(?:\d{4}-\d\d-\d\d[T ][\d:.,]+Z?\s+(?:WARNING|WARN|ERROR|CRITICAL)\s|\{\"ts\")",
    re.MULTILINE,
)
SCAN_SYNC_LINES = 200_000  # a file this small is looked through for e/E on the UI thread
MAX_HOPS = 100_000  # matches looked at for one n/N (those hidden by a filter are skipped)
BINDINGS: list[BindingType] = [
    Binding("up", "cursor(-1)", "Up", show=False),
    Binding("down", "cursor(1)", "Down", show=False),
    Binding("pageup", "page(-1)", "PgUp", show=False),
    Binding("pagedown", "page(1)", "PgDn", show=False),
    Binding("home", "home", "Top", show=False),
    Binding("end", "follow", "Follow", show=False),
    Binding("slash", "search", "Search", key_display="/"),
    Binding("n", "next_match(1)", "Next", show=False),
    Binding("N", "next_match(-1)", "Prev", show=False),
    Binding("v", "cycle_level", "Level"),
    Binding("S", "filter_source", "Source", show=False),
    Binding("f", "filter_text", "Filter", show=False),
    Binding("x", "clear", "Clear", show=False),
    Binding("enter", "details", "Details", show=False),
    Binding("w", "wrap", "Wrap", show=False),
    Binding("e", "next_alert(1)", "Next warn/err", show=False),
    Binding("E", "next_alert(-1)", "Prev warn/err", show=False),
    Binding("i", "incidents", "Incidents", show=False),
    Binding("r", "runs", "Runs", show=False),
]


# --- prompts ----------------------------------------------------------------------------------


def ask_search(view: LogView) -> None:
    def done(answer: tuple[str, bool] | None) -> None:
        if answer is not None and view.set_search(Query(*answer)) and answer[0]:
            view.jump_to_first = not goto_match(view, 1, from_current=True)

    query = view.search_query
    view.app.push_screen(PromptScreen("Search", query.text, query.regex or False), done)


def ask_text_filter(view: LogView) -> None:
    def done(answer: tuple[str, bool] | None) -> None:
        if answer is not None:
            try:
                Query(*answer).compile()
            except QueryError as exc:
                view.app.notify(str(exc), title="filter", severity="warning")
                return
            view.set_filters(text=Query(*answer))

    view.app.push_screen(
        PromptScreen("Show only lines with", view.text_filter.text, view.text_filter.regex),
        done,
    )


def ask_source_filter(view: LogView) -> None:
    def done(answer: tuple[str, bool] | None) -> None:
        if answer is not None:
            view.set_filters(source=answer[0])

    seen = sources_on_screen(view)
    hint = ", ".join(seen[:4]) if seen else "engine, orders, strategy"
    view.app.push_screen(PromptScreen(f"Source (e.g. {hint})", view.source_filter, None), done)


def sources_on_screen(view: LogView) -> list[str]:
    """The sources of the lines on screen, most frequent first (a hint for ``S``)."""
    counts: dict[str, int] = {}
    for row, _ in view.painter.layout():
        head = view.painter.head(view.line_of_row(row))[1]
        if head.level is not None and head.source:
            name = head.source.removeprefix("avin.")
            counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda name: -counts[name])


# --- matches and alerts -----------------------------------------------------------------------


def goto_match(view: LogView, step: int, from_current: bool = False) -> bool:
    """Move to the next (``step`` 1) or previous (-1) match shown; False with a note if none."""
    scan = view.search_scan
    if scan is None:
        return False
    current = view.current_line
    if current is None:
        view.say("nothing to search")
        return False
    with scan.lock:
        found = len(scan.found)
    if found == 0:
        view.say("searching…" if view.searching else "no match")
        return False
    if step > 0:
        k = scan.index_of(current if from_current else current + 1)
    else:
        k = scan.index_of(current) - 1
    for hop in range(min(found, MAX_HOPS)):
        i = (k + hop * step) % found
        if view.move_to_line(scan.get(i)):
            wrapped = not from_current and ((step > 0 and i < k) or (step < 0 and i > k))
            view.say("search wrapped" if wrapped else "")
            return True
    view.say("filtering…" if view.filtering else "the matches are filtered out")
    return False


def next_alert(view: LogView, step: int) -> None:
    """``e``/``E``: the next or previous warning or error (a big file: in a worker thread)."""
    current = view.current_line
    if current is None:
        return
    if isinstance(view.source, FileSource) and view.source.count > SCAN_SYNC_LINES:
        view.say("looking for warnings…")
        view.workers.cancel_group(view, "seek")
        view.in_thread(lambda stop: _seek_alert(view, current, step, stop), "seek")
    else:
        _seek_alert(view, current, step, None)


def _seek_alert(view: LogView, current: int, step: int, stop: Callable[[], bool] | None) -> None:
    found: int | None = None
    source = view.source
    blocks = source.blocks(current + 1) if step > 0 else source.blocks_before(current)
    for start, count, text in blocks:
        if stop is not None and stop():
            return
        hits = [n for n in lines_matching_text(text, ALERT, start) if n < start + count]
        if step < 0:
            hits.reverse()
        found = next((n for n in hits if view.row_of_line(n) is not None), None)
        if found is not None:
            break
    if stop is not None:  # on the worker's thread
        with contextlib.suppress(RuntimeError):  # the app is closing
            view.app.call_from_thread(_seek_done, view, found, step)
    else:
        _seek_done(view, found, step)


def _seek_done(view: LogView, line: int | None, step: int) -> None:
    if line is not None and view.move_to_line(line):
        view.say("")
    else:
        view.say(f"no {'later' if step > 0 else 'earlier'} warning or error")


# --- entries and files ------------------------------------------------------------------------


def show_details(view: LogView) -> None:
    line = view.current_line
    if line is None:
        return
    file = view.source.name if isinstance(view.source, FileSource) else None
    view.app.push_screen(EntryScreen(view.entry(line), file))


def logs_dir(view: LogView) -> Path:
    """The folder of the file shown, else of the engine's log book, else the logs home."""
    if isinstance(view.source, FileSource):
        return view.source.path.parent
    book = getattr(getattr(view.app, "engine", None), "logbook", None)
    path = getattr(book, "log_path", None)
    if isinstance(path, Path):
        return path.parent
    from engine.paths import homes

    return homes().logs


def pick_run(view: LogView) -> None:
    from avin_tui.logview.files import log_files

    files = log_files(view.logs_dir())
    if not files:
        view.app.notify(f"no log files in {view.logs_dir()}", severity="warning")
        return

    def done(path: Path | None) -> None:
        if path is not None:
            open_file(view, path)

    view.app.push_screen(PickerScreen(files), done)


def open_file(view: LogView, path: Path) -> None:
    """Asks whoever hosts the view to show ``path`` full screen (the viewer shows it in place)."""
    if not path.is_file():
        view.app.notify(f"{path} does not exist (yet)", title="log", severity="warning")
        return
    view.post_message(view.OpenFile(path, view.get_state()))
