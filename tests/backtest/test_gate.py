"""The backtest's pre-trade gate asks the live rules with the live inputs, the short way.

For every order of runs that rest limit, stop and market orders on both sides, cancel them and
hit several limits, the inputs the backtest gathers equal those of the live
:class:`~engine.risk.gate.RiskGate`, and the rules it asks give the same answer as all of them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.backtest import Backtester, BacktestOptions
from engine.backtest.gate import _BacktestRiskGate
from engine.config import RiskSettings, StrategyRiskSettings
from engine.model import Order
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
