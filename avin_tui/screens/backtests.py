"""Saved backtests and sweeps: a list with their summaries, and the equity and drawdown curves of
the highlighted backtest drawn in braille dots (``b`` in the app; escape closes). A sweep is marked
``sweep`` in the strategy column, with its runs and grid; enter opens it (its sortable table and
heatmap, avin_tui/screens/sweep.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # [row][column] in a cell


def braille_plot(values: Sequence[float], width: int, height: int) -> list[str]:
    """``values`` as a line ``width`` cells wide and ``height`` rows high (2x4 dots per cell).

    Points are sampled evenly; consecutive points are joined vertically so the line has no holes.
    """
    width, height = max(1, width), max(1, height)
    cells = [[0] * width for _ in range(height)]
    if not values:
        return ["\u2800" * width for _ in range(height)]
    cols, rows = width * 2, height * 4
    n = len(values)
    sampled = [values[min(n - 1, round(i * (n - 1) / max(1, cols - 1)))] for i in range(cols)]
    lo, hi = min(sampled), max(sampled)
    span = hi - lo or 1.0

    def y_of(v: float) -> int:
        return rows - 1 - round((v - lo) / span * (rows - 1))

    prev: int | None = None
    for x, v in enumerate(sampled):
        y = y_of(v)
        ys = range(min(y, prev), max(y, prev) + 1) if prev is not None else (y,)
        for yy in ys:
            cells[yy // 4][x // 2] |= _DOTS[yy % 4][x % 2]
        prev = y
    return ["".join(chr(0x2800 + c) for c in row) for row in cells]


def _num(value: Any, digits: int = 2) -> str:
    if value is None or value == "":
        return "-"
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def summary_row(doc: dict[str, Any]) -> tuple[str, ...]:
    sections: list[dict[str, Any]] = doc.get("sections", [])
    total: dict[str, Any] = next((s for s in sections if s.get("name") == "TOTAL"), {})
    summary, metrics = total.get("summary", {}), total.get("metrics", {})
    meta = doc.get("meta", {})
    return (
        str(doc.get("id", ""))[:15],
        str(doc.get("strategy", "")),
        ",".join(i.split("_")[-1] for i in meta.get("instruments", [])),
        str(summary.get("total", 0)),
        _num(summary.get("profit")),
        _num(summary.get("percent_profitable"), 1),
        _num(metrics.get("max_drawdown")),
        _num(metrics.get("sharpe")),
    )


def sweep_row(sweep: Any) -> tuple[str, ...]:
    """A saved sweep's line: its runs and the grid in place of the trades and metrics."""
    meta = sweep.meta
    grid = meta.get("grid") or {}
    return (
        sweep.id[:15],
        f"sweep {sweep.strategy}",
        ",".join(str(i).split("_")[-1] for i in meta.get("instruments", [])),
        f"{meta.get('rows', '?')} runs",
        " x ".join(f"{name}:{len(values)}" for name, values in grid.items()),
        "",
        "",
        "",
    )


class BacktestsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    BacktestsScreen {
        align: center middle;
        & > Vertical {
            width: 95%;
            height: 90%;
            border: round $accent;
            background: $surface;
        }
        & DataTable { height: 1fr; }
        & #curves { height: auto; padding: 0 1; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("b", "dismiss", "Close", show=False),
        Binding("r", "reload", "Reload"),
    ]
    COLUMNS = ("id", "strategy", "tickers", "trades", "profit", "win %", "max DD", "Sharpe")

    def __init__(self, home: Any = None, curve_height: int = 5, sweeps_home: Any = None) -> None:
        super().__init__()
        self.home = home
        self.sweeps_home = sweeps_home
        self.curve_height = curve_height
        self._items: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield DataTable(id="backtests", cursor_type="row", zebra_stripes=True)
            yield Static("", id="curves")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*self.COLUMNS)
        self.action_reload()

    def action_reload(self) -> None:
        """Lists the saved backtests and sweeps in a worker thread (it reads their folders)."""
        self.run_worker(self._saved, thread=True, name="saved", exclusive=True, exit_on_error=False)

    def _saved(self) -> list[Any]:
        from engine.backtest.storage import list_backtests
        from engine.backtest.sweep_storage import list_sweeps

        items: list[Any] = [*list_backtests(self.home), *list_sweeps(self.sweeps_home)]
        return sorted(items, key=lambda item: item.id, reverse=True)  # ids start with a time

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "saved":
            return
        if event.state == WorkerState.ERROR:
            self.query_one("#curves", Static).update(
                Text(f"cannot list the saved backtests: {event.worker.error}")
            )
        elif event.state == WorkerState.SUCCESS and isinstance(event.worker.result, list):
            self._fill(event.worker.result)

    def _fill(self, items: list[Any]) -> None:
        from engine.backtest.sweep_storage import SavedSweep

        table = self.query_one(DataTable)
        table.clear()
        self._items = items
        for item in self._items:
            row = sweep_row(item) if isinstance(item, SavedSweep) else summary_row(item.doc)
            table.add_row(*row, key=f"{type(item).__name__}:{item.id}")
        if not self._items:
            self.query_one("#curves", Static).update(
                "No saved backtests yet: run `avin backtest STRATEGY --tickers ... "
                "--from ... --to ...` or `--data FILE`."
            )
        else:
            self._show(0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.cursor_row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        from avin_tui.screens.sweep import SweepScreen
        from engine.backtest.sweep_storage import SavedSweep

        if 0 <= event.cursor_row < len(self._items):
            item = self._items[event.cursor_row]
            if isinstance(item, SavedSweep):
                self.app.push_screen(SweepScreen(item))

    def _show(self, index: int) -> None:
        from engine.backtest.sweep_storage import SavedSweep

        if not 0 <= index < len(self._items):
            return
        item = self._items[index]
        if isinstance(item, SavedSweep):
            self._show_sweep(item)
            return
        equity = item.equity("TOTAL")
        width = max(20, (self.size.width or 100) - 12)
        curves = self.query_one("#curves", Static)
        if equity.height == 0:
            curves.update(f"{item.id}: no equity curve saved")
            return
        eq = equity["equity"].to_list()
        dd = equity["drawdown"].to_list()
        lines = [f"[b]{item.id}[/b] {item.strategy}  equity {_num(eq[0])} -> {_num(eq[-1])}"]
        lines += [f"[green]{row}[/green]" for row in braille_plot(eq, width, self.curve_height)]
        lines.append(f"drawdown (max {_num(min(dd))})")
        lines += [f"[red]{row}[/red]" for row in braille_plot(dd, width, 3)]
        curves.update("\n".join(lines))

    def _show_sweep(self, item: Any) -> None:
        meta = item.meta
        grid = meta.get("grid") or {}
        values = "  ".join(
            f"{name}={','.join(str(v) for v in vals)}" for name, vals in grid.items()
        )
        fixed = "  ".join(f"{k}={v}" for k, v in (meta.get("params") or {}).items())
        text = Text.assemble(
            (item.id, "bold"),
            f" sweep of {item.strategy}: {meta.get('rows', '?')} of "
            f"{meta.get('combinations', '?')} runs",
            "" if meta.get("complete", True) else " (stopped early)",
            f"\ngrid: {values}" + (f"  fixed: {fixed}" if fixed else ""),
            ("\nenter: its table and heatmap", "dim"),
        )
        self.query_one("#curves", Static).update(text)
