"""A strategy context on plain objects: charts fed by hand, an order manager, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from engine.model import Bar, Fill, Instrument, OrderStatus, TimeFrame
from engine.model.order_book import OrderManager
from engine.strategy import PostIntent, Strategy, StrategyContext
from engine.strategy.chart import InstrumentCharts

T0 = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)
SBER = Instrument("MOEX", "SHARE", "SBER", "uid-sber", "FIGI", "TQBR", 10, Decimal("0.01"))


def minute(i: int, close: float, open_: float | None = None) -> Bar:
    o = close if open_ is None else open_
    return Bar(T0 + timedelta(minutes=i), o, max(o, close), min(o, close), close, 10)


class Harness:
    """Feeds closed 1-minute bars to one strategy; market orders fill at the bar's close."""

    def __init__(self, strategy: Strategy, fill: bool = True) -> None:
        self.strategy = strategy
        self.fill = fill
        self.charts = InstrumentCharts(SBER.code)
        self.book = OrderManager(lambda code: SBER.lot)
        self.book.bind_strategy("s1", SBER.code, "acc")
        self.now: datetime | None = None
        self.ctx = StrategyContext(
            strategy_id="s1",
            instrument=SBER,
            account="acc",
            timeframe=strategy.timeframe,
            charts=self.charts,
            book=self.book,
            clock=lambda: self.now,
            params=strategy.params,
        )
        self.sent: list[tuple[int, str, int]] = []  # (bar index, side, lots)

    def feed(self, i: int, bar: Bar) -> None:
        self.now = bar.ts + timedelta(minutes=1)
        for tf, done in self.charts.update(bar, True):
            if tf in self.strategy.timeframes:
                self.strategy.on_bar(self.ctx, tf, done)
        for intent in self.ctx.take_intents():
            assert isinstance(intent, PostIntent)
            order = intent.order
            self.book.record(order)
            self.sent.append((i, order.side.value, order.lots))
            if self.fill:
                order.transition(OrderStatus.SUBMITTED, self.now)
                fill = Fill(
                    order.id,
                    order.instrument,
                    order.side,
                    order.lots,
                    Decimal(str(bar.close)),
                    Decimal(0),
                    self.now,
                    account="acc",
                )
                self.book.apply_fill(fill)

    def run(self, closes: list[float]) -> list[tuple[int, str, int]]:
        for i, close in enumerate(closes):
            self.feed(i, minute(i, close))
        return self.sent


__all__ = ["SBER", "T0", "Harness", "TimeFrame", "minute"]
