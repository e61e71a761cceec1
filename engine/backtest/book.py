"""The backtest's order book and matching: the engine's own classes, fitted to one strategy run.

- :class:`BacktestBook`: the engine's :class:`OrderManager` for one strategy on one account;
- :class:`BarMatching`: the simulated market's :class:`MatchingEngine`, working the book's own
  orders;
- :class:`PriceCache`: Decimal prices of float bar prices, made once each;
- :func:`path_offsets`: when within a bar its path prices trade.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from engine.broker.sim.matching import MatchingEngine, Working
from engine.model import Fill, Instrument, Order
from engine.model.order import TERMINAL
from engine.model.order_book import DuplicateOrder, FillResult, OrderManager


class BarMatching(MatchingEngine):
    """The engine's matching, plus setting the last price without matching anything.

    It works the book's own order objects (a broker keeps copies; here nothing else can touch
    them), so a fill is applied to its order once, by the matching.
    """

    def add(self, order: Order, instrument: Instrument) -> None:
        self._working[order.id] = Working(order, instrument)

    def mark(self, code: str, price: Decimal) -> None:
        self._last[code.upper()] = price

    @property
    def busy(self) -> bool:
        """True while some order is working."""
        return bool(self._working)

    @property
    def live(self) -> dict[str, Working]:
        """The working orders themselves (read only; empty while none works): a hot loop
        takes it once and tests it for emptiness on every bar."""
        return self._working

    def working(self) -> list[Working]:
        """The working orders (each with its trigger state), in the order they arrived."""
        return list(self._working.values())


class BacktestBook(OrderManager):
    """The engine's order book for one strategy on one account (as a backtest has).

    Open orders are kept apart (a backtest records many orders), and the account's position is
    the strategy's position object itself, so a fill is booked once, not twice.
    """

    def __init__(self, lot_size: Callable[[str], int]) -> None:
        super().__init__(lot_size)
        self._open: list[Order] = []

    def bind_strategy(self, strategy_id: str, instrument: str, account: str) -> None:
        super().bind_strategy(strategy_id, instrument, account)
        self.positions[(account, instrument)] = self.strategy_positions[strategy_id]

    def apply_fill(self, fill: Fill) -> FillResult:
        order = self._strategy_order(fill)
        if order is None:
            return super().apply_fill(fill)  # the general path (logs, duplicates)
        order.apply_fill(fill)
        return FillResult(self._book_fill(fill, order))

    def apply_matched(self, fill: Fill) -> Order | None:
        """:meth:`apply_fill` for a fill the backtest's matching has already applied to its
        order (it works the book's own orders): the fill and the strategy's position only."""
        order = self._strategy_order(fill)
        if order is None:
            return super().apply_fill(fill).order
        return self._book_fill(fill, order)

    def _strategy_order(self, fill: Fill) -> Order | None:
        """The recorded strategy order of a new fill (None: unknown order or a repeated fill)."""
        order = self.orders.get(fill.order_id)
        if order is None or not order.strategy or fill.fill_id in self._fill_ids:
            return None
        return order

    def _book_fill(self, fill: Fill, order: Order) -> Order:
        self._fill_ids.add(fill.fill_id)
        self.fills.append(fill)
        self.strategy_positions[order.strategy].apply_fill(fill)
        self.version += 1
        return order

    def record(self, order: Order) -> Order:
        if order.id in self.orders:
            raise DuplicateOrder(f"order key {order.id} is already recorded")
        self.orders[order.id] = order
        self.version += 1
        self._open.append(order)
        return order

    def open_orders(
        self, *, account: str | None = None, strategy: str | None = None
    ) -> list[Order]:
        if not self._open:
            return []
        self._open = [o for o in self._open if o.status not in TERMINAL]
        return [
            o
            for o in self._open
            if (account is None or o.account == account)
            and (strategy is None or o.strategy == strategy)
        ]


class PriceCache:
    """Decimal prices of float bar prices, made once each (bars repeat their prices)."""

    _SIZE = 65_536  # prices kept (then the cache starts again)

    def __init__(self, make: Callable[[float], Decimal]) -> None:
        self._make = make
        self._prices: dict[float, Decimal] = {}

    def get(self, value: float) -> Decimal:
        price = self._prices.get(value)
        if price is None:
            if len(self._prices) > self._SIZE:
                self._prices.clear()
            price = self._prices[value] = self._make(value)
        return price


def path_offsets(step: timedelta | None) -> list[timedelta]:
    """When within a bar its path prices trade: the simulated market's ticks for minutes."""
    if step != timedelta(minutes=1):
        return [timedelta(0)] * 4  # coarser bars: fills carry the bar's own time
    return [timedelta(0), step / 3, step * 2 / 3, step * 5 / 6]  # 0, 20, 40, 50 seconds
