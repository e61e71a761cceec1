"""A row's budget as a share of its account's equity (``budget = "10%"``).

Parsed and refused with a clear message naming the file and key; resolved into money from the
account's equity (the broker's cash plus its positions at their last prices) when the run
starts and again on each new trading day (market time), never in between; while the equity is
not known the row may not grow its position.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.broker.sim.session import session_open
from engine.config import ConfigError, load_settings
from engine.model import OrderStatus
from engine.model.budget import Budget
from engine.risk.clock import trading_day
from engine.runtime.engine import EngineOptions
from engine.runtime.worklist import StrategySpec, spec_problems, worklist_from_rows
from tests.runtime.simkit import Driver

OPTIONS = EngineOptions(heartbeat_interval=0.02, persist_min_gap=0.0, history_days=1)
ROW = "test_script:SBER:sim-1"


# --- the value --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "percent", "shown"),
    [
        ("10%", None, "10", "10%"),
        (" 2.5 % ", None, "2.5", "2.5%"),
        ("100%", None, "100", "100%"),
        (100000, "100000", None, "100000"),
        ("250_000", "250000", None, "250000"),
        (Decimal("1234.5"), "1234.5", None, "1234.5"),
        (1500.5, "1500.5", None, "1500.5"),
    ],
)
def test_a_budget_is_an_amount_or_a_share(
    text: Any, amount: str | None, percent: str | None, shown: str
) -> None:
    budget = Budget.parse(text)
    assert budget.amount == (Decimal(amount) if amount else None)
    assert budget.percent == (Decimal(percent) if percent else None)
    assert str(budget) == shown
    assert Budget.parse(str(budget)) == budget  # what the worklist saves reads back


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("150%", "at most 100%"),
        ("-5%", "more than 0%"),
        ("0%", "more than 0%"),
        ("abc%", "write a number before %"),
        ("%", "write a number before %"),
        ("nan%", "at most 100%"),
        (0, "positive number of RUB"),
        (-1, "positive number of RUB"),
        ("inf", "positive number of RUB"),
        ("ten", "not a budget"),
        (True, "not bool"),
    ],
)
def test_a_bad_budget_says_what_is_wrong(value: Any, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Budget.parse(value)


def test_a_share_is_money_of_the_equity_rounded_down_to_the_kopeck() -> None:
    share = Budget.parse("10%")
    assert share.money(Decimal("1234567.899")) == Decimal("123456.78")
    assert share.money(Decimal(-5)) == Decimal("0.00")  # no equity, no budget
    assert share.money(None) is None
    assert Budget.parse(5000).money(None) == Decimal(5000)


def test_the_config_names_file_and_key_of_a_bad_share(tmp_path: Path) -> None:
    path = tmp_path / "avin.toml"
    path.write_text(
        '[[strategies]]\nname = "sma_cross"\ninstrument = "SBER"\nbudget = "10%"\n'
        '[[strategies]]\nname = "sma_cross"\ninstrument = "GAZP"\nbudget = "150%"\n'
        '[[strategies]]\nname = "sma_cross"\ninstrument = "LKOH"\nbudget = "abc%"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    problems = {p.key: p for p in caught.value.problems}
    assert set(problems) == {"strategies #2.budget", "strategies #3.budget"}
    assert all(p.file == str(path) for p in problems.values())
    assert "at most 100%" in problems["strategies #2.budget"].message
    assert "'150%'" in problems["strategies #2.budget"].message
    assert "write a number before %" in problems["strategies #3.budget"].message
    assert "Value error" not in str(caught.value)


def test_the_config_row_keeps_the_share(tmp_path: Path) -> None:
    path = tmp_path / "avin.toml"
    path.write_text('[[strategies]]\nname = "sma_cross"\ninstrument = "SBER"\nbudget = "10%"\n')
    (spec,) = worklist_from_rows(load_settings(path).strategies)
    assert spec.budget == Budget(percent=Decimal(10))
    assert spec.to_json()["budget"] == "10%"
    assert StrategySpec.from_json(spec.to_json()) == spec
    assert spec_problems(StrategySpec("sma_cross", "SBER", budget=Budget(percent=Decimal(0))))


# --- the running engine -----------------------------------------------------------------------


def _orders(d: Driver) -> list[Any]:
    return sorted(d.engine.book.orders.values(), key=lambda o: o.created_ts or 0)


async def _wait(condition: Any, what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"waited in vain for {what}")


async def test_a_share_budget_is_money_from_the_equity_at_start() -> None:
    # 1% of the simulated account's 1,000,000 RUB: one lot of SBER fits, a hundred do not
    row = StrategySpec("test_script", "SBER", params={"plan": {"1": 1, "2": 100}}, budget="1%")
    async with Driver([row], OPTIONS) as d:
        assert d.engine.budgets.money(ROW) == Decimal("10000.00")
        await d.minutes(3)
        first, second = _orders(d)
        assert first.status is OrderStatus.FILLED
        assert second.status is OrderStatus.REJECTED
        assert second.reason.startswith("budget: ") and "> budget 10,000.00 RUB" in second.reason
        assert d.engine.risk.gate.rejections == {"budget": 1}


async def test_share_budgets_are_taken_again_on_each_new_trading_day() -> None:
    row = StrategySpec("test_script", "SBER", params={"plan": {"1": 2}}, budget="10%")
    async with Driver([row], OPTIONS) as d:
        first_day = d.engine.budgets.day
        assert first_day == trading_day(d.broker.market_time())
        assert d.engine.budgets.money(ROW) == Decimal("100000.00")
        await d.minutes(3)  # a fill: commission paid, the position moves with the price
        ticks: list[None] = []
        tick = d.engine.budgets.tick
        d.engine.budgets.tick = lambda: (ticks.append(None), tick())[1]  # type: ignore[method-assign]
        await _wait(lambda: len(ticks) >= 3, "three heartbeats")
        assert d.engine.budgets.money(ROW) == Decimal("100000.00")  # the same day: unchanged
        # the next trading day's session: its first prices come with the jump (no await in
        # between, so the heartbeat sees the new day with these prices and no others)
        d.broker.market.seek(session_open(first_day + timedelta(days=1)))
        d.broker.step()
        await d.settle()
        await _wait(lambda: d.engine.budgets.day == first_day + timedelta(days=1), "a new day")
        (account,) = await d.broker.accounts()
        positions = await d.broker.positions("sim-1")
        equity = account.cash + sum(
            (p.last_price or p.avg_price) * p.lots * p.lot_size for p in positions
        )
        assert equity != Decimal(1_000_000)
        expected = Budget.parse("10%").money(equity)
        assert d.engine.budgets.money(ROW) == expected
        (view,) = d.engine.snapshot().budgets
        assert view.budget == "10%" and view.limit == expected and view.equity == equity
        assert view.equity_day == (first_day + timedelta(days=1)).isoformat()


async def test_a_share_budget_refuses_growth_while_the_equity_is_not_known() -> None:
    row = StrategySpec("test_script", "SBER", params={"plan": {"1": 1}}, budget="10%")
    d = Driver([row], OPTIONS)

    async def cannot_tell(account: str) -> list[Any]:
        raise ConnectionError("the broker is not answering")

    d.broker.positions = cannot_tell  # type: ignore[method-assign]
    async with d:
        assert d.engine.budgets.money(ROW) == Decimal(0)
        await d.minutes(2)
        (order,) = _orders(d)
        assert order.status is OrderStatus.REJECTED and order.reason.startswith("budget: ")


async def test_an_amount_budget_needs_no_equity() -> None:
    row = StrategySpec("test_script", "SBER", budget=Decimal(5000))
    async with Driver([row], OPTIONS) as d:
        assert d.engine.budgets.money(ROW) == Decimal(5000)
        (view,) = d.engine.snapshot().budgets
        assert view.budget == "5000" and view.limit == Decimal(5000) and view.used == 0


def test_the_example_worklist_shows_a_share_budget() -> None:
    example = Path(__file__).resolve().parents[2] / "configs" / "worklist.example.toml"
    specs = worklist_from_rows(load_settings(example).strategies)
    assert any(s.budget is not None and s.budget.is_share for s in specs)
    assert any(s.budget is not None and not s.budget.is_share for s in specs)


async def test_a_check_from_another_thread_hands_the_evaluation_to_the_loop() -> None:
    # an order of a share row checked off the engine loop (a close submitted by the UI) while
    # its account's equity is not known: 0 at once, and the equity is fetched on the loop
    row = StrategySpec("test_script", "SBER", budget="10%")
    async with Driver([row], OPTIONS) as d:
        d.engine.budgets.equity.clear()
        assert await asyncio.to_thread(d.engine.budgets.money, ROW) == Decimal(0)
        await _wait(lambda: "sim-1" in d.engine.budgets.equity, "the equity fetched on the loop")
        assert d.engine.budgets.money(ROW) == Decimal("100000.00")


def test_the_add_row_form_takes_a_share_and_names_a_bad_one() -> None:
    from avin_tui.screens.add_strategy import parse_spec

    values = {"name": "sma_cross", "instrument": "ROSN", "budget": " 3% "}
    assert parse_spec(values).budget == Budget(percent=Decimal(3))
    assert parse_spec({**values, "budget": "25 000"}).budget == Budget(amount=Decimal(25000))
    assert parse_spec({**values, "budget": ""}).budget is None
    with pytest.raises(ValueError, match=r"^budget: a share of equity must be more than 0%"):
        parse_spec({**values, "budget": "150%"})


def test_avin_status_prints_the_rows_with_a_budget(capsys: pytest.CaptureFixture[str]) -> None:
    from avin_tui.cli.status import _print_status

    snap = {
        "mode": "sim",
        "trading_state": "ACTIVE",
        "budgets": [
            {
                "strategy": "a:SBER:sim-1",
                "budget": "10%",
                "limit": "99474.80",
                "used": "9365.40",
                "free": "90109.40",
                "equity": "994748.04",
                "share": "0.94",
            },
            {"strategy": "b:GAZP:sim-1", "budget": "", "limit": None, "used": "0", "free": None},
        ],
    }
    _print_status(snap)
    out = capsys.readouterr().out
    assert "Budgets" in out and "a:SBER:sim-1" in out and "99474.80" in out and "0.94%" in out
    assert "b:GAZP:sim-1" not in out  # no budget: not in the table


def test_default_budget_says_a_share_is_given_per_row(tmp_path: Path) -> None:
    path = tmp_path / "avin.toml"
    path.write_text('[risk]\ndefault_budget = "10%"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    (problem,) = caught.value.problems
    assert problem.key == "risk.default_budget" and problem.file == str(path)
    assert "a share of equity is given per row" in problem.message


async def test_the_view_counts_open_orders_in_what_a_row_uses() -> None:
    # a resting limit buy of one lot: nothing filled, yet the row uses a lot at the last price
    row = StrategySpec("test_resting", "SBER", budget=Decimal(50_000))
    async with Driver([row], OPTIONS) as d:
        await d.minutes(1)
        (order,) = d.engine.book.open_orders()
        assert order.lots == 1 and order.filled_lots == 0
        last = d.engine.risk.gate.last_price("MOEX_SHARE_SBER")
        assert last is not None
        (view,) = d.engine.snapshot().budgets
        assert view.used == (last * 10).quantize(Decimal("0.01"))  # 1 lot of 10 shares
        assert view.free == Decimal(50_000) - view.used
        assert view.share == (view.used * 100 / Decimal(1_000_000)).quantize(Decimal("0.01"))
