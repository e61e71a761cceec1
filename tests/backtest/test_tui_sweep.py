"""The TUI of saved sweeps: listed among the backtests, opened as a sortable table and a heatmap
of two parameters (or bars for one), the colour strongest at the highest value."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from rich.text import Text
from textual.app import App
from textual.widgets import DataTable, Static

from avin_tui.screens.backtests import BacktestsScreen
from avin_tui.screens.sweep import NumCell, SweepScreen
from avin_tui.widgets.sweep_heatmap import heat, heat_colour, luminance, render_bars, render_heatmap
from engine.backtest.sweep_storage import SavedSweep, list_sweeps, save_sweep

METRICS = ["trades", "net_pnl", "max_drawdown", "sharpe", "win_rate"]


def _pnl(fast: int, slow: int, stop: int = 1) -> float:
    return fast * 10 - slow + stop  # highest at fast=9, slow=20


def save(home: Path, grid: dict[str, list[Any]], sweep_id: str = "20240102T000000000000-s") -> Path:
    rows = []
    for combo in itertools.product(*grid.values()):
        p = dict(zip(grid, combo, strict=True))
        pnl = _pnl(p.get("fast", 3), p.get("slow", 20), p.get("stop", 1))
        dd = "" if pnl == 0 else str(100 - p.get("slow", 20))  # least at slow=40
        rows.append([*map(str, combo), str(int(abs(pnl))), str(pnl), dd, "0.5", "50"])
    meta = {"strategy": "sma_cross", "grid": grid, "params": {}, "metrics": METRICS,
            "source": {"data": "bars.csv"}, "workers": 1, "combinations": len(rows)}  # fmt: skip
    return save_sweep([*grid, *METRICS], rows, meta, home, sweep_id)


class Host(App[None]):
    def __init__(self, screen: Any) -> None:
        super().__init__()
        self.first = screen

    def on_mount(self) -> None:
        self.push_screen(self.first)


async def _loaded(app: App[None], pilot: Any) -> SweepScreen:
    await app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, SweepScreen) and screen.frame is not None
    return screen


def _column(table: DataTable[Any], name: str) -> list[Any]:
    return [cell.value for cell in table.get_column(name)]


async def test_the_backtests_screen_lists_a_sweep_and_enter_opens_it(tmp_path: Path) -> None:
    save(tmp_path / "sweeps", {"fast": [3, 6, 9], "slow": [20, 40]})
    screen = BacktestsScreen(tmp_path / "backtests", sweeps_home=tmp_path / "sweeps")
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()  # the list is read in a worker
        await pilot.pause()
        table = screen.query_one(DataTable)
        assert table.row_count == 1
        assert "sweep sma_cross" in [str(c) for c in table.get_row_at(0)]
        assert "fast=3,6,9" in str(screen.query_one("#curves", Static).render())
        await pilot.press("enter")
        sweep = await _loaded(app, pilot)
        assert sweep.query_one(DataTable).row_count == 6
        await pilot.press("escape")
        assert app.screen is screen


async def test_sorting_by_a_key_and_by_clicking_a_header(tmp_path: Path) -> None:
    [saved] = list_sweeps(tmp_path) if save(tmp_path, {"fast": [3, 6, 9], "slow": [20, 40]}) else []
    app = Host(SweepScreen(saved))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _loaded(app, pilot)
        table = screen.query_one(DataTable)
        pnl = _column(table, "net_pnl")
        table.move_cursor(column=3)  # net_pnl
        await pilot.press("s")
        assert _column(table, "net_pnl") == sorted(pnl, reverse=True)
        await pilot.press("s")
        assert _column(table, "net_pnl") == sorted(pnl)
        assert "lowest first" in str(screen.query_one("#sweep-title", Static).render())
        x = sum(c.get_render_width(table) for c in list(table.columns.values())[:2]) + 2
        await pilot.click(DataTable, offset=(x, 0))  # the header of "trades"
        await pilot.pause()
        trades = _column(table, "trades")
        assert trades == sorted(trades, reverse=True) and screen.sorted_by == ("trades", True)


async def test_empty_cells_sort_last_either_way(tmp_path: Path) -> None:
    save(tmp_path, {"fast": [2, 3], "slow": [21]})  # fast=2, slow=21: pnl 0, no drawdown value
    app = Host(SweepScreen(list_sweeps(tmp_path)[0]))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _loaded(app, pilot)
        table = screen.query_one(DataTable)
        screen.sort_by("max_drawdown")
        assert _column(table, "max_drawdown")[-1] is None
        screen.sort_by("max_drawdown")
        assert _column(table, "max_drawdown")[-1] is None


def _frame() -> pl.DataFrame:
    grid = {"fast": [3, 6, 9], "slow": [20, 40], "stop": [1, 2]}
    rows = [dict(zip(grid, c, strict=True)) for c in itertools.product(*grid.values())]
    return pl.DataFrame([{**r, "net_pnl": float(_pnl(r["fast"], r["slow"], r["stop"]))}
                         for r in rows])  # fmt: skip


def test_the_heatmap_fixes_other_parameters_at_the_best_row_and_colours_by_value() -> None:
    h = heat(_frame(), ["fast", "slow", "stop"], "fast", "slow", "net_pnl")
    assert h.fixed == {"stop": 2}  # the best row: fast=9 slow=20 stop=2
    assert h.xs == [3, 6, 9] and h.ys == [20, 40]
    assert h.cells[(9, 20)] == 72.0 and h.cells[(3, 40)] == -8.0
    text = render_heatmap(h)
    backgrounds, underlined = {}, []
    for span in text.spans:
        cell = text.plain[span.start : span.end].strip()
        style = span.style
        if not isinstance(style, str) and style.bgcolor is not None:
            backgrounds[float(cell)] = luminance(style.bgcolor)
            if style.underline:
                underlined.append(cell)
    assert underlined == ["72.00"]  # the best, marked without colour too
    assert sorted(backgrounds) == sorted(v for v in h.cells.values() if v is not None)
    by_value = [backgrounds[v] for v in sorted(backgrounds)]
    assert by_value == sorted(by_value) and by_value[-1] == luminance(heat_colour(1.0))
    assert "stop=2" in text.plain


def test_the_colour_scale_brightens_with_the_value() -> None:
    lum = [luminance(heat_colour(i / 20)) for i in range(21)]
    assert lum == sorted(lum) and lum[0] < lum[-1]


def test_a_one_parameter_sweep_draws_a_bar_per_value_longest_at_the_highest() -> None:
    frame = pl.DataFrame({"fast": [3, 6, 9], "net_pnl": [5.0, -1.0, 12.0]})
    text = render_bars(heat(frame, ["fast"], "fast", None, "net_pnl"), 40)
    lines = text.plain.splitlines()
    assert lines[1].strip() == "fast"
    bars = {line.split()[0]: line.count("\u2588") for line in lines[2:5]}
    assert bars["9"] > bars["3"] > bars["6"] >= 1
    marked = [text.plain[s.start : s.end] for s in text.spans if getattr(s.style, "underline", 0)]
    assert [m.strip() for m in marked] == ["best", "12.00"]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_keys_cycle_the_parameter_pair_and_the_metric(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    save(tmp_path, {"fast": [3, 6, 9], "slow": [20, 40], "stop": [1, 2]})
    app = Host(SweepScreen(list_sweeps(tmp_path)[0]))
    async with app.run_test(size=size) as pilot:
        screen = await _loaded(app, pilot)

        def shown() -> tuple[str, str, str, str]:
            """The metric, the parameter across, the parameter down, the fixed ones."""
            rendered = screen.query_one("#heatmap", Static).render()
            lines = (rendered.plain if isinstance(rendered, Text) else str(rendered)).splitlines()
            fixed = lines[-1].partition("at the best row's")[2].strip()
            return lines[0].split(":")[0], lines[1].split()[0], lines[2].split()[0], fixed

        assert shown() == ("net_pnl", "fast", "slow", "stop=2")
        await pilot.press("p")
        assert shown() == ("net_pnl", "fast", "stop", "slow=20")
        await pilot.press("m")
        assert shown() == ("max_drawdown", "fast", "stop", "slow=40")  # the least drawdown
        assert "lower is better" in str(screen.query_one("#heatmap", Static).render())
        await pilot.press("p", "p")
        assert shown() == ("max_drawdown", "fast", "slow", "stop=1")  # the first of the best


async def test_an_unreadable_sweep_says_so(tmp_path: Path) -> None:
    folder = save(tmp_path, {"fast": [3]})
    (folder / "sweep.csv").unlink()
    saved = SavedSweep(folder.name, folder, {"strategy": "s", "grid": {"fast": [3]}})
    app = Host(SweepScreen(saved))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "cannot read" in str(app.screen.query_one("#heatmap", Static).render())


def test_num_cells_show_short_and_keep_the_exact_value() -> None:
    cell = NumCell(-27.04512)
    assert cell.__rich__().plain == "-27.05" and cell.value == -27.04512


async def test_a_big_grid_keeps_the_table_in_view_and_scrolls_the_heatmap(tmp_path: Path) -> None:
    save(tmp_path, {"fast": list(range(2, 21)), "slow": list(range(21, 62, 5))})
    app = Host(SweepScreen(list_sweeps(tmp_path)[0]))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _loaded(app, pilot)
        await pilot.pause()
        box = screen.query_one("#heat-box")
        table = screen.query_one(DataTable)
        assert table.size.height >= 4 and box.size.height <= 11  # at most half of the frame
        assert box.max_scroll_x > 0 and box.max_scroll_y > 0  # the rest is a scroll away
        heatmap = str(screen.query_one("#heatmap", Static).render())
        assert heatmap.splitlines()[2].split()[:2] == ["fast", "\u2193"]  # 19 values go down
