"""The account view's table and summary: per worklist row its capital budget and what it uses.

Fed from the snapshot's ``budgets`` (:class:`engine.model.snapshot.BudgetRow`): the budget as
configured (``100000``, ``10%``, ``100000 (default)``) and in RUB, what the row's position and
open orders use (worst case at the last price), what is free (red when over budget) and the
share of the account's equity it uses. Money is formatted from its Decimal, never via float.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from rich.markup import escape
from rich.text import Text

from avin_tui.widgets._format import right
from avin_tui.widgets.diff_table import DiffTable, Row
from engine.model.redact import redact, show_account
from engine.model.snapshot import BudgetRow

HUNDRED = Decimal(100)


def money(value: Decimal | None) -> str:
    """``1 234 567.80`` (spaces between thousands, as the other panes); "" for None."""
    return "" if value is None else f"{value:,.2f}".replace(",", " ")


def percent(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}%"


def row_label(row: BudgetRow, with_account: bool) -> str:
    """The row's id (``sma_cross:SBER:sim-1``); without its account when the view has one
    account only (it is in the summary line), so the name fits a narrow screen. Masked with
    ``[privacy] hide_accounts``."""
    label = row.strategy
    if not with_account:
        name, sep, repeat = label.partition("#")
        suffix = f":{row.account}"
        if name.endswith(suffix):
            label = name[: -len(suffix)] + sep + repeat
    return redact(label)


def budget_cells(row: BudgetRow, with_account: bool = True) -> Row:
    free = row.free
    return (
        row_label(row, with_account),
        row.budget or "none",
        right(money(row.limit) if row.limit is not None else "-"),
        right(money(row.used)),
        right("-" if free is None else money(free), "red" if free is not None and free < 0 else ""),
        right(percent(row.share) if row.share is not None else "-"),
        show_account(row.account),  # masked with [privacy] hide_accounts
    )


class BudgetsTable(DiffTable):
    COLUMNS = (
        ("strategy", "Strategy", 16, 0),  # (the last number: priority, 0 kept longest)
        ("budget", "Budget", 9, 1),
        ("limit", "Budget RUB", 12, 2),
        ("used", "Used", 12, 3),
        ("free", "Free", 12, 4),
        ("share", "Eq %", 6, 5),
        ("account", "Account", 8, 6),
    )
    FLEX = "strategy"

    def update_rows(self, rows: tuple[BudgetRow, ...]) -> None:
        several = len({row.account for row in rows}) > 1
        self.apply_rows({row.strategy: budget_cells(row, several) for row in rows})


def account_summary(rows: tuple[BudgetRow, ...]) -> Text:
    """Two lines per account: its equity (and the day it was taken for); the budgets in RUB,
    what the rows use and what is free, as shares of that equity."""
    by_account: dict[str, list[BudgetRow]] = defaultdict(list)
    for row in rows:
        by_account[row.account].append(row)
    if not by_account:
        return Text("No worklist rows: nothing has a budget.")
    lines: list[str] = []
    for account, items in by_account.items():
        equity = items[0].equity
        used = sum((r.used for r in items), Decimal(0))
        limits = [r.limit for r in items if r.limit is not None]
        budgeted = sum(limits, Decimal(0))
        name = escape(show_account(account))
        if equity is None:
            head = f"[b]{name}[/b]  equity not known yet"
        else:
            day = f" on {items[0].equity_day}" if items[0].equity_day else ""
            head = f"[b]{name}[/b]  equity {money(equity)} RUB{day}"
        parts = []
        if limits:
            parts.append(f"budgets {money(budgeted)}{_share(budgeted, equity)}")
        parts.append(f"used {money(used)}{_share(used, equity)}")
        if limits:  # what the rows with a budget may still use
            free = sum((r.free for r in items if r.free is not None), Decimal(0))
            parts.append(f"free {money(free)}")
        lines += [head, "  " + " · ".join(parts)]
    return Text.from_markup("\n".join(lines))


def _share(value: Decimal, equity: Decimal | None) -> str:
    if equity is None or equity <= 0:
        return ""
    return f" ({value * HUNDRED / equity:.2f}%)"
