"""The account view (``A``): per account its equity, per row its budget as configured and in
RUB, what it uses, what is free and its share of equity; fed from the snapshot, refreshed while
open. Snapshots at 80x24 and 120x40 (dark) and 80x24 NO_COLOR; after a deliberate change of the
screen, look at the report and run
``pytest tests/tui/test_accounts_view.py --snapshot-update``.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from rich.text import Text

from avin_tui.app import AvinApp
from avin_tui.screens.accounts import AccountsScreen
from avin_tui.screens.help import HELP
from avin_tui.widgets.budgets import BudgetsTable, account_summary, budget_cells, row_label
from engine.model.snapshot import BudgetRow

from .conftest import FakeEngine, wait_for
from .snapshots import _until, settle, snapshot_app

D = Decimal
BUDGETS = (
    BudgetRow(
        "sma_cross:SBER:sim-1",
        "sim-1",
        "SBER",
        "10%",
        D("99474.80"),
        D("9365.40"),
        D("90109.40"),
        D("994748.04"),
        "2026-11-24",
        D("0.94"),
    ),
    BudgetRow(
        "sma_cross:GAZP:sim-1",
        "sim-1",
        "GAZP",
        "50000",
        D("50000"),
        D("0"),
        D("50000"),
        D("994748.04"),
        "2026-11-24",
        D("0.00"),
    ),
    BudgetRow(
        "sma_cross:LKOH:sim-1",
        "sim-1",
        "LKOH",
        "",
        None,
        D("7012.50"),
        None,
        D("994748.04"),
        "2026-11-24",
        D("0.70"),
    ),
    BudgetRow(
        "sma_cross:ROSN:2000123456",
        "2000123456",
        "ROSN",
        "20000 (default)",
        D("20000"),
        D("25000.00"),
        D("-5000.00"),
        None,
    ),
)


def _text(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


async def test_A_opens_the_account_view_and_it_follows_the_snapshot() -> None:
    engine = FakeEngine()
    engine.set(budgets=BUDGETS)
    app = AvinApp(engine, poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.feed.applied_count > 0)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountsScreen))
        table = app.screen.query_one(BudgetsTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        rows = {key: [_text(c) for c in cells] for key, cells in table.shown_rows.items()}
        sber = rows["sma_cross:SBER:sim-1"]
        assert sber[:6] == [
            "sma_cross:SBER:sim-1",
            "10%",
            "99 474.80",
            "9 365.40",
            "90 109.40",
            "0.94%",
        ]
        assert rows["sma_cross:LKOH:sim-1"][1:3] == ["none", "-"]
        over = table.shown_rows["sma_cross:ROSN:2000123456"][4]
        assert isinstance(over, Text) and over.plain == "-5 000.00" and "red" in str(over.style)
        summary = str(app.screen.query_one("#accounts-summary").render())
        assert "sim-1  equity 994 748.04 RUB on 2026-11-24" in summary
        assert "  budgets 149 474.80 (15.03%) · used 16 377.90 (1.65%) · free 140 109.40" in summary
        assert "2000123456  equity not known yet" in summary
        # the next snapshot: the SBER row uses more, a new day's equity
        moved = replace(BUDGETS[0], used=D("19000.00"), free=D("80474.80"), share=D("1.91"))
        engine.set(budgets=(moved, *BUDGETS[1:]))
        await wait_for(
            pilot, lambda: _text(table.shown_rows["sma_cross:SBER:sim-1"][3]) == "19 000.00"
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, AccountsScreen))
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountsScreen))
        await pilot.press("A")  # the same key closes it
        await wait_for(pilot, lambda: not isinstance(app.screen, AccountsScreen))


async def test_without_rows_the_view_says_so() -> None:
    app = AvinApp(FakeEngine(), poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.feed.applied_count > 0)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountsScreen))
        summary = app.screen.query_one("#accounts-summary")
        await wait_for(pilot, lambda: "No worklist rows" in str(summary.render()))


def test_the_help_names_the_key() -> None:
    assert "[b]A[/b]           accounts" in HELP


async def _open(pilot: Any) -> None:
    await settle(pilot)
    app = pilot.app
    await pilot.press("A")
    await _until(pilot, lambda: isinstance(app.screen, AccountsScreen))
    await _until(pilot, lambda: app.screen.query_one(BudgetsTable).row_count == len(BUDGETS))
    await pilot.pause(0.3)


@pytest.mark.parametrize(
    ("look", "size"),
    [("dark", (80, 24)), ("dark", (120, 40)), ("no_color", (80, 24))],
    ids=["dark-80x24", "dark-120x40", "no_color-80x24"],
)
def test_accounts_screen(
    snap_compare: Any, monkeypatch: pytest.MonkeyPatch, look: str, size: tuple[int, int]
) -> None:
    app = snapshot_app(monkeypatch, theme="dark", no_color=look == "no_color")
    app.engine.set(budgets=BUDGETS)
    assert snap_compare(app, terminal_size=size, run_before=_open)


def test_one_account_leaves_it_out_of_the_label_and_a_hidden_one_is_masked() -> None:
    from engine.model import redact as registry
    from engine.model.redact import hide_accounts, register_account

    sber, rosn = BUDGETS[0], BUDGETS[3]
    assert row_label(sber, with_account=False) == "sma_cross:SBER"
    assert row_label(replace(sber, strategy="sma_cross:SBER:sim-1#2"), False) == "sma_cross:SBER#2"
    assert row_label(sber, with_account=True) == "sma_cross:SBER:sim-1"
    saved = set(registry._accounts)
    register_account("2000123456")
    hide_accounts(True)
    try:
        cells = [_text(c) for c in budget_cells(rosn, with_account=True)]
        summary = account_summary((rosn,)).plain
    finally:
        hide_accounts(False)
        registry._accounts.clear()
        registry._accounts.update(saved)
    assert not any("2000123456" in c for c in cells) and "2000123456" not in summary
    assert cells[0].startswith("sma_cross:ROSN:…") and cells[-1].startswith("…")
