"""The backtest's pre-trade gate asks the live rules with the live inputs, the short way.

For every order of runs that rest limit, stop and market orders on both sides, cancel them and
hit several limits, the inputs the backtest gathers equal those of the live
:class:`~engine.risk.gate.RiskGate`, and the rules it asks give the same answer as all of them.
Its shortcut for an order without a price while nothing is open never passes an order some rule
refuses (a property over random positions, prices, limits and recent orders), and answers at
all only for the rules it knows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from engine.backtest import Backtester, BacktestOptions
from engine.backtest.book import BacktestBook
from engine.backtest.gate import _BacktestRiskGate
from engine.config import RiskSettings, StrategyRiskSettings
from engine.model import Instrument, Order, OrderType, Position, Side
from engine.model.snapshot import TradingState
from engine.risk import checks
from engine.risk.checks import first_rejection
from engine.risk.gate import RiskGate
from engine.strategy import build
from tests.backtest.helpers import INST, Plan, bars, flat

PRICES = [100 + 3 * ((i // 9) % 2) + 0.1 * (i % 4) for i in range(120)]

PLAN: dict[int, list[dict[str, Any]]] = {
    2: [{"side": "buy", "type": "limit", "price": 99.0, "lots": 2}],
    3: [{"side": "sell", "type": "limit", "price": 104.0}, {"side": "buy", "lots": 1}],
    4: [{"side": "sell", "type": "stop", "stop_price": 98.0, "lots": 3}],
    5: [{"side": "buy", "type": "limit", "price": 104.5}],  # crosses the resting sell
    6: [{"cancel": "all"}],
    7: [{"side": "buy", "lots": 4}, {"side": "buy", "lots": 4}, {"side": "sell", "lots": 9}],
    9: [{"side": "buy", "type": "take_profit", "stop_price": 99.5, "lots": 2}],
    12: [{"side": "sell", "type": "limit", "price": 150.0}],  # outside the collar
    14: [{"side": "buy", "lots": 1}] * 6,  # past the per-minute rate
}

NO_CROSS = {"prevent_self_trade": False}
# each with the rules it makes refuse some of the plan's orders
SETTINGS: list[tuple[RiskSettings, set[str]]] = [
    (RiskSettings(), {"self_trade", "price_collar"}),
    (
        RiskSettings(max_position_lots=5, max_order_lots=8),
        {"self_trade", "max_position", "max_order_lots"},
    ),
    (RiskSettings(orders_per_minute_strategy=3, **NO_CROSS), {"orders_per_minute_strategy"}),
    (RiskSettings(orders_per_minute_account=2, **NO_CROSS), {"orders_per_minute_account"}),
    (RiskSettings(max_gross_exposure=Decimal(500), **NO_CROSS), {"max_gross_exposure"}),
    (RiskSettings(default_budget=Decimal(300), **NO_CROSS), {"budget"}),
    (RiskSettings(max_order_value=Decimal(350), **NO_CROSS), {"max_order_value"}),
    (
        RiskSettings(
            check_session=False,
            strategies={"test_plan:TEST": StrategyRiskSettings(max_position_lots=2)},
            **NO_CROSS,
        ),
        {"strategy_position"},
    ),
]


@pytest.mark.parametrize(("settings", "refusing"), SETTINGS)
@pytest.mark.parametrize("strategy", ["plan", "sma_cross"])
def test_the_backtest_gate_asks_what_the_live_gate_asks(
    settings: RiskSettings, refusing: set[str], strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[str] = []
    own_check = _BacktestRiskGate.check

    def check(self: _BacktestRiskGate, order: Order) -> Any:
        live = RiskGate.inputs(self, order)
        assert self.inputs(order) == live
        answer = own_check(self, order)
        assert answer == first_rejection(live)
        compared.append(order.id if answer is None else answer.rule)
        return answer

    monkeypatch.setattr(_BacktestRiskGate, "check", check)
    made = (
        Plan({"plan": PLAN}) if strategy == "plan" else build("sma_cross", {"fast": 3, "slow": 8})
    )
    options = BacktestOptions(commission=0, risk=settings, mode="bars")
    result = Backtester(made, INST, options).run(bars(flat(PRICES)))
    assert len(compared) == len(result.orders) > 10
    if strategy == "plan":  # the limits do bite
        assert refusing <= set(result.rejections)


# --- the shortcut for an order without a price while nothing is open ---------------------------

STRATEGY = "s:TEST"
LOTTED = Instrument("MOEX", "SHARE", "LOTS", "uid-lots", "", "TQBR", 10, Decimal("0.01"))


def _gate(settings: RiskSettings, price: Decimal | None) -> _BacktestRiskGate:
    book = BacktestBook(lambda _code: LOTTED.lot)
    book.bind_strategy(STRATEGY, LOTTED.code, "backtest")
    return _BacktestRiskGate(
        settings,
        book,
        LOTTED,
        state=lambda: TradingState.ACTIVE,
        fallback_price=lambda _code: price,
        clock=lambda: 600.0,
    )


@settings(max_examples=600, deadline=None)
@given(
    held=st.integers(-6, 6),
    account_extra=st.integers(-3, 3),
    lots=st.integers(1, 7),
    buy=st.booleans(),
    price=st.one_of(st.none(), st.decimals("0.01", "60", places=2)),
    recent=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    limits=st.fixed_dictionaries(
        {
            "max_order_lots": st.integers(1, 8),
            "max_position_lots": st.integers(1, 8),
            "max_order_value": st.decimals(100, 5_000, places=0),
            "max_gross_exposure": st.decimals(100, 5_000, places=0),
            "orders_per_minute_strategy": st.integers(1, 6),
            "orders_per_minute_account": st.integers(1, 6),
            "default_budget": st.none() | st.decimals(100, 5_000, places=0),
        }
    ),
    strategy_cap=st.none() | st.integers(1, 6),
    strategy=st.sampled_from([STRATEGY, ""]),
)
def test_an_order_the_shortcut_passes_passes_every_rule(
    held: int,
    account_extra: int,
    lots: int,
    buy: bool,
    price: Decimal | None,
    recent: tuple[int, int],
    limits: dict[str, Any],
    strategy_cap: int | None,
    strategy: str,
) -> None:
    overrides = {STRATEGY: StrategyRiskSettings(max_position_lots=strategy_cap)}
    gate = _gate(RiskSettings(**limits, strategies=overrides), price)
    gate.book.strategy_positions[STRATEGY].lots = held
    if account_extra:  # the account holds more (or less) than the strategy: its own position
        gate.book.positions[("backtest", LOTTED.code)] = Position(
            LOTTED.code, LOTTED.lot, held + account_extra
        )
    for _ in range(recent[0]):  # orders in the last minute
        gate._window(gate._strategy_rate, STRATEGY).record(599.0)
    for _ in range(recent[1]):
        gate._window(gate._account_rate, "backtest").record(590.0)
    side = Side.BUY if buy else Side.SELL
    order = Order(LOTTED.code, side, OrderType.MARKET, lots, "backtest", None, None, strategy, "k")
    passes = gate._passes(order, 600.0)
    refused = first_rejection(RiskGate.inputs(gate, order))
    note(f"passes={passes} refused={refused}")
    assert not (passes and refused is not None)
    if refused is None:
        assert passes  # and it is not a shortcut that never answers


def test_the_shortcut_answers_only_for_the_rules_it_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    order = Order(LOTTED.code, Side.BUY, OrderType.MARKET, 1, "backtest", None, None, STRATEGY, "k")
    assert _gate(RiskSettings(), Decimal(100))._passes(order, 600.0)
    monkeypatch.setattr(checks, "RULES", (*checks.RULES, lambda c: None))
    assert not _gate(RiskSettings(), Decimal(100))._passes(order, 600.0)
