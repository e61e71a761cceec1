"""One saved sweep: its rows in a table sortable by any column (click a header, or ``s`` on the
column under the cursor; again reverses), and its metric over two parameters as a heatmap (``p``
the next parameter pair, ``m`` the next metric; a one-parameter sweep shows bars). The CSV is read
in a worker thread; escape goes back to the list."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from avin_tui.widgets.sweep_heatmap import CELL_WIDTH, heat, render_bars, render_heatmap, short
from engine.backtest.sweep_storage import SavedSweep

DEFAULT_METRIC = "net_pnl"


@dataclass(frozen=True, slots=True)
class NumCell:
    """A table cell shown short and right-aligned, sorted by its exact value."""

    value: Any

    def __rich__(self) -> Text:
        return Text(short(self.value), justify="right")


def sort_key(reverse: bool) -> Any:
    """Empty cells last whichever the direction."""

    def key(cell: NumCell) -> tuple[bool, Any]:
        missing = cell.value is None
        return (not missing if reverse else missing, 0 if missing else cell.value)

    return key


class SweepScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    SweepScreen {
        align: center middle;
        & > Vertical {
            width: 95%;
            height: 95%;
            border: round $accent;
            background: $surface;
        }
        & #sweep-title { height: auto; padding: 0 1; }
        & DataTable { height: 1fr; min-height: 4; }
        & #heat-box { height: auto; padding: 0 1; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Back"),
        Binding("s", "sort", "Sort by column"),
        Binding("p", "next_pair", "Parameters"),
        Binding("m", "next_metric", "Metric"),
    ]

    def __init__(self, sweep: SavedSweep) -> None:
        super().__init__()
        self.sweep = sweep
        self.frame: pl.DataFrame | None = None
        self.pairs: list[tuple[str, str | None]] = []
        self.pair = 0
        self.metrics: list[str] = []
        self.metric = DEFAULT_METRIC
        self.sorted_by: tuple[str, bool] | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._title(), id="sweep-title")
            yield DataTable(id="sweep-rows", cursor_type="cell", zebra_stripes=True)
            with ScrollableContainer(id="heat-box"):  # a big grid scrolls both ways
                yield Static("reading the sweep ...", id="heatmap")

    def _title(self) -> Text:
        meta = self.sweep.meta
        source = meta.get("source") or {}
        where = source.get("data") or " ".join(source.get("tickers") or [])
        title = Text.assemble((f"sweep {self.sweep.id}", "bold"), f"  {self.sweep.strategy}")
        title.append(f"  {meta.get('rows', '?')} of {meta.get('combinations', '?')} runs")
        if where:
            title.append(f"  on {where}")
        title.append(
            "\ns sort (again: reverse)  p parameters  m metric  tab heatmap  esc back",
            "dim",
        )
        if self.sorted_by:
            column, reverse = self.sorted_by
            title.append(f"  sorted by {column} {'highest' if reverse else 'lowest'} first")
        return title

    def on_mount(self) -> None:
        self.run_worker(self.sweep.rows, thread=True, name="sweep-rows", exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "sweep-rows":
            return
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.query_one("#heatmap", Static).update(
                f"cannot read {self.sweep.folder / 'sweep.csv'}: {error}"
            )
        elif event.state == WorkerState.SUCCESS and isinstance(event.worker.result, pl.DataFrame):
            self._loaded(event.worker.result)

    def _loaded(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        params = [p for p in self.sweep.parameters if p in frame.columns]
        self.metrics = [m for m in (self.sweep.metrics or []) if m in frame.columns]
        if self.metric not in self.metrics and self.metrics:
            self.metric = self.metrics[0]
        if len(params) >= 2:
            self.pairs = list(itertools.combinations(params, 2))
        elif params:
            self.pairs = [(params[0], None)]
        table = self.query_one(DataTable)
        for name in frame.columns:
            table.add_column(name, key=name)
        table.add_rows([NumCell(v) for v in row] for row in frame.iter_rows())
        self._draw()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.sort_by(str(event.column_key.value))

    def action_sort(self) -> None:
        table = self.query_one(DataTable)
        if self.frame is None or not table.columns:
            return
        column = list(table.columns)[table.cursor_coordinate.column]
        self.sort_by(str(column.value))

    def sort_by(self, column: str) -> None:
        """Sorts by ``column``, highest first; the same column again reverses the order."""
        if self.frame is None:
            return
        reverse = self.sorted_by != (column, True)
        self.sorted_by = (column, reverse)
        self.query_one(DataTable).sort(column, key=sort_key(reverse), reverse=reverse)
        self.query_one("#sweep-title", Static).update(self._title())

    def action_next_pair(self) -> None:
        if self.pairs:
            self.pair = (self.pair + 1) % len(self.pairs)
            self._draw()

    def action_next_metric(self) -> None:
        if self.metrics:
            self.metric = self.metrics[(self.metrics.index(self.metric) + 1) % len(self.metrics)]
            self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _too_wide(self, x: str) -> bool:
        """Whether the values of ``x`` as columns are wider than the screen."""
        assert self.frame is not None
        width = self.query_one("#heat-box", ScrollableContainer).size.width or self.size.width or 80
        return (self.frame[x].n_unique() + 1) * CELL_WIDTH > width - 2

    def _draw(self) -> None:
        if self.frame is None:
            return
        target = self.query_one("#heatmap", Static)
        if not self.pairs or not self.metrics or self.frame.height == 0:
            target.update("no rows or no parameters to map")
            return
        x, y = self.pairs[self.pair]
        if (
            y is not None
            and self._too_wide(x)
            and self.frame[x].n_unique() > self.frame[y].n_unique()
        ):
            x, y = y, x  # the parameter with more values goes down: rows are cheaper than columns
        h = heat(self.frame, self.sweep.parameters, x, y, self.metric)
        box = self.query_one("#heat-box", ScrollableContainer)
        room = box.size.width or (self.size.width or 80) - 8
        if y is None:
            text = render_bars(h, max(30, min(room - 4, 72)))  # room for a scroll bar
            text.no_wrap, text.overflow = True, "crop"
        else:
            text = render_heatmap(h, no_wrap=True)
        target.update(text)
        lines = text.plain.splitlines()
        target.styles.width = max(map(len, lines))  # wider than the box: it scrolls sideways
        wide = max(map(len, lines)) > room - 2  # a horizontal scroll bar takes a line
        tall = max(4, int((self.query_one(Vertical).size.height or self.size.height or 24) * 0.5))
        box.styles.height = min(len(lines) + wide, tall)
