"""What a strategy sees and does: charts, its position and orders, the clock, order intents.

Orders placed here are only *queued*: the engine takes them with :meth:`StrategyContext.take_intents`
after the hook returns, applies its risk checks (a HALTED engine rejects them locally), records them
and sends them. Nothing here does I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from engine.model import Instrument, Order, OrderType, Position, Side, TimeFrame, new_order_key
from engine.strategy.chart import Chart, InstrumentCharts

if TYPE_CHECKING:
    from engine.strategy.analysis import StrategyAnalysis


class StrategyBook(Protocol):
    """The engine's order book as a strategy may read it."""

    def strategy_position(self, strategy_id: str) -> Position: ...

    def open_orders(
        self, *, account: str | None = None, strategy: str | None = None
    ) -> list[Order]: ...


@dataclass(slots=True)
class PostIntent:
    order: Order


@dataclass(frozen=True, slots=True)
class CancelIntent:
    order_key: str


Intent = PostIntent | CancelIntent


class StrategyContext:
    """The strategy's window on the engine (one per strategy instance)."""

    def __init__(
        self,
        *,
        strategy_id: str,
        instrument: Instrument,
        account: str,
        timeframe: TimeFrame,
        charts: InstrumentCharts,
        book: StrategyBook,
        clock: Callable[[], datetime | None],
        params: Mapping[str, Any] | None = None,
        logger: logging.Logger | None = None,
        new_key: Callable[[], str] | None = None,
    ) -> None:
        self.strategy_id = strategy_id
        self.instrument = instrument
        self.account = account
        self.timeframe = timeframe
        self.params: Mapping[str, Any] = params or {}
        self.log = logger or logging.getLogger(f"avin.strategy.{strategy_id}")
        self._charts = charts
        self._book = book
        self._clock = clock
        self._intents: list[Intent] = []
        self._new_key = new_key or new_order_key  # a backtest numbers its orders instead
        self._analysis: StrategyAnalysis | None = None

    # --- reading ------------------------------------------------------------------------------

    def chart(self, timeframe: TimeFrame | None = None) -> Chart:
        """The chart of ``timeframe`` (default: the strategy's main timeframe)."""
        return self._charts.get(timeframe or self.timeframe)

    @property
    def now_ts(self) -> datetime | None:
        """The market clock (simulated time on SIM)."""
        return self._clock()

    @property
    def position(self) -> int:
        """This strategy's signed position in lots (long > 0)."""
        return self._book.strategy_position(self.strategy_id).lots

    @property
    def position_detail(self) -> Position:
        return self._book.strategy_position(self.strategy_id)

    @property
    def orders(self) -> list[Order]:
        """This strategy's open orders, including those queued in this hook and not yet sent."""
        sent = self._book.open_orders(strategy=self.strategy_id)
        if not self._intents:
            return sent
        cancelled = {i.order_key for i in self._intents if isinstance(i, CancelIntent)}
        queued = [i.order for i in self._intents if isinstance(i, PostIntent)]
        return [o for o in [*sent, *queued] if o.id not in cancelled]

    @property
    def pending(self) -> int:
        """Signed lots still to fill on this strategy's open orders (buy > 0)."""
        total = 0
        for o in self.orders:
            left = o.lots - o.filled_lots
            total += left if o.side is Side.BUY else -left
        return total

    # --- acting -------------------------------------------------------------------------------

    def buy(self, lots: int, price: Decimal | float | None = None) -> Order:
        """A market order, or a limit order at ``price`` (rounded to the instrument's step)."""
        return self._order(Side.BUY, lots, price)

    def sell(self, lots: int, price: Decimal | float | None = None) -> Order:
        return self._order(Side.SELL, lots, price)

    def order_target(self, target_lots: int) -> Order | None:
        """A market order that brings position plus pending orders to ``target_lots``."""
        delta = target_lots - self._book.strategy_position(self.strategy_id).lots - self.pending
        if delta > 0:
            return self.buy(delta)
        if delta < 0:
            return self.sell(-delta)
        return None

    def close_position(self) -> Order | None:
        """A market order that flattens this strategy's position (counting pending orders)."""
        return self.order_target(0)

    def place(
        self,
        side: Side,
        lots: int,
        type: OrderType,
        *,
        price: Decimal | float | None = None,
        stop_price: Decimal | float | None = None,
    ) -> Order:
        """Any order type (STOP, TAKE_PROFIT, STOP_LIMIT...); prices rounded to the step."""
        if lots <= 0:
            raise ValueError(f"order lots must be positive, got {lots}")
        order = Order(
            instrument=self.instrument.code,
            side=side,
            type=type,
            lots=lots,
            account=self.account,
            price=None if price is None else self.instrument.round_price(price),
            stop_price=None if stop_price is None else self.instrument.round_price(stop_price),
            strategy=self.strategy_id,
            id=self._new_key(),
            created_ts=self._clock(),
        )
        self._intents.append(PostIntent(order))
        return order

    @property
    def analysis(self) -> StrategyAnalysis:
        """ZigZags, trends and their statistics over this instrument's charts (built lazily)."""
        if self._analysis is None:
            from engine.strategy.analysis import StrategyAnalysis

            self._analysis = StrategyAnalysis(self._charts, self.chart)
        return self._analysis

    def cancel(self, order: Order | str) -> None:
        key = order if isinstance(order, str) else order.id
        for i, intent in enumerate(self._intents):
            if isinstance(intent, PostIntent) and intent.order.id == key:
                del self._intents[i]  # never sent: just drop it
                return
        self._intents.append(CancelIntent(key))

    @property
    def pending_intents(self) -> bool:
        """The engine's side: True when orders or cancels are queued."""
        return bool(self._intents)

    def take_intents(self) -> list[Intent]:
        """The engine's side: everything queued since the last call."""
        intents, self._intents = self._intents, []
        return intents

    def _order(self, side: Side, lots: int, price: Decimal | float | None) -> Order:
        if lots <= 0:
            raise ValueError(f"order lots must be positive, got {lots}")
        limit = None if price is None else self.instrument.round_price(price)
        order = Order(  # positional up to the key (twice as fast as keywords): Order's fields
            self.instrument.code,
            side,
            OrderType.MARKET if limit is None else OrderType.LIMIT,
            lots,
            self.account,
            limit,  # price
            None,  # stop_price
            self.strategy_id,
            self._new_key(),
            created_ts=self._clock(),
        )
        self._intents.append(PostIntent(order))
        return order
