"""The engine's pre-trade rules in a backtest: the live :class:`RiskGate` over the backtest's book.

The same rules in the same order as live trading (``engine.risk.checks``), with the backtest's
own inputs: the trading state is ACTIVE (no kill switch runs), the market is never closed (the
bars are the session), the reference price is the last closed bar's close, and the per-minute
order rates count in market time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.config import RiskSettings
from engine.model import Instrument, Order
from engine.model.order_book import OrderManager
from engine.model.snapshot import TradingState
from engine.risk.gate import RiskGate
from engine.risk.limits import OrderLimits


class _FixedLimits(RiskGate):
    """The live gate, its limits resolved once per account and strategy (a backtest has no
    budgets that change while it runs)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits: dict[tuple[str, str], OrderLimits] = {}

    def limits(self, order: Order) -> OrderLimits:
        key = (order.account, order.strategy)
        found = self._limits.get(key)
        if found is None:
            found = self._limits[key] = super().limits(order)
        return found


class BacktestGate:
    """``check(order)``: why the rules refuse ``order`` ("" when it may go), counted per rule."""

    def __init__(
        self,
        settings: RiskSettings,
        book: OrderManager,
        instrument: Instrument,
        *,
        clock: Callable[[], datetime | None],
        price: Callable[[], Decimal | None],
    ) -> None:
        def seconds() -> float:
            now = clock()
            return now.timestamp() if now is not None else 0.0

        self._gate = _FixedLimits(
            settings,
            book,
            {instrument.code: instrument},
            state=lambda: TradingState.ACTIVE,
            fallback_price=lambda _code: price(),
            clock=seconds,
        )

    @property
    def rejections(self) -> dict[str, int]:
        """Orders refused so far, per rule."""
        return dict(self._gate.rejections)

    def check(self, order: Order) -> str:
        rejection = self._gate.check(order)
        return "" if rejection is None else str(rejection)
