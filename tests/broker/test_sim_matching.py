"""The synchronous matching engine: no look-ahead, crossing semantics, gaps, commission."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from engine.broker.sim import MatchingEngine, check_order, commission_for
from engine.model import Bar, Instrument, Order, OrderStatus, OrderType, Side
from tests.broker.simdata import by_ticker

TS = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
D = Decimal


def _order(
    side: Side,
    kind: OrderType,
    *,
    price: str | None = None,
    stop: str | None = None,
    lots: int = 1,
    instrument: Instrument | None = None,
) -> Order:
    code = (instrument or by_ticker("SBER")).code
    order = Order(
        code,
        side,
        kind,
        lots,
        "sim-1",
        price=None if price is None else D(price),
        stop_price=None if stop is None else D(stop),
    )
    order.transition(OrderStatus.SUBMITTED)
    order.transition(OrderStatus.ACCEPTED)
    return order


def _engine_at(last: str | None) -> MatchingEngine:
    engine = MatchingEngine()
    if last is not None:
        engine.on_price("MOEX_SHARE_SBER", D(last), TS)
    return engine


def _feed(engine: MatchingEngine, price: str, *, gap: bool = False) -> list[Decimal]:
    return [f.price for f in engine.on_price("MOEX_SHARE_SBER", D(price), TS, gap=gap)]


def test_market_order_fills_at_the_next_price_not_the_last() -> None:
    engine = _engine_at("300.00")
    order = _order(Side.BUY, OrderType.MARKET, lots=2)
    engine.add(order, by_ticker("SBER"))
    assert engine.last_price("MOEX_SHARE_SBER") == D("300.00")
    assert _feed(engine, "300.50") == [D("300.50")]
    assert order.status is OrderStatus.FILLED and order.filled_lots == 2
    assert _feed(engine, "301.00") == []  # filled once, removed


@pytest.mark.parametrize(
    ("last", "tick", "gap", "expected"),
    [
        ("101.00", "99.50", False, "100.00"),  # crossed continuously: at the limit
        ("101.00", "95.00", True, "95.00"),  # gapped through: at the (better) gap price
        ("99.00", "99.50", False, "99.50"),  # marketable on arrival: at the next price
        (None, "99.80", False, "99.80"),  # no earlier price known: at the price
        ("101.00", "100.00", False, "100.00"),  # touching is enough
        ("101.00", "100.01", False, None),  # not reached
    ],
)
def test_buy_limit(last: str | None, tick: str, gap: bool, expected: str | None) -> None:
    engine = _engine_at(last)
    engine.add(_order(Side.BUY, OrderType.LIMIT, price="100.00"), by_ticker("SBER"))
    assert _feed(engine, tick, gap=gap) == ([] if expected is None else [D(expected)])


@pytest.mark.parametrize(
    ("last", "tick", "gap", "expected"),
    [
        ("99.00", "100.70", False, "100.00"),
        ("99.00", "103.00", True, "103.00"),
        ("99.00", "99.99", False, None),
    ],
)
def test_sell_limit(last: str, tick: str, gap: bool, expected: str | None) -> None:
    engine = _engine_at(last)
    engine.add(_order(Side.SELL, OrderType.LIMIT, price="100.00"), by_ticker("SBER"))
    assert _feed(engine, tick, gap=gap) == ([] if expected is None else [D(expected)])


@pytest.mark.parametrize(
    ("side", "last", "tick", "gap", "expected"),
    [
        (Side.SELL, "101.00", "99.80", False, "100.00"),  # stop-loss on a long, crossed
        (Side.SELL, "101.00", "97.00", True, "97.00"),  # gap: at the worse gap price
        (Side.SELL, "101.00", "100.01", False, None),
        (Side.BUY, "99.00", "100.30", False, "100.00"),  # stop on a short
        (Side.BUY, "99.00", "104.00", True, "104.00"),
        (Side.BUY, "99.00", "99.99", False, None),
    ],
)
def test_stop_market(side: Side, last: str, tick: str, gap: bool, expected: str | None) -> None:
    engine = _engine_at(last)
    engine.add(_order(side, OrderType.STOP, stop="100.00"), by_ticker("SBER"))
    assert _feed(engine, tick, gap=gap) == ([] if expected is None else [D(expected)])


def test_stop_does_not_trigger_on_the_wrong_side() -> None:
    engine = _engine_at("101.00")
    engine.add(_order(Side.SELL, OrderType.STOP, stop="100.00"), by_ticker("SBER"))
    assert _feed(engine, "105.00") == []
    assert _feed(engine, "100.00") == [D("100.00")]


def test_take_profit_sells_when_the_price_rises_to_it() -> None:
    engine = _engine_at("100.00")
    engine.add(_order(Side.SELL, OrderType.TAKE_PROFIT, stop="105.00"), by_ticker("SBER"))
    assert _feed(engine, "95.00") == []
    assert _feed(engine, "105.40") == [D("105.00")]
    engine = _engine_at("100.00")
    engine.add(_order(Side.SELL, OrderType.TAKE_PROFIT, stop="105.00"), by_ticker("SBER"))
    assert _feed(engine, "107.00", gap=True) == [D("107.00")]


def test_stop_limit_becomes_a_limit_when_triggered() -> None:
    engine = _engine_at("101.00")
    order = _order(Side.SELL, OrderType.STOP_LIMIT, price="99.50", stop="100.00")
    engine.add(order, by_ticker("SBER"))
    assert _feed(engine, "100.20") == []  # not triggered
    assert _feed(engine, "99.00") == []  # triggered, but below the sell limit: resting
    assert engine.is_working(order.id)
    assert _feed(engine, "99.70") == [D("99.50")]  # crossed back over the limit


def test_stop_limit_fills_at_once_when_the_trigger_price_is_within_the_limit() -> None:
    engine = _engine_at("101.00")
    engine.add(
        _order(Side.SELL, OrderType.STOP_LIMIT, price="99.50", stop="100.00"), by_ticker("SBER")
    )
    assert _feed(engine, "99.80") == [D("99.80")]


def test_orders_fill_in_arrival_order_and_only_their_instrument() -> None:
    engine = _engine_at("100.00")
    first = _order(Side.BUY, OrderType.MARKET)
    second = _order(Side.SELL, OrderType.MARKET)
    other = _order(Side.BUY, OrderType.MARKET, instrument=by_ticker("GAZP"))
    engine.add(first, by_ticker("SBER"))
    engine.add(second, by_ticker("SBER"))
    engine.add(other, by_ticker("GAZP"))
    fills = engine.on_price("MOEX_SHARE_SBER", D("100.10"), TS)
    assert [f.order_id for f in fills] == [first.id, second.id]
    assert engine.orders() == [other]


def test_removed_order_never_fills() -> None:
    engine = _engine_at("100.00")
    order = _order(Side.BUY, OrderType.MARKET)
    engine.add(order, by_ticker("SBER"))
    assert engine.remove(order.id) is order
    assert engine.remove(order.id) is None
    assert _feed(engine, "100.10") == []


def test_commission_is_five_hundredths_of_a_percent_rounded_half_up() -> None:
    sber, lkoh = by_ticker("SBER"), by_ticker("LKOH")
    engine = MatchingEngine()
    assert engine.commission(sber, D("300.27"), 1) == D("1.50")  # 3002.70 * 0.0005 = 1.50135
    assert engine.commission(sber, D("100.10"), 10) == D("5.01")  # 10010 * 0.0005 = 5.005
    assert engine.commission(lkoh, D("7001.5"), 3) == D("10.50")  # 21004.5 * 0.0005
    assert commission_for(D("10000"), D("0.001")) == D("10.00")
    engine.add(_order(Side.BUY, OrderType.MARKET, lots=2), sber)
    (fill,) = engine.on_price(sber.code, D("250.00"), TS)
    assert fill.commission == D("2.50") and fill.lots == 2 and fill.ts == TS


def test_slippage_makes_every_fill_worse_by_whole_steps_and_is_charged_on() -> None:
    sber = by_ticker("SBER")  # price step 0.01
    engine = MatchingEngine(D("0.0005"), slippage_ticks=3)
    buy = _order(Side.BUY, OrderType.MARKET, lots=10)
    limit = _order(Side.SELL, OrderType.LIMIT, price="250.10")
    engine.add(buy, sber)
    engine.add(limit, sber)
    buy_fill, sell_fill = engine.on_price(sber.code, D("250.10"), TS)
    assert buy_fill.price == D("250.13") and buy.avg_fill_price == D("250.13")
    assert sell_fill.price == D("250.07")  # a limit sell too: the slippage is on every fill
    assert buy_fill.commission == D("12.51")  # 250.13 x 10 lots x 10 shares x 0.0005 = 12.5065
    with pytest.raises(ValueError, match="slippage"):
        MatchingEngine(slippage_ticks=-1)


def test_on_bar_backtest_semantics() -> None:
    sber = by_ticker("SBER")
    engine = MatchingEngine()
    market = _order(Side.BUY, OrderType.MARKET)
    limit = _order(Side.BUY, OrderType.LIMIT, price="99.00")
    stop = _order(Side.SELL, OrderType.STOP, stop="97.00")
    for order in (market, limit, stop):
        engine.add(order, sber)
    bar = Bar(TS, open=100.0, high=101.0, low=98.5, close=100.5, volume=10)
    fills = {f.order_id: f.price for f in engine.on_bar(sber, bar)}
    assert fills == {market.id: D("100.00"), limit.id: D("99.00")}  # open, then the low crossed
    gap_bar = Bar(TS, open=96.0, high=96.5, low=95.0, close=95.5, volume=10)
    fills = {f.order_id: f.price for f in engine.on_bar(sber, gap_bar)}
    assert fills == {stop.id: D("96.00")}  # gapped below the stop: at the open


def test_check_order_reasons() -> None:
    sber, lkoh = by_ticker("SBER"), by_ticker("LKOH")
    bad_step = _order(Side.BUY, OrderType.LIMIT, price="7000.3", instrument=lkoh)
    reason = check_order(bad_step, lkoh)
    assert reason is not None and "price step 0.5" in reason and "7000.3" in reason
    stop_step = _order(Side.SELL, OrderType.STOP, stop="300.005")
    reason = check_order(stop_step, sber)
    assert reason is not None and "stop price" in reason and "0.01" in reason
    negative = _order(Side.BUY, OrderType.LIMIT, price="-1.00")
    assert "must be positive" in (check_order(negative, sber) or "")
    zero_lots = _order(Side.BUY, OrderType.MARKET)
    zero_lots.lots = 0
    assert "lots must be positive" in (check_order(zero_lots, sber) or "")
    market = _order(Side.BUY, OrderType.MARKET)
    assert check_order(market, sber, market_open=False) == "market closed"
    limit = _order(Side.BUY, OrderType.LIMIT, price="300.01")
    assert check_order(limit, sber, market_open=False) is None


def test_stop_limit_already_through_its_stop_takes_the_next_price() -> None:
    engine = _engine_at("99.00")  # already below both the stop and the limit when it arrives
    sell = _order(Side.SELL, OrderType.STOP_LIMIT, price="99.50", stop="100.00")
    engine.add(sell, by_ticker("SBER"))
    assert _feed(engine, "99.80") == [D("99.80")]  # not 99.50: the limit arrives at 99.80
