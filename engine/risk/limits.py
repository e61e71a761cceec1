"""The effective limits of one order: global ``[risk]`` values overridden per account and strategy.

Precedence for per-order limits (lots, value, price collar): the strategy's override, then the
account's, then the global value. Position and exposure limits of an *account* come from the
account override or the global value; a strategy's ``max_position_lots`` limits its own virtual
sub-position. Rates: ``orders_per_minute`` of a strategy (override or
``orders_per_minute_strategy``) and of an account (override or ``orders_per_minute_account``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from engine.config import AccountRiskSettings, RiskSettings, StrategyRiskSettings


@dataclass(frozen=True, slots=True)
class OrderLimits:
    max_order_lots: int
    max_order_value: Decimal
    price_collar: float
    account_position_lots: int  # per instrument, account-wide
    strategy_position_lots: int | None  # the strategy's own sub-position, when overridden
    gross_exposure: Decimal  # per account
    strategy_rate: int  # orders per minute
    account_rate: int
    budget: Decimal | None  # the strategy's capital budget


T = TypeVar("T")

_NO_ACCOUNT = AccountRiskSettings()
_NO_STRATEGY = StrategyRiskSettings()


def _pick(*values: T | None) -> T:
    for value in values:
        if value is not None:
            return value
    raise ValueError("no value")


def resolve(
    risk: RiskSettings, account: str, strategy: str, budget: Decimal | None = None
) -> OrderLimits:
    """The limits for an order of ``strategy`` (may be empty) on ``account``."""
    acc = risk.accounts.get(account, _NO_ACCOUNT)
    strat = risk.strategies.get(strategy, _NO_STRATEGY) if strategy else _NO_STRATEGY
    return OrderLimits(
        max_order_lots=_pick(strat.max_order_lots, acc.max_order_lots, risk.max_order_lots),
        max_order_value=_pick(strat.max_order_value, acc.max_order_value, risk.max_order_value),
        price_collar=_pick(strat.price_collar, acc.price_collar, risk.price_collar),
        account_position_lots=_pick(acc.max_position_lots, risk.max_position_lots),
        strategy_position_lots=strat.max_position_lots,
        gross_exposure=_pick(acc.max_gross_exposure, risk.max_gross_exposure),
        strategy_rate=_pick(strat.orders_per_minute, risk.orders_per_minute_strategy),
        account_rate=_pick(acc.orders_per_minute, risk.orders_per_minute_account),
        budget=budget if budget is not None else risk.default_budget,
    )
