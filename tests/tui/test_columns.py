"""Every screen usable at 80x24: tables show their most important columns whole (never a cut
cell), the log spans the width, the help fits; tables sort by a column and keep the cursor."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual.containers import VerticalScroll

from avin_tui.app import AvinApp
from avin_tui.screens.help import HELP, HelpScreen
from avin_tui.widgets.diff_table import fit_columns, sort_value
from avin_tui.widgets.log_pane import LogPane
from avin_tui.widgets.orders import OrdersTable
from avin_tui.widgets.positions import PositionsTable
from avin_tui.widgets.strategies import StrategiesTable

from .conftest import FakeEngine, make_snapshot, wait_for


def test_columns_are_dropped_least_important_first() -> None:
    columns = [("a", "A", 5, 0), ("b", "B", 10, 3), ("c", "C", 6, 1), ("d", "D", 4, 2)]
    assert fit_columns(columns, 100) == [5, 10, 6, 4]
    # each column takes its width and one space before it
    assert fit_columns(columns, 6 + 7 + 5) == [5, 0, 6, 4]  # b, the least important, goes
    assert fit_columns(columns, 6 + 7) == [5, 0, 6, 0]
    assert fit_columns(columns, 3) == [5, 0, 0, 0]  # the most important always stays
    # without priorities: by place, the rightmost go first; the FLEX column takes what is left
    plain = [("a", "A", 5), ("b", "B", 10), ("c", "C", 6)]
    assert fit_columns(plain, 6 + 11 + 3) == [5, 10, 0]
    assert fit_columns(plain, 40, flex="b") == [5, 10 + 40 - 24, 6]


def test_numbers_sort_as_numbers() -> None:
    cells = ["1 234.50", "-3", "+12", "2/3", "filled", Text("  99.5")]
    assert sorted(cells, key=sort_value) == [
        "-3",
        "2/3",
        "+12",
        Text("  99.5"),
        "1 234.50",
        "filled",
    ]


def header(table: object) -> str:
    return table.render_line(0).text  # type: ignore[attr-defined]


async def test_at_80x24_each_pane_shows_its_main_columns_whole() -> None:
    snap = make_snapshot()
    app = AvinApp(FakeEngine(snap), poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(80, 24)) as pilot:
        positions = app.screen.query_one(PositionsTable)
        await wait_for(pilot, lambda: positions.row_count > 0)
        await pilot.pause(0.1)
        # (at 80 columns not all fit: the net P&L and the last price before the average)
        assert {"instrument", "lots", "pnl", "last"} <= set(positions.shown_columns)
        for word in ("Instr", "Lots", "P&L", "Last"):
            assert word in header(positions)
        strategies = app.screen.query_one(StrategiesTable)
        assert {"instrument", "state", "pnl"} <= set(strategies.shown_columns)
        orders = app.screen.query_one(OrdersTable)
        assert {"instrument", "side", "lots", "price", "status"} <= set(orders.shown_columns)
        for table in (positions, strategies, orders):
            # what is drawn fits: no cell cut with an ellipsis, no horizontal scrolling
            lines = [table.render_line(y).text for y in range(table.row_count + 1)]
            assert not any("…" in line for line in lines), lines
            assert table.virtual_size.width <= table.size.width
        log = app.screen.query_one(LogPane)
        assert log.size.width >= 70  # the log spans the screen: lines stay readable
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause(0.1)
        box = app.screen.query_one(VerticalScroll)
        assert box.region.right <= 80 and box.max_scroll_x == 0  # nothing cut at the side
        assert max(Text.from_markup(line).cell_len for line in HELP.splitlines()) <= 76
        assert box.max_scroll_y > 0  # longer than the screen: it scrolls (arrows, page keys)
        await pilot.press("pagedown")
        assert box.scroll_target_y > 0 or box.scroll_y > 0
        await pilot.press("escape")
    async with AvinApp(FakeEngine(snap), poll_interval=0.05, persist_layout=False).run_test(
        size=(160, 48)
    ) as pilot:
        positions = pilot.app.screen.query_one(PositionsTable)
        await wait_for(pilot, lambda: positions.row_count > 0)
        await pilot.press("p", "z")  # maximised: every column
        await wait_for(pilot, lambda: len(positions.shown_columns) == len(PositionsTable.COLUMNS))


async def test_with_a_scrollbar_nothing_scrolls_sideways() -> None:
    order = make_snapshot().orders[0]
    orders = tuple(replace(order, key=f"k{i:03d}-xxxx") for i in range(12))
    app = AvinApp(FakeEngine(make_snapshot(orders=orders)), poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(OrdersTable)
        await wait_for(pilot, lambda: table.row_count == 12)
        await pilot.pause(0.1)
        assert table.show_vertical_scrollbar and table.max_scroll_x == 0


async def test_a_table_sorts_by_a_column_and_the_cursor_stays_on_its_row() -> None:
    app = AvinApp(FakeEngine(), poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(120, 40)) as pilot:
        orders = app.screen.query_one(OrdersTable)
        await wait_for(pilot, lambda: orders.row_count == 2)
        await pilot.press("o", "down")
        selected = orders.selected_key()
        instruments = [orders.shown_rows[k][0] for k in orders.shown_rows]
        await pilot.press("comma")  # by instrument, ascending
        assert orders.sort_column == "instrument" and not orders.sort_descending
        assert [orders.shown_rows[k][0] for k in orders.shown_rows] == sorted(instruments)
        assert "Inst▲" in header(orders)  # (the arrow within the column)
        assert orders.selected_key() == selected
        await pilot.press("comma")  # descending
        assert [orders.shown_rows[k][0] for k in orders.shown_rows] == sorted(
            instruments, reverse=True
        )
        assert orders.selected_key() == selected
