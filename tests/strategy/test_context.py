from decimal import Decimal

import pytest

from engine.model import OrderType, Side, TimeFrame
from engine.strategy import CancelIntent, PostIntent, Strategy
from engine.strategy.chart import Chart

from .helpers import SBER, Harness, minute


def test_chart_indexing_now_last_and_out_of_range() -> None:
    chart = Chart(SBER.code, TimeFrame.M1)
    assert chart.bar(0) is None and chart.bar(1) is None and chart.last is None
    chart.update(minute(0, 10.0), True)
    chart.update(minute(1, 11.0), True)
    partial = minute(2, 12.0)
    chart.update(partial, False)
    assert chart.now == partial and chart.bar(0) == partial
    assert chart.last == minute(1, 11.0) == chart.bar(1)
    assert chart.bar(2) == minute(0, 10.0)
    assert chart.bar(3) is None and chart.bar(-1) is None and chart.bar(10**6) is None
    assert chart.closes() == [10.0, 11.0]
    assert chart.bars(5) == [minute(0, 10.0), minute(1, 11.0), partial]
    chart.update(minute(2, 12.5), True)  # the minute closes: nothing is in progress
    assert chart.now is None and chart.bar(0) is None and chart.bar(1).close == 12.5


def test_context_orders_are_queued_with_key_strategy_and_rounded_price() -> None:
    h = Harness(Strategy(), fill=False)
    h.now = minute(0, 1).ts
    buy = h.ctx.buy(2)
    sell = h.ctx.sell(1, price=300.123)
    assert buy.type is OrderType.MARKET and buy.side is Side.BUY and buy.strategy == "s1"
    assert sell.type is OrderType.LIMIT and sell.price == Decimal("300.12")
    assert sell.account == "acc" and sell.instrument == "MOEX_SHARE_SBER"
    assert h.ctx.pending == 1 and len(h.ctx.orders) == 2
    h.ctx.cancel(sell)  # never sent: it simply disappears from the queue
    intents = h.ctx.take_intents()
    assert [type(i) for i in intents] == [PostIntent] and h.ctx.take_intents() == []
    h.book.record(buy)
    h.ctx.cancel(buy)
    assert h.ctx.take_intents() == [CancelIntent(buy.id)]
    with pytest.raises(ValueError):
        h.ctx.buy(0)


def test_order_target_counts_position_and_pending() -> None:
    h = Harness(Strategy(), fill=True)
    h.ctx.buy(3)
    h.feed(0, minute(0, 100.0))
    assert h.ctx.position == 3
    order = h.ctx.order_target(-2)
    assert order is not None and order.side is Side.SELL and order.lots == 5
    assert h.ctx.order_target(-2) is None  # the pending sell already gets there
    assert h.ctx.close_position() is not None and h.ctx.pending == -3  # 5 sell queued, 2 buy
    assert h.ctx.chart().timeframe is TimeFrame.M1 and h.ctx.now_ts is not None


def test_multi_timeframe_chart_from_the_context() -> None:
    h = Harness(Strategy(), fill=False)
    for i in range(12):
        h.feed(i, minute(i, 100.0 + i))
    five = h.ctx.chart(TimeFrame.M5)  # created on demand from the 1-minute history
    assert len(five) == 2 and five.bar(1).close == 109.0  # type: ignore[union-attr]
    assert five.bar(0) is not None and five.bar(0).close == 111.0  # type: ignore[union-attr]
