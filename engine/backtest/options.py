"""What a backtest is asked to do (:class:`BacktestOptions`) and what one run gives back
(:class:`RunResult`); :class:`StrategyFailed` stops a run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from engine.broker.sim.matching import DEFAULT_COMMISSION
from engine.config import RiskSettings
from engine.model import Fill, Instrument, Order, TimeFrame, Trade
from engine.strategy.chart import DEFAULT_DEPTH

Progress = Callable[[int, int], None]  # bars done, bars in all


class StrategyFailed(RuntimeError):
    """A strategy hook raised: the backtest stops (a live engine would mark it FAILED)."""


@dataclass(slots=True)
class BacktestOptions:
    commission: Decimal = DEFAULT_COMMISSION  # rate of the fill value; 0 allowed
    slippage_ticks: int = 0  # each fill this many price steps worse
    capital: Decimal = Decimal(1_000_000)  # for returns, drawdown in percent, Sharpe
    chart_depth: int = DEFAULT_DEPTH
    account: str = "backtest"
    gaps: str = "session"  # "session": gap on a time break; "always": every open is a gap
    mode: str = "auto"  # "auto": sparse when the strategy has a wake mask; "bars"; "sparse"
    verify_wake: bool = False  # bar by bar, failing where on_bar acts on a bar its mask skips
    # the engine's pre-trade rules ([risk] of the config); None: every order goes to matching
    risk: RiskSettings | None = None

    def __post_init__(self) -> None:
        self.commission = Decimal(self.commission)
        self.capital = Decimal(self.capital)
        if self.commission < 0:
            raise ValueError(f"commission must not be negative, got {self.commission}")
        if self.slippage_ticks < 0:
            raise ValueError(f"slippage must not be negative, got {self.slippage_ticks}")
        if self.gaps not in ("session", "always"):
            raise ValueError(f"gaps must be 'session' or 'always', got {self.gaps!r}")
        if self.mode not in ("auto", "bars", "sparse"):
            raise ValueError(f"mode must be 'auto', 'bars' or 'sparse', got {self.mode!r}")
        if self.verify_wake and self.mode == "sparse":
            raise ValueError(
                "verify_wake runs bar by bar: it cannot be combined with mode 'sparse'"
            )


@dataclass(slots=True)
class RunResult:
    strategy_id: str
    instrument: Instrument
    base: TimeFrame
    orders: list[Order]
    fills: list[Fill]
    trades: list[Trade]  # closed round trips
    open_trade: Trade | None
    ts: np.ndarray  # int64 ns, one per traded bar
    close: np.ndarray  # float64
    position: np.ndarray  # int64 lots at each bar's close
    equity: np.ndarray  # float64 capital + PnL (net of commission) at each bar's close
    capital: Decimal
    meta: dict[str, Any] = field(default_factory=dict)
    # orders the pre-trade rules refused, as the engine's rule counters: {"max_position": 2}
    rejections: dict[str, int] = field(default_factory=dict)
